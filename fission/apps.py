from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FissionConfig(AppConfig):
    name = "fission"
    verbose_name = _("Help-sellers and commissions")

    def ready(self) -> None:
        from fulfillment import hooks as fulfillment_hooks
        from groupbuy import events
        from groupbuy.member_home import Section, register
        from jielong import events as jielong_events
        from jielong import hooks as jielong_hooks

        from . import attribution, commissions, panels

        # A campaign page opened through a help-seller's link is a touch; a join is attributed to the last one.
        jielong_hooks.register_campaign_page_opened(attribution.touch_from_request)
        events.subscribe_many(jielong_events.OrderJoined, attribution.attribute_joined)
        # Commissions accrue inside the 核销's transaction and go back inside the refund's.
        fulfillment_hooks.register_picked_up(commissions.accrue_on_pickup)
        fulfillment_hooks.register_pickup_undone(commissions.reverse_on_undo)
        jielong_hooks.register_refund_written(commissions.claw_back_on_refund)
        # Pages: the order's attribution (member and operator), the operator's campaign page, the member home.
        jielong_hooks.register_member_order_panel(panels.member_order_panel)
        jielong_hooks.register_ops_campaign_panel(panels.ops_campaign_panel)
        jielong_hooks.register_ops_order_summaries(panels.ops_order_summaries)
        register(Section("fission", "member/fission/_home.html", 7, panels.member_home_section))
