from django.http import HttpResponse

from groupbuy.web.access import operator_required


@operator_required
def ops_dashboard(request):
    return HttpResponse("TODO")
