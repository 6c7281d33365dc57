from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FulfillmentConfig(AppConfig):
    name = "fulfillment"
    verbose_name = _("Fulfilment")

    def ready(self) -> None:
        from . import purchase_subscribers, subscribers

        subscribers.register()
        purchase_subscribers.register()

        # The operator's jielong campaign page shows the campaign's delivery day (jielong cannot import us).
        from jielong import hooks

        from .console_views import ops_campaign_panel

        hooks.register_ops_campaign_panel(ops_campaign_panel)
