from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BiConfig(AppConfig):
    """The BI boards (商业智能看板): every metric of the article, defined once, drilled down to people."""

    name = "bi"
    verbose_name = _("Dashboards")
