from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LivestreamConfig(AppConfig):
    name = "livestream"
    verbose_name = _("Live sessions")

    def ready(self) -> None:
        from . import subscribers

        subscribers.register()
