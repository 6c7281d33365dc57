"""The live purchase summary (采购汇总): what each supplier must supply, read for the operator's page.

Per supplier, per SKU: the units ordered (live order lines) in every campaign that will still be delivered —
open ones (接龙中, not formed yet, they may still fail), formed ones, and completed ones whose delivery day has
not passed — and beside it, per delivery date, what the split put in ``PickLine`` and what the supplier
confirmed, with the shortages and the orders they hit. The page gets it whole, as a versioned snapshot
(``purchase_summary``), on load and from every broadcast (``fulfillment.purchase_broadcast``).

Cut-offs are the supplier's ``cutoff_time`` in the brand's local time (``groupbuy.clock``): an order placed
before it is delivered ``lead_time_days`` later.
"""

from __future__ import annotations

import hashlib
import json
import time as _time
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db.models import F, Q, Sum
from django.utils import dateformat, timezone
from django.utils.translation import pgettext

from catalogue.models import SKU, Supplier
from community.phones import mask_phone
from groupbuy import clock
from jielong.models import Campaign, Order, OrderLine

from .models import BatchMove, CampaignDelivery, PickLine, Shortage
from .split import SPLITTABLE

# Orders listed under one shortage; the count says how many more there are.
SHORTAGE_ORDERS_SHOWN = 50


def next_cutoff(supplier: Supplier, *, now: datetime | None = None) -> datetime:
    """The supplier's next cut-off instant (today's if it is still ahead, else tomorrow's), aware."""
    local_now = clock.localtime(now)
    today = timezone.make_aware(datetime.combine(local_now.date(), supplier.cutoff_time), local_now.tzinfo)
    return today if today > local_now else today + timedelta(days=1)


