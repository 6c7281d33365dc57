from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StreamConfig(AppConfig):
    """The kernel's durable event stream (see ``groupbuy.stream``)."""

    name = "groupbuy.stream"
    label = "stream"
    verbose_name = _("Event stream")
    default_auto_field = "django.db.models.BigAutoField"
