from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from groupbuy import health


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
    """Liveness, with each dependency's state: 200 while the process answers (restarting the app does not
    bring Redis back), ``ok`` false when a required dependency is down. Probes and people read the details."""
    checks = health.check_all()
    return JsonResponse({"ok": health.all_up(checks), **checks})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 503 while a required dependency is down, so a load balancer sends traffic elsewhere."""
    checks = health.check_all()
    ready = health.all_up(checks)
    return JsonResponse({"ok": ready, **checks}, status=200 if ready else 503)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on documents that name no icon (an image opened on its own, the admin)."""
    return HttpResponsePermanentRedirect(static("favicon-32.png"))