def day_label(value: date | str) -> str:
    """A delivery date the way people say it: "6月5日 周五" / "Fri, Jun 5"."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return dateformat.format(day, pgettext("delivery date", "D, M j"))


def packs(quantity: int, *, units_per_pack: int, pack_unit: str, unit: str) -> str:
    """12 units at 10 a crate → "1箱+2份"; "" when the SKU has no pack or it is one unit each."""
    if not pack_unit or units_per_pack <= 1 or quantity <= 0:
        return ""
    full, rest = divmod(quantity, units_per_pack)
    if not full:
        return ""
    return f"{full}{pack_unit}" + (f"+{rest}{unit}" if rest else "")


def live_campaigns(*, brand_id: int, today: date):
    """Campaigns whose orders are still to be supplied: open, formed, or completed and not yet delivered."""
    return Campaign.objects.filter(brand_id=brand_id).filter(
        Q(status__in=[Campaign.Status.OPEN, Campaign.Status.FORMED])
        | Q(status=Campaign.Status.COMPLETED) & (Q(delivery__isnull=True) | Q(delivery__delivery_date__gte=today))
    )


def sku_rows(sku_ids: Iterable[int]) -> dict[int, dict]:
    rows = SKU.objects.filter(pk__in=set(sku_ids)).values(
        "pk",
        "code",
        "spec",
        "unit",
        "pack_unit",
        "units_per_pack",
        "product__name",
        "product__supplier_id",
    )
    return {
        row["pk"]: {
            "id": row["pk"],
            "code": row["code"],
            "label": SKU.label(row["product__name"], row["spec"]),
            "product": row["product__name"],
            "spec": " ".join(str(v) for v in row["spec"].values()),
            "unit": row["unit"],
            "pack_unit": row["pack_unit"],
            "units_per_pack": row["units_per_pack"],
            "supplier_id": row["product__supplier_id"],
        }
        for row in rows
    }


def pick_line_row(line: dict, sku: dict) -> dict:
    """One pick line as the pages show it: "3 → 2" when a later split changed it, the confirmation beside it."""
    confirmed = line["confirmed_quantity"]
    changed = line["changed_at"] is not None and line["previous_quantity"] is not None
    return {
        "id": line["pk"],
        "quantity": line["quantity"],
        "previous": line["previous_quantity"] if changed else None,
        "confirmed": confirmed,
        "short": max(line["quantity"] - confirmed, 0) if confirmed is not None else 0,
        # The order changed after the supplier confirmed: the confirmation may no longer fit.
        "recheck": bool(
            confirmed is not None and changed and line["confirmed_at"] and line["changed_at"] > line["confirmed_at"]
        ),
        "packs": packs(
            line["quantity"], units_per_pack=sku["units_per_pack"], pack_unit=sku["pack_unit"], unit=sku["unit"]
        ),
    }


PICK_FIELDS = (
    "pk",
    "delivery_date",
    "sku_id",
    "supplier_id",
    "quantity",
    "previous_quantity",
    "changed_at",
    "confirmed_quantity",
    "confirmed_at",
)


def shortages_by_pick_line(pick_line_ids: Iterable[int]) -> dict[int, dict]:
    """Per pick line: the units short and the orders they hit (latest joiners first, as allocated)."""
    out: dict[int, dict] = {}
    rows = (
        Shortage.objects.filter(pick_line_id__in=list(pick_line_ids))
        .order_by("pick_line_id", "-order_line__order__created_at", "-order_line__order_id")
        .values(
            "pick_line_id",
            "quantity",
            "order_line__order_id",
            "order_line__order__seq",
            "order_line__order__campaign__title",
            "order_line__order__user__nickname",
            "order_line__order__user__username",
            "order_line__order__user__phone",
            "order_line__order__pickup_point__name",
            "order_line__order__parcel__state",
        )
    )
    for row in rows:
        entry = out.setdefault(row["pick_line_id"], {"units": 0, "orders": [], "more": 0})
        entry["units"] += row["quantity"]
        if len(entry["orders"]) >= SHORTAGE_ORDERS_SHOWN:
            entry["more"] += 1
            continue
        member = (
            row["order_line__order__user__nickname"]
            or row["order_line__order__user__username"]
            or mask_phone(row["order_line__order__user__phone"])
        )
        entry["orders"].append(
            {
                "order_id": row["order_line__order_id"],
                "seq": row["order_line__order__seq"],
                "campaign": row["order_line__order__campaign__title"],
                "member": member,
                "point": row["order_line__order__pickup_point__name"] or "",
                "quantity": row["quantity"],
                "parcel": row["order_line__order__parcel__state"] or "",
            }
        )
    return out


def shipped_pairs(*, brand_id: int, dates: Iterable[date]) -> set[tuple[int, date]]:
    """(supplier, day) pairs the supplier marked shipped (已发货)."""
    return set(
        BatchMove.objects.filter(
            brand_id=brand_id, kind=BatchMove.Kind.SUPPLIER_SHIPPED, delivery_date__in=list(dates)
        ).values_list("supplier_id", "delivery_date")
    )


def purchase_summary(*, brand_id: int, now: datetime | None = None, include_date: date | None = None) -> dict:
    """The whole summary of one brand, JSON-ready and versioned (see the module docstring).

    ``version`` is the time the reading began (ms): a snapshot read later includes every commit an earlier
    one saw, so a page keeps the snapshot with the highest version and drops older ones arriving late.
    """
    version = _time.time_ns() // 1_000_000
    now = now or clock.now()
    today = clock.localdate(now)

    # Units ordered, split into open (not formed yet) and formed (formed, or completed and not delivered).
    ordered: dict[int, dict[str, int]] = defaultdict(lambda: {"open": 0, "formed": 0})
    units = (
        OrderLine.objects.filter(order__campaign__in=live_campaigns(brand_id=brand_id, today=today))
        .exclude(order__status=Order.Status.CANCELLED)
        .values("item__sku_id", "order__campaign__status")
        .annotate(units=Sum("quantity"))
        .order_by()
    )
    for row in units:
        key = "open" if row["order__campaign__status"] == Campaign.Status.OPEN else "formed"
        ordered[row["item__sku_id"]][key] += row["units"]

    day_filter = Q(delivery_date__gte=today)
    if include_date is not None:
        day_filter |= Q(delivery_date=include_date)
    picks = list(PickLine.objects.filter(day_filter, brand_id=brand_id).values(*PICK_FIELDS))
    # A day's pick lines that fell to 0 and were never confirmed are noise once the day is empty.
    dates = sorted({line["delivery_date"] for line in picks})
    skus = sku_rows([*ordered, *(line["sku_id"] for line in picks)])
    shortages = shortages_by_pick_line(line["pk"] for line in picks if line["confirmed_quantity"] is not None)
    shipped = shipped_pairs(brand_id=brand_id, dates=dates)

    by_supplier_sku: dict[int, dict[int, dict]] = defaultdict(dict)
    for sku_id, counts in ordered.items():
        sku = skus.get(sku_id)
        if sku is None:
            continue
        by_supplier_sku[sku["supplier_id"]][sku_id] = _sku_entry(sku, counts)
    day_state: dict[tuple[int, date], dict] = {}
    supplier_shortages: dict[int, list] = defaultdict(list)
    for line in picks:
        sku = skus[line["sku_id"]]
        entry = by_supplier_sku[line["supplier_id"]].get(line["sku_id"])
        if entry is None:
            entry = by_supplier_sku[line["supplier_id"]][line["sku_id"]] = _sku_entry(sku, {"open": 0, "formed": 0})
        iso = line["delivery_date"].isoformat()
        row = pick_line_row(line, sku)
        short = shortages.get(line["pk"])
        row["short"] = short["units"] if short else 0
        entry["days"][iso] = row
        state = day_state.setdefault(
            (line["supplier_id"], line["delivery_date"]),
            {"lines": 0, "confirmed": 0, "short_units": 0, "recheck": 0},
        )
        if line["quantity"] or line["confirmed_quantity"] is not None:
            state["lines"] += 1
            state["confirmed"] += line["confirmed_quantity"] is not None
        state["short_units"] += row["short"]
        state["recheck"] += row["recheck"]
        if short:
            supplier_shortages[line["supplier_id"]].append(
                {"date": iso, "sku": sku["label"], "unit": sku["unit"], **short}
            )

    suppliers = []
    for supplier in Supplier.objects.filter(brand_id=brand_id).order_by("name"):
        rows = sorted(by_supplier_sku.get(supplier.pk, {}).values(), key=lambda r: (r["product"], r["spec"]))
        cutoff = next_cutoff(supplier, now=now)
        suppliers.append(
            {
                "id": supplier.pk,
                "name": supplier.name,
                "cutoff": supplier.cutoff_time.strftime("%H:%M"),
                "cutoff_at": cutoff.isoformat(),
                "lead_time_days": supplier.lead_time_days,
                "skus": rows,
                "days": {
                    day.isoformat(): {
                        **day_state.get(
                            (supplier.pk, day), {"lines": 0, "confirmed": 0, "short_units": 0, "recheck": 0}
                        ),
                        "shipped": (supplier.pk, day) in shipped,
                    }
                    for day in dates
                },
                "shortages": supplier_shortages.get(supplier.pk, []),
            }
        )
    # Suppliers with something to supply first; the rest stay listed (their links are made here too).
    suppliers.sort(key=lambda s: (not s["skus"], s["name"]))
    iso_dates = [day.isoformat() for day in dates]
    # Days whose orders changed since their split (the periodic sweep re-splits them within a minute), and
    # formed campaigns no split has seen yet: their units are ordered, not yet on a pick list.
    stale = CampaignDelivery.objects.filter(
        campaign__brand_id=brand_id, campaign__status__in=SPLITTABLE, delivery_date__gte=today
    ).exclude(split_version=F("campaign__version"))
    resplit = sorted({day.isoformat() for day in stale.values_list("delivery_date", flat=True)})
    unsplit = Campaign.objects.filter(brand_id=brand_id, status__in=SPLITTABLE, delivery__isnull=True).count()
    return {
        "brand_id": brand_id,
        "version": version,
        "generated_at": now.isoformat(),
        "today": today.isoformat(),
        "dates": iso_dates,
        "suppliers": suppliers,
        "resplit": resplit,
        "unsplit_campaigns": unsplit,
        "shape": summary_shape([iso_dates, resplit, unsplit], suppliers),
    }


# What a join changes in place on the page; anything else changing (a SKU, a day, a pick line, a confirmation,
# a shortage, a cut-off) changes the summary's shape, and the page re-renders its suppliers from the server.
LIVE_FIELDS = ("open", "formed", "ordered", "packs")


def summary_shape(days: list, suppliers: list[dict]) -> str:
    shape = [
        {**supplier, "skus": [{k: v for k, v in sku.items() if k not in LIVE_FIELDS} for sku in supplier["skus"]]}
        for supplier in suppliers
    ]
    text = json.dumps([days, shape], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


def _sku_entry(sku: dict, counts: dict[str, int]) -> dict:
    return {
        "id": sku["id"],
        "code": sku["code"],
        "label": sku["label"],
        "product": sku["product"],
        "spec": sku["spec"],
        "unit": sku["unit"],
        "open": counts["open"],
        "formed": counts["formed"],
        "ordered": counts["open"] + counts["formed"],
        "packs": packs(
            counts["open"] + counts["formed"],
            units_per_pack=sku["units_per_pack"],
            pack_unit=sku["pack_unit"],
            unit=sku["unit"],
        ),
        "days": {},
    }


def purchase_day(*, brand_id: int, delivery_date: date, supplier_ids: Iterable[int] | None = None) -> list[dict]:
    """The delivery-day page's purchase panel: per supplier of the day, its pick lines, what it confirmed,
    whether it shipped, and every shortage with the orders it hit."""
    lines = PickLine.objects.filter(brand_id=brand_id, delivery_date=delivery_date)
    if supplier_ids is not None:
        lines = lines.filter(supplier_id__in=list(supplier_ids))
    picks = list(lines.values(*PICK_FIELDS))
    skus = sku_rows(line["sku_id"] for line in picks)
    shortages = shortages_by_pick_line(line["pk"] for line in picks if line["confirmed_quantity"] is not None)
    shipped = shipped_pairs(brand_id=brand_id, dates=[delivery_date])
    suppliers = {s.pk: s for s in Supplier.objects.filter(pk__in={line["supplier_id"] for line in picks})}
    out: dict[int, dict] = {}
    for line in sorted(picks, key=lambda p: skus[p["sku_id"]]["label"]):
        supplier = suppliers[line["supplier_id"]]
        entry = out.setdefault(
            supplier.pk,
            {
                "supplier": supplier,
                "lines": [],
                "units": 0,
                "confirmed": 0,
                "open_lines": 0,
                "short_units": 0,
                "recheck": 0,
                "shortages": [],
                "shipped": (supplier.pk, delivery_date) in shipped,
            },
        )
        if not line["quantity"] and line["confirmed_quantity"] is None:
            continue
        sku = skus[line["sku_id"]]
        row = pick_line_row(line, sku) | {"sku": sku}
        short = shortages.get(line["pk"])
        row["short"] = short["units"] if short else 0
        entry["lines"].append(row)
        entry["units"] += line["quantity"]
        entry["confirmed"] += line["confirmed_quantity"] is not None
        entry["open_lines"] += line["confirmed_quantity"] is None
        entry["short_units"] += row["short"]
        entry["recheck"] += row["recheck"]
        if short:
            entry["shortages"].append({"sku": sku, **short})
    return sorted(out.values(), key=lambda e: e["supplier"].name)
