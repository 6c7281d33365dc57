from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render


def home(request: HttpRequest) -> HttpResponse:
    """Send each signed-in user to their own shell; show the landing page to everyone else."""
    user = request.user
    if user.is_authenticated:
        if user.is_operator:
            return redirect("analytics:ops-dashboard")
        if user.is_host:
            return redirect("livestream:host-sessions")
        return redirect("community:member-home")
    return render(request, "web/landing.html")


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
