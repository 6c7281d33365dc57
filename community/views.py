from django.http import HttpResponse

from groupbuy.web.access import member_required, operator_required


@member_required
def member_home(request):
    return HttpResponse("TODO")


def member_login(request):
    return HttpResponse("TODO")


@operator_required
def ops_community_list(request):
    return HttpResponse("TODO")
