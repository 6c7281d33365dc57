"""The audited actions: stable dotted codes (``<app>.<what happened>``, never renamed: entries keep them) with
their labels for the log's page. An app may add its own with :func:`register` at import; a code nobody
registered is still recorded and shows as itself (``tests/kernel/test_audit.py`` checks every code the code
base records is listed)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTIONS: dict[str, Promise | str] = {
    # people and roles
    "cdp.phone_unmasked": _("Showed a full phone number"),
    "community.role_changed": _("Changed a community role"),
    "community.staff_added": _("Added a team member"),
    "community.staff_changed": _("Changed a team member's role or sign-in"),
    "community.staff_link_made": _("Made a set-password link"),
    "community.person_flagged": _("Flagged for refund abuse"),
    "community.person_unflagged": _("Lifted a refund-abuse flag"),
    "fulfillment.verifier_added": _("Made a pickup verifier"),
    "fulfillment.verifier_removed": _("Removed a pickup verifier"),
    "fission.help_seller_invited": _("Invited a help-seller"),
    "fission.help_seller_deactivated": _("Stopped a help-seller"),
    # prices and stock
    "catalogue.price_changed": _("Changed a price"),
    "catalogue.stock_changed": _("Changed stock"),
    "jielong.item_price_changed": _("Changed a jielong's prices"),
    # commissions
    "fission.commission_rule_changed": _("Changed a commission rule"),
    "fission.brand_commission_changed": _("Changed the brand's commission defaults"),
    # money back
    "jielong.refunded": _("Refunded an order"),
    "jielong.credit_issued": _("Gave store credit"),
    "aftersales.bulk_refunded": _("Refunded in bulk"),
    "jielong.failed_campaign_refunded": _("Refunded a jielong that did not form"),
    # personal data leaving the platform
    "jielong.orders_exported": _("Exported a jielong's orders"),
    "jielong.orders_exported_full_phones": _("Exported orders with full phone numbers"),
    "jielong.all_orders_exported": _("Exported the order list"),
    "fulfillment.document_exported": _("Exported a fulfilment list"),
    "bi.people_exported": _("Exported a list of people"),
    "fission.statement_exported": _("Exported a commission statement"),
    "audit.exported": _("Exported the audit log"),
    # integrations and privacy (their apps record them)
    "api.token_created": _("Created an API token"),
    "api.token_revoked": _("Revoked an API token"),
    "webhooks.endpoint_changed": _("Changed a webhook endpoint"),
    "webhooks.delivery_replayed": _("Replayed a webhook delivery"),
    "privacy.data_exported": _("Downloaded a member's data"),
    "privacy.deletion_requested": _("Asked for deletion"),
    "privacy.deletion_cancelled": _("Cancelled a deletion request"),
    "privacy.signed_out_everywhere": _("Signed out everywhere"),
    "privacy.person_erased": _("Erased a person"),
}


def register(code: str, label: Promise | str) -> None:
    """Add an app's own action (idempotent). Codes are ``<app>.<past tense>``."""
    if "." not in code or len(code) > 64:
        raise ValueError(f"audit action codes are '<app>.<what>' and at most 64 characters: {code!r}")
    ACTIONS.setdefault(code, label)


def label(code: str) -> str:
    """The action's words in the active language (the code itself for one nobody registered)."""
    return str(ACTIONS.get(code, code))


def choices() -> list[tuple[str, str]]:
    return sorted(((code, label(code)) for code in ACTIONS), key=lambda pair: pair[0])
