from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunityConfig(AppConfig):
    name = "community"
    verbose_name = _("Communities")

    def ready(self) -> None:
        # The community feed is a section of the member home page, like the sections of the apps above. It comes
        # last (after live 10, jielong 20, orders 30): five feed cards above pushed the upcoming live off the screen.
        from groupbuy.member_home import Section, register

        from . import feed

        register(Section("feed", "member/feed/section.html", 40, feed.member_home_section))
