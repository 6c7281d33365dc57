from django.conf import settings


def shell(request):
    return {"shell": getattr(request, "shell", None), "DEBUG": settings.DEBUG}
