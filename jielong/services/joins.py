"""``order_join``: the public service for joining a jielong; the mechanics live in ``jielong.join``."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import IntegrityError, transaction

from community.models import User

from ..join import after_join, orm, rules, sql
from ..join.rules import JoinResult, join_error
from ..models import Order


def order_join(
    *,
    campaign_id: int,
    user: User,
    quantities: Mapping[int, int],
    pickup_point_id: int | None = None,
    note: str = "",
    idempotency_key: str = "",
) -> JoinResult:
    """Join a jielong (接龙): take stock, maybe a first-N perk place, a sequence number; maybe form the group.

    Idempotent by ``idempotency_key``: a retried or double-tapped request returns the first order.
    Raises ``JoinRefused``, ``InsufficientStock`` or ``AlreadyJoined`` and then changes nothing.

    On PostgreSQL the whole join runs in the database (``jielong_join``, see ``jielong.join.sql``);
    elsewhere (the embedded SQLite demo) the same rules run through the ORM (``jielong.join.orm``).
    The test suite runs the join tests against both.
    """
    rules.check_input(
        quantities=quantities, pickup_point_id=pickup_point_id, note=note, idempotency_key=idempotency_key
    )
    if not sql.in_database():
        return orm.order_join_orm(
            campaign_id=campaign_id,
            user=user,
            quantities=quantities,
            pickup_point_id=pickup_point_id,
            note=note,
            idempotency_key=idempotency_key,
        )
    request = sql.JoinRequest(
        user_id=user.pk,
        items=tuple(quantities.items()),
        pickup_point_id=pickup_point_id,
        note=note,
        idempotency_key=idempotency_key,
    )
    try:
        with transaction.atomic():
            [outcome] = sql.run_joins(campaign_id=campaign_id, requests=[request])
            if outcome.get("ok"):
                after_join.after_join(campaign_id, user_ids=[user.pk], outcomes=[outcome])
    except IntegrityError:
        raise join_error({"code": "changed"}) from None
    if not outcome["ok"]:
        raise join_error(outcome)
    return JoinResult(
        order=Order.objects.get(pk=outcome["id"]),
        created=outcome["created"],
        campaign_version=outcome["campaign_version"],
    )
