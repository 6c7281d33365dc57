from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The public, versioned API (``/api/v1/``) for integrations: scoped tokens, OpenAPI schema, docs."""

    name = "api"
    verbose_name = _("Public API")
    default_auto_field = "django.db.models.BigAutoField"
