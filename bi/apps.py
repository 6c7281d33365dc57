from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BiConfig(AppConfig):
    """The BI boards (商业智能看板): every metric of the article, defined once, drilled down to people."""

    name = "bi"
    verbose_name = _("Dashboards")

    def ready(self) -> None:
        # The leader's way to their own board, on the member home (the member-side menu of a leader).
        from groupbuy.member_home import Section, register

        from .panels import leader_home_entry

        register(Section("bi", "member/bi/_home_entry.html", 7, leader_home_entry))
