"""Who is calling the API, which brands they see, which scopes they hold, how fast they may call.

- An integration sends ``Authorization: Bearer gb_…`` (an :class:`~api.models.ApiToken`): it sees its brand
  only, and only the families its scopes name; it acts as the operator who made it.
- An operator's browser session works too (CSRF applies to its POSTs): it sees the brands
  ``community.access.staff_brand_ids`` gives and holds every scope.
- Members, leaders, hosts and assistants get 403 ``forbidden_role``: the API is for integrations and the
  brand's operators; a member's own orders are in the member app, a leader's in the leader pages.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions, permissions, throttling

from community.access import staff_brand_ids
from community.models import User
from groupbuy.audit import place as audit_place

from .models import ApiToken
from .tokens import TokenRefused, token_authenticate


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1", "replace").split()
        if not header or header[0].lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the token as 'Authorization: Bearer <token>'."), "token_invalid"
            )
        try:
            token = token_authenticate(header[1])
        except TokenRefused as refused:
            raise exceptions.AuthenticationFailed(refused.message, refused.code) from None
        audit_place.via_api_token(token.prefix)  # the audit log says "api token <prefix>" for what it does
        return token.created_by, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """The console's session; the CSRF check stays on for POSTs."""


def caller_token(request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def caller_brand_ids(request) -> frozenset[int] | None:
    """The brands the caller sees: the token's one brand, or the operator's (None: every brand)."""
    token = caller_token(request)
    if token is not None:
        return frozenset({token.brand_id})
    return staff_brand_ids(request.user)


def caller_owner(request) -> str:
    """Whose idempotency keys these are (a token's, or a signed-in operator's)."""
    token = caller_token(request)
    return f"token:{token.pk}" if token is not None else f"user:{request.user.pk}"


def caller_actor(request) -> User:
    """The person a write is recorded under: the operator who made the token, or the signed-in operator."""
    return request.user


class ApiAccess(permissions.BasePermission):
    """Signed in (token or operator session), and for a token the scope ``<view.scope_family>:read|write``."""

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated(_("Sign in as an operator or send an API token."))
        token = caller_token(request)
        if token is None:
            if not request.user.is_operator:
                raise exceptions.PermissionDenied(
                    _("The API is for integrations and operators: members and leaders use the app."), "forbidden_role"
                )
            return True
        if not token.created_by.is_active:
            raise exceptions.AuthenticationFailed(
                _("The operator who made this token is no longer active."), "token_invalid"
            )
        access = "read" if request.method in permissions.SAFE_METHODS else "write"
        needed = f"{view.scope_family}:{access}"
        if needed not in token.scopes:
            raise exceptions.PermissionDenied(
                _("This token lacks the scope %(scope)s.") % {"scope": needed}, "missing_scope"
            )
        return True


class CallerRateThrottle(throttling.SimpleRateThrottle):
    """Per token (or per signed-in operator) on the shared cache (Redis): 429 with Retry-After beyond
    ``API_RATE`` (default 600 requests a minute)."""

    cache_format = "api-throttle:%(scope)s:%(ident)s"
    scope = "api"

    def get_rate(self):
        return getattr(settings, "API_RATE", "600/min")

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return self.cache_format % {"scope": "anon", "ident": self.get_ident(request)}
        return self.cache_format % {"scope": self.scope, "ident": caller_owner(request)}
