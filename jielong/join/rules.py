"""The join's rules that need no database: what a valid join request is, and how a refusal reads.

``check_input`` is the one check of join input. Every route reaches it: the page form and the DRF
view through ``services.order_join``, the ASGI fast path directly (it calls ``jielong_join``
itself). Routes only *parse* their own format — JSON integers (``is_whole_number``, the gateway's
quick check; the API serializer), form text (``quantity_from_form``) — and leave the judging here,
so a quantity refused on one route is refused with the same message on every other.

The rules that need the campaign (open, member, per-member limit, stock, minimum spend…) live in the
database function ``jielong_join`` and in its ORM twin (``jielong.join.orm``); ``join_error``
words their refusals for both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalogue.stock import InsufficientStock
from community.inputs import unstorable
from groupbuy.errors import DomainError
from groupbuy.money import fen_to_yuan

from ..models import Campaign, Order

__all__ = [
    "JOINABLE",
    "MOVED_ON",
    "MOVED_ON_FOR_MEMBERS",
    "AlreadyJoined",
    "InsufficientStock",
    "JoinRefused",
    "JoinResult",
    "check_input",
    "check_note",
    "is_whole_number",
    "join_error",
    "pickup_point_from_form",
    "quantities_from",
    "quantities_from_form",
    "quantity_from_form",
    "refusal_from_gateway",
]

JOINABLE = (Campaign.Status.OPEN, Campaign.Status.FORMED)

# Bounds of the columns and of the database function's parameters: a quantity is an ``integer``
# there, ids are ``bigint``; anything larger cannot be a quantity or an id.
MAX_QUANTITY = 2**31 - 1
MAX_ID = 2**63 - 1
MAX_NOTE_LENGTH = 200
MAX_KEY_LENGTH = 64

# Refusals that say the jielong moved on under the form — sold out, full, closed, joined already: the
# page answers them as it answers a join, back to the page as it is now, with the refusal as its message
# (post/redirect/get; a sold-out item shows there as sold out). Re-rendering the posted form would show
# stock and choices that no longer hold, and during the storm it queued every sell-out refusal behind
# the pages being opened. Refusals of the member's own input keep the form and its values (400).
MOVED_ON = frozenset({"sold_out", "full", "already_joined", "closed", "not_open_yet", "changed"})
# Of those, the ones ``jielong_join`` gives only a member of the jielong's communities (its checks come
# after the membership check), so the fast path may redirect without the page's access check.
MOVED_ON_FOR_MEMBERS = frozenset({"sold_out", "full", "already_joined"})

# Where the ASGI fast path leaves a page join's refusal for the page to word (``refusal_from_gateway``).
GATEWAY_REFUSAL = "jielong.join.refusal"

BAD_QUANTITY_MESSAGE = gettext_lazy("Quantities must be whole numbers of at least 1.")

# Besides what the database cannot store (``community.inputs.unstorable``: NUL, lone surrogates), a note
# or an idempotency key may not hold control characters a sheet cannot (the exports). Tab and line
# breaks are fine in a note.
_CONTROL_CHARACTERS = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f]")


def _is_storable(text) -> bool:
    return type(text) is str and not unstorable(text) and not _CONTROL_CHARACTERS.search(text)


@dataclass(frozen=True)
class JoinResult:
    order: Order
    created: bool
    # The campaign's version right after this join committed (None when an earlier order is returned).
    campaign_version: int | None = None


class JoinRefused(DomainError):
    pass


class AlreadyJoined(DomainError):
    pass


def is_whole_number(value) -> bool:
    """A plain integer: not a bool, not a float, not a numeric string."""
    return type(value) is int


def check_input(
    *, quantities: Mapping[int, int], pickup_point_id: int | None = None, note: str = "", idempotency_key: str = ""
) -> None:
    """Judge the join input every route sends: whole quantities of at least 1 within bounds, ids that
    can be ids, a note of at most ``MAX_NOTE_LENGTH`` characters (after trimming) that the database
    can store, a key it can store. Raises ``JoinRefused`` (codes ``bad_quantity``, ``unknown_item``,
    ``bad_pickup_point``, ``bad_note``, ``bad_key``).

    Whatever passes here is storable, so one request can never fail the group call it joins
    (``jielong.join.asgi``). An empty order is judged by the join itself (after "closed" and "not a
    member").
    """
    for item_id, quantity in quantities.items():
        if not is_whole_number(quantity) or not 1 <= quantity <= MAX_QUANTITY:
            raise join_error({"code": "bad_quantity"})
        if not is_whole_number(item_id) or not 1 <= item_id <= MAX_ID:
            raise join_error({"code": "unknown_item"})
    if pickup_point_id is not None and (not is_whole_number(pickup_point_id) or not 1 <= pickup_point_id <= MAX_ID):
        raise join_error({"code": "bad_pickup_point"})
    check_note(note)
    if not _is_storable(idempotency_key):
        raise join_error({"code": "bad_key"})


def check_note(note: str) -> None:
    """A member's note: text of at most ``MAX_NOTE_LENGTH`` characters once trimmed, storable (no
    NUL, control characters or lone surrogates). Used by the join and by changing an order."""
    if not _is_storable(note) or len(note.strip()) > MAX_NOTE_LENGTH:
        raise join_error({"code": "bad_note"})


def quantities_from(lines: Iterable[Mapping]) -> dict[int, int]:
    """Merge request lines ``[{"item": id, "quantity": n}, ...]`` into {campaign item id: quantity}."""
    quantities: dict[int, int] = {}
    for line in lines:
        quantities[line["item"]] = quantities.get(line["item"], 0) + line["quantity"]
    return quantities


def quantity_from_form(text: str) -> int:
    """A quantity typed in the page form: blank means 0 ("not this item"); text that is not a whole
    number is refused with the same message as a bad quantity anywhere else. Negatives pass on to
    ``check_input``."""
    try:
        return int(text.strip() or 0)
    except ValueError:
        raise join_error({"code": "bad_quantity"}) from None


def quantities_from_form(post: Mapping[str, str]) -> dict[int, int]:
    """The page form's ``qty_<item pk>`` fields as {campaign item id: quantity}: blank or 0 means "not
    this item"; the rest is judged by ``check_input``, so the page refuses what the API refuses, with
    the same message."""
    quantities: dict[int, int] = {}
    for name, value in post.items():
        if not name.startswith("qty_"):
            continue
        quantity = quantity_from_form(value)
        try:
            item_id = int(name.removeprefix("qty_"))
        except ValueError:
            raise join_error({"code": "bad_quantity"}) from None
        if quantity != 0:
            quantities[item_id] = quantity
    return quantities


def pickup_point_from_form(post: Mapping[str, str]) -> int | None:
    """The page form's pickup point: blank means the member's usual one."""
    value = (post.get("pickup_point") or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise join_error({"code": "bad_pickup_point"}) from None


def refusal_from_gateway(request) -> DomainError | None:
    """The refusal of a page join the fast path (``jielong.join.asgi``) already tried and handed on to the
    page to show: the join is not tried a second time."""
    outcome = getattr(request, "scope", None) or {}
    outcome = outcome.get(GATEWAY_REFUSAL)
    return join_error(outcome) if outcome else None


def join_error(outcome: Mapping) -> DomainError:
    """The refusal, in the reader's language, for a join outcome that is not ok (from ``jielong_join``
    or its ORM twin)."""
    code, params = outcome["code"], outcome.get("params") or {}
    if code == "already_joined":
        return AlreadyJoined(
            _("You have already joined this jielong; change your order instead."), code="already_joined"
        )
    if code == "sold_out":
        return InsufficientStock(_("Sorry, %(item)s is sold out.") % {"item": params.get("item", "")}, code="sold_out")
    messages = {
        "not_found": _("This jielong does not exist."),
        "closed": _("This jielong is closed."),
        "not_member": _("This jielong is only open to members of its communities."),
        # A person flagged for refund abuse (community.Flag): neutral words, no reason given.
        "not_available": _(
            "You cannot take part in this jielong for now; please contact your leader if you have questions."
        ),
        "not_open_yet": _("This jielong has not opened yet."),
        "empty": _("Choose at least one item."),
        "unknown_item": _("That item is not part of this jielong."),
        "bad_quantity": str(BAD_QUANTITY_MESSAGE),
        "bad_pickup_point": _("Choose a pickup point of your community."),
        "bad_note": _("The note can have at most %(limit)s characters, without control characters.")
        % {"limit": MAX_NOTE_LENGTH},
        "bad_key": _("This request could not be read; please reload the page and try again."),
        "full": _("This jielong is full."),
        "changed": _("This jielong just changed; please look at it again and retry."),
    }
    if code == "over_limit":
        message = _("You can take at most %(limit)s of %(item)s.") % params
    elif code == "below_min_spend":
        message = _("The minimum order is %(amount)s yuan.") % {"amount": fen_to_yuan(params["amount_fen"])}
    else:
        message = messages.get(code, messages["changed"])
    return JoinRefused(message, code=code)
