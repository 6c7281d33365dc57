from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HighlightsConfig(AppConfig):
    name = "highlights"
    verbose_name = _("Highlights")

    def ready(self) -> None:
        from jielong import hooks as jielong_hooks
        from livestream import hooks as livestream_hooks

        from . import panels, subscribers
        from .models import Clip

        subscribers.register()
        # Apps below us show our fragments through their hook registries: the member campaign page gets
        # "看回放·<title>", the operator's session page its clips.
        jielong_hooks.register_member_campaign_panel(panels.member_campaign_panel, changes_with=(Clip,))
        livestream_hooks.register_ops_session_panel(panels.ops_session_panel)
