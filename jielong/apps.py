from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JielongConfig(AppConfig):
    name = "jielong"
    verbose_name = _("Jielong campaigns")

    def ready(self) -> None:
        from . import subscribers

        subscribers.register()
