from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AftersalesConfig(AppConfig):
    name = "aftersales"
    verbose_name = _("After-sales")

    def ready(self) -> None:
        from . import subscribers

        subscribers.register()

        # 申请售后 on the member's order page, and the operator's campaign page links to its requests and bulk
        # refund (jielong cannot import us).
        from jielong import hooks

        from . import panels

        hooks.register_member_order_panel(panels.member_order_panel)
        hooks.register_ops_campaign_panel(panels.ops_campaign_panel)

        # The leader's way to their community's requests, on the member home.
        from groupbuy.member_home import Section, register

        register(Section("aftersales", "member/aftersales/_home_entry.html", 6, panels.leader_home_entry))
