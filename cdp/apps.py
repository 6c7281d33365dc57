from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CdpConfig(AppConfig):
    """The customer data platform (全域CDP): member 360, RFM/LTV/KOC models and segments."""

    name = "cdp"
    verbose_name = _("Customer data")

    def ready(self) -> None:
        from . import audiences, events  # noqa: F401  (events: declare them at start-up)

        audiences.register()  # warm-up rounds aimed at a segment; the session page's audience section
