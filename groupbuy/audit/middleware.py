"""Every request's audit place: the client's address and browser (see :mod:`groupbuy.audit.place`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from groupbuy.clientip import client_ip

from .place import place


class AuditPlaceMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with place(ip=client_ip(request) or None, user_agent=request.META.get("HTTP_USER_AGENT", "")):
            return self.get_response(request)
