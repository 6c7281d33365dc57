"""Who may do what in fulfilment: the one place each question is answered.

- operators run every brand's delivery days (routes, splits, documents, batch moves);
- at a pickup point, its leader (``PickupPoint.leader``, or an active 团长 of its community) and its 核销员
  (``PointVerifier``) verify pickups and mark the point's deliveries received;
- a supplier reaches its own pick list only through a live ``SupplierLink`` (no account);
- a driver's page is reached through the route's signed link (no account).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from community.access import for_staff, staff_brand_ids
from community.models import Membership, PickupPoint, User
from groupbuy import clock
from groupbuy.access import operator_required

from .models import PointVerifier, SupplierLink


def may_run_fulfilment(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_operator)


def console_view(view):
    """The fulfilment console's pages (warehouses, routes, verifiers, delivery days): whoever
    ``may_run_fulfilment``; anonymous → the staff sign-in, anyone else → 403."""

    @operator_required  # the operator shell: sign-in redirect and 403 like every console page
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not may_run_fulfilment(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def points_visible_to(user: User):
    """Pickup points whose URL answers at all for ``user``: a brand's operator gets 404 on another brand's
    (as if it did not exist); everyone else is answered 403 or not by ``may_verify_at``."""
    if user.is_authenticated and user.is_operator:
        return for_staff(PickupPoint.objects.all(), user=user, via="community__brand")
    return PickupPoint.objects.all()


def points_user_may_verify(user: User):
    """The pickup points where ``user`` may verify pickups (a queryset)."""
    if not user.is_authenticated or not user.is_active:
        return PickupPoint.objects.none()
    if user.is_operator:  # every point of the brands they may see
        return for_staff(PickupPoint.objects.all(), user=user, via="community__brand")
    led_communities = Membership.objects.filter(
        user=user, role=Membership.Role.LEADER, status=Membership.Status.ACTIVE
    ).values("community_id")
    return PickupPoint.objects.filter(
        Q(leader=user)
        | Q(community_id__in=led_communities)
        | Q(pk__in=PointVerifier.objects.filter(user=user).values("pickup_point_id"))
    ).distinct()


def may_verify_at(*, user: User, point: PickupPoint | int) -> bool:
    # The common answers without a query (every 核销 asks): an operator, or the point's own leader.
    if (
        not isinstance(point, int)
        and user.is_authenticated
        and user.is_active
        and ((user.is_operator and staff_brand_ids(user) is None) or point.leader_id == user.pk)
    ):
        return True
    point_id = point if isinstance(point, int) else point.pk
    return points_user_may_verify(user).filter(pk=point_id).exists()


# --- supplier links (the supplier's page, no account) ------------------------------------------------


class SupplierLinkUnknown(Exception):
    """No link has this token (404: a mistyped or made-up address)."""


class SupplierLinkGone(Exception):
    """The link existed but expired or was revoked (410); ``link`` says which."""

    def __init__(self, link: SupplierLink) -> None:
        super().__init__(link.pk)
        self.link = link


def supplier_token_hash(token: str) -> str:
    """Only this is stored (``SupplierLink.token_hash``): a leaked database does not open suppliers' pages."""
    return hashlib.sha256(token.encode()).hexdigest()


def supplier_link_for_token(token: str, *, now: datetime | None = None) -> SupplierLink:
    """The live link a supplier opened; raises ``SupplierLinkUnknown`` or ``SupplierLinkGone``."""
    link = SupplierLink.objects.select_related("supplier__brand").filter(token_hash=supplier_token_hash(token)).first()
    if link is None:
        raise SupplierLinkUnknown(token[:6])
    if link.revoked_at is not None or link.expires_at <= (now or clock.now()):
        raise SupplierLinkGone(link)
    return link
