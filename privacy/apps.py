from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """Personal-information rights (PIPL): a member's data download, deletion by anonymisation, consent."""

    name = "privacy"
    verbose_name = _("Privacy")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from groupbuy.audit import actions

        actions.register("privacy.deletion_cancelled", _("Cancelled a deletion request"))
        actions.register("privacy.signed_out_everywhere", _("Signed out everywhere"))
