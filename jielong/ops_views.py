from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from groupbuy.web.access import operator_required

from . import selectors


@operator_required
def ops_campaign_list(request: HttpRequest) -> HttpResponse:
    return render(request, "ops/campaigns.html", {"campaigns": selectors.ops_campaign_list()})
