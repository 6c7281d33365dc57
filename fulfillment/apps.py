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

        # 核销: the member's order page shows the pickup code, its QR and where the order is; the member home
        # shows leaders and 核销员 their way to the counter.
        from groupbuy.member_home import Section, register

        from . import pickup_day, pickup_panel

        hooks.register_member_order_panel(pickup_panel.member_order_panel)
        hooks.register_member_order_summaries(pickup_panel.member_order_summaries)
        register(Section("pickup", "member/fulfillment/_home_entry.html", 5, pickup_day.member_home_entry))
