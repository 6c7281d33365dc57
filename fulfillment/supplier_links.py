"""Supplier links (供应商链接): a supplier opens its pick lists on a phone without an account.

The token is shown once, when the link is made (copy it, or let the supplier scan its QR); only its
SHA-256 is stored, so nobody — the operator included — can read it back later. A link expires after the
days the operator chose and can be revoked at any time; either way the page answers 410 and changes
nothing (``fulfillment.access.supplier_link_for_token``).
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import qrcode
import qrcode.image.svg
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalogue.models import Supplier
from community.models import User
from groupbuy import clock
from groupbuy.errors import DomainError

from .access import supplier_token_hash
from .models import SupplierLink

# How long a link lives: a few days for one delivery, a week for a season's routine, a month at most.
EXPIRY_DAYS = (3, 7, 30)
DEFAULT_EXPIRY_DAYS = 7
EXPIRY_CHOICES = [
    (3, gettext_lazy("3 days")),
    (7, gettext_lazy("7 days")),
    (30, gettext_lazy("30 days")),
]
# ``last_used_at`` is a hint for the operator ("opened 5 minutes ago"), not a log: one write a minute at most.
TOUCH_EVERY = timedelta(minutes=1)


class SupplierLinkError(DomainError):
    pass


@dataclass(frozen=True)
class NewLink:
    link: SupplierLink
    token: str


def supplier_link_create(*, supplier: Supplier, by: User, days: int = DEFAULT_EXPIRY_DAYS, now=None) -> NewLink:
    """A new link for ``supplier``, valid ``days`` days (one of ``EXPIRY_DAYS``); returns it with its token."""
    if days not in EXPIRY_DAYS:
        raise SupplierLinkError(_("Choose how long the link stays valid: 3, 7 or 30 days."), code="expiry")
    now = now or clock.now()
    token = secrets.token_urlsafe(32)
    link = SupplierLink.objects.create(
        supplier=supplier,
        token_hash=supplier_token_hash(token),
        created_by=by,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    return NewLink(link=link, token=token)


def supplier_link_revoke(*, link: SupplierLink, by: User, now: datetime | None = None) -> SupplierLink:
    """Revoke a link now (idempotent: a revoked link keeps its first revocation time)."""
    now = now or clock.now()
    with transaction.atomic():
        SupplierLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=now)
    link.refresh_from_db(fields=["revoked_at"])
    return link


def supplier_link_touch(*, link: SupplierLink, now: datetime | None = None) -> None:
    """Note that the supplier opened the link (at most once a minute)."""
    now = now or clock.now()
    if link.last_used_at is None or now - link.last_used_at >= TOUCH_EVERY:
        SupplierLink.objects.filter(pk=link.pk).update(last_used_at=now)
        link.last_used_at = now


def link_status(link: SupplierLink, *, now: datetime | None = None) -> str:
    """``live``, ``expired`` or ``revoked`` (revoked wins: it was an operator's decision)."""
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= (now or clock.now()):
        return "expired"
    return "live"


def supplier_links(*, supplier: Supplier, now: datetime | None = None) -> list[SupplierLink]:
    """The supplier's links, newest first, each with ``status``."""
    now = now or clock.now()
    links = list(SupplierLink.objects.filter(supplier=supplier).select_related("created_by").order_by("-created_at"))
    for link in links:
        link.status = link_status(link, now=now)
    return links


def qr_svg(url: str) -> str:
    """The link as an inline SVG QR code (scanned from the operator's screen, or saved and sent)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2, box_size=10)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg") :]
