from django.http import HttpResponse

from groupbuy.web.access import host_required


@host_required
def host_sessions(request):
    return HttpResponse("TODO")
