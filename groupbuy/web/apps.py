from django.apps import AppConfig


class WebConfig(AppConfig):
    """The three UI shells (operator dashboard, member pages, host panel): layout, sign-in, access."""

    name = "groupbuy.web"
    label = "web"

    def ready(self) -> None:
        # The shell layer sits above every app, so it is where their member-home sections are wired in.
        from groupbuy.member_home import Section, register
        from jielong import member_home as jielong_home
        from livestream import member_home as livestream_home

        register(Section("live", "member/sections/live.html", 10, livestream_home.upcoming_lives))
        register(Section("jielong", "member/sections/jielong.html", 20, jielong_home.open_campaigns))
        register(Section("orders", "member/sections/orders.html", 30, jielong_home.my_orders))
