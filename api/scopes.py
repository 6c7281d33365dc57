"""The scopes a token can hold: read (and, where the API writes, write) per resource family."""

from django.utils.translation import gettext_lazy as _

FAMILIES: dict[str, str] = {
    "communities": _("Communities and pickup points"),
    "members": _("Members (phones masked)"),
    "catalogue": _("Products, SKUs and stock"),
    "live": _("Live sessions and reservations"),
    "campaigns": _("Jielong campaigns and items"),
    "orders": _("Orders and refunds"),
    "fulfilment": _("Fulfilment states and pickup verification"),
    "aftersales": _("After-sales requests"),
    "commissions": _("Commissions"),
    "dashboard": _("Dashboard figures"),
}
WRITABLE = ("orders", "fulfilment", "aftersales")

SCOPES: tuple[str, ...] = tuple(
    scope for family in FAMILIES for scope in (f"{family}:read", *([f"{family}:write"] if family in WRITABLE else []))
)


def scope_label(scope: str) -> str:
    family, _sep, access = scope.partition(":")
    return f"{FAMILIES.get(family, family)} · {_('write') if access == 'write' else _('read')}"
