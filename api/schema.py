"""drf-spectacular hooks: the schema covers ``/api/v1/`` only, with its two ways to authenticate."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

PREFIX = "/api/v1/"


def only_public_api(endpoints, **kwargs):
    """Leave out DRF views outside the public API (the jielong page's own JSON under /api/jielong/)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(PREFIX)]


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.BearerTokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An integration token (gb_…), made by an operator under Integrations → API tokens.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.CsrfSessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "An operator's console session (POSTs also need the X-CSRFToken header).",
        }


def strict_request_bodies(result, generator, request, public):
    """Request bodies refuse fields they do not declare (``unknown_field``): say so in the schema."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("InputRequest") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
