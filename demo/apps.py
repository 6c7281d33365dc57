from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo data (the 源味集 story) and its ``seed_demo`` command."""

    name = "demo"
    verbose_name = _("Demo data")
