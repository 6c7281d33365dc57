from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JielongConfig(AppConfig):
    name = "jielong"
    verbose_name = _("Jielong campaigns")

    def ready(self) -> None:
        from livestream import hooks

        from . import live_hooks, page_parts, subscribers

        subscribers.register()
        page_parts.connect()  # the member page's cached parts are forgotten when what they show is saved
        # The live room pins this app's campaign items and shows its joins and GMV (livestream never imports jielong).
        hooks.register_pin_candidates(live_hooks.session_pin_candidates)
        hooks.register_sales(live_hooks.session_sales)
        hooks.register_campaign_url(live_hooks.campaign_url)
        hooks.register_campaign_is_open(live_hooks.campaign_is_open)
        hooks.register_session_campaigns(live_hooks.session_campaigns)
        hooks.register_campaign_builder_url(live_hooks.campaign_builder_url)
        hooks.register_calendar_campaigns(live_hooks.calendar_campaigns)
