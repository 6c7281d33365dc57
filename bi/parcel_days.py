"""The parcel facts (``bi.models.ParcelDay``): kept by triggers on the parcels (``bi/migrations/0008_parcel_days.py``,
PostgreSQL); :func:`rebuild` sets their time zone to the installation's again and refills them from the parcels."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from fulfillment.models import Parcel

from .metrics import _deadline
from .models import ParcelDay, ParcelDayAll
from .rollups import over_communities

# As in the migration: the zone the triggers read the orders' local day and the delivery day's noon in.
ZONE = "CREATE OR REPLACE FUNCTION bi_parcel_zone() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT '{zone}'::text $$"


def rebuild() -> bool:
    """Refill the parcel facts (PostgreSQL); False elsewhere, where there are none."""
    if connection.vendor != "postgresql":
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        # The parcels' writers wait for the refill rather than adding to rows it is about to replace.
        cursor.execute("LOCK TABLE fulfillment_parcel IN SHARE MODE")
        cursor.execute(ZONE.format(zone=settings.TIME_ZONE.replace("'", "''")))
        cursor.execute("SELECT bi_parcel_days_rebuild()")
    return True


Key = tuple[date, int, int, date]  # (order's local day, community, jielong, delivery day)


def stored() -> dict[Key, tuple[int, int, int]]:
    """The facts as kept: key → (parcels, arrived, on time), rows of zeros left out."""
    rows = ParcelDay.objects.values_list(
        "day", "community_id", "campaign_id", "delivery_date", "parcels", "arrived", "on_time"
    )
    return {tuple(r[:4]): tuple(r[4:]) for r in rows if any(r[4:])}


def recomputed() -> dict[Key, tuple[int, int, int]]:
    """The same from the parcels and their orders, in Python (the check of what the triggers keep), by the tile's
    own deadline (``bi.metrics``)."""
    found: dict[Key, list[int]] = {}
    rows = Parcel.objects.exclude(state__in=(Parcel.State.CANCELLED, Parcel.State.SHORTAGE)).values_list(
        "order__created_at",
        "order__community_id",
        "order__campaign_id",
        "delivery_date",
        "at_pickup_at",
        "picked_up_at",
    )
    zone = timezone.get_current_timezone()
    for created_at, community_id, campaign_id, delivery_date, at_pickup, picked_up in rows:
        sums = found.setdefault(
            (timezone.localdate(created_at, zone), community_id, campaign_id, delivery_date), [0, 0, 0]
        )
        arrived = at_pickup or picked_up
        sums[0] += 1
        if arrived is not None:
            sums[1] += 1
            sums[2] += arrived <= _deadline(delivery_date)
    return {key: tuple(sums) for key, sums in found.items()}


def stored_all() -> dict[tuple[date, int, date], tuple[int, int, int]]:
    rows = ParcelDayAll.objects.values_list("day", "campaign_id", "delivery_date", "parcels", "arrived", "on_time")
    return {tuple(r[:3]): tuple(r[3:]) for r in rows if any(r[3:])}


def matches_recomputation() -> bool:
    found = recomputed()
    return stored() == found and stored_all() == over_communities(found)
