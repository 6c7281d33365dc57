from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Reviews and NPS")

    def ready(self) -> None:
        from groupbuy.member_home import Section, register
        from jielong import hooks

        from . import panels, subscribers
        from .models import Review, ReviewPhoto

        subscribers.register()
        # jielong sits below us: its member order and campaign pages and the operator's campaign page get
        # our panels through its hook registry.
        hooks.register_member_order_panel(panels.member_order_panel)
        hooks.register_member_campaign_panel(panels.member_campaign_panel, changes_with=(Review, ReviewPhoto))
        hooks.register_ops_campaign_panel(panels.ops_campaign_panel)
        register(Section("feedback", "member/feedback/_home.html", 6, panels.member_home_section))
