from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from groupbuy.access import operator_required

from . import selectors


@operator_required
def ops_dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "ops/dashboard.html", {"headline": selectors.ops_headline()})
