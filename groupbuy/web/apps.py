from django.apps import AppConfig


class WebConfig(AppConfig):
    """The three UI shells (operator dashboard, member pages, host panel): layout, sign-in, access."""

    name = "groupbuy.web"
    label = "web"
