from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FulfillmentConfig(AppConfig):
    name = "fulfillment"
    verbose_name = _("Fulfilment")

    def ready(self) -> None:
        from . import purchase_subscribers, subscribers

        subscribers.register()
        purchase_subscribers.register()
