"""Anonymising one member (匿名化): what deletion does, table by table.

The account row stays — orders, ledger entries, commissions and after-sales requests point at it, so every
money fact keeps its amount, campaign and community and the books and dashboards add up the same — but
nothing on it or around it says who the person was any more:

- the account: phone, username, nickname, email gone (username becomes ``deleted-<reference>``), no
  password, inactive, every session ended (``session_epoch``);
- what they wrote: entry-questionnaire answers, order notes, after-sales descriptions, their messages and
  photos, review text and photos, NPS reasons, live comments, inbox and warm-up texts;
- where they were: memberships left, default pickup point and personal invitation links ended, help-selling
  stopped, sign-in codes of the number deleted;
- the event stream and the CDP: events keep their facts (names, times, amounts, campaigns) but no account and
  a pseudonymous distinct id ``erased:<reference>``; the analytics person (and the anonymous ones merged into
  it) loses its account and every id (phone, WeChat, devices), and merge records the ids they listed, so
  nothing can be matched back to it; the person row stays, so "how many people" counts add up the same;
- the audit log keeps its entries (who did what stays provable) with the pseudonym for the member's name.

Kept on purpose: amounts, dates, ratings and scores (aggregates), the refund-abuse flag history (a legal
record of the operator's decision, about the now anonymous account).

The privacy app sits above every app (import-linter layer ``api | privacy | webhooks``) so it may reach their
tables; each step below names the app whose rows it rewrites.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F, Q

from aftersales.models import Request as AfterSalesRequest
from aftersales.models import RequestMessage, RequestPhoto
from analytics.models import DistinctId, Person, PersonMerge
from community import events as community_events
from community.models import Application, Invitation, Membership, PhoneCode, User
from feedback.models import NpsSurvey, Review, ReviewPhoto
from fission.models import HelpSeller
from fulfillment.models import Notice
from groupbuy import events as domain_events
from groupbuy.audit.models import Entry
from groupbuy.stream.models import Event
from jielong.models import Order
from livestream.models import Comment, Delivery, Mute, Notification

# Stream properties that may carry what a person wrote or who they are; the rest are facts (ids, amounts).
PERSONAL_PROPERTIES = frozenset(
    {"phone", "nickname", "name", "display_name", "email", "text", "note", "body", "comment", "description",
     "reason", "answers", "address", "username", "user_agent", "ip"}
)  # fmt: skip
ERASED_TEXT = ""


def pseudonym(reference: str) -> str:
    return f"deleted-{reference.lower()}"


def _delete_files(queryset) -> int:
    count = 0
    for row in queryset:
        if row.image:
            row.image.delete(save=False)
        count += 1
    queryset.delete()
    return count


def _account(user: User, *, reference: str) -> None:
    if user.phone:
        PhoneCode.objects.filter(phone=user.phone).delete()
    user.phone = None
    user.username = pseudonym(reference)
    user.nickname = ""
    user.email = ""
    user.is_active = False
    user.last_login = None
    user.set_unusable_password()
    user.session_epoch = F("session_epoch") + 1
    user.save(
        update_fields=["phone", "username", "nickname", "email", "is_active", "last_login", "password", "session_epoch"]
    )
    user.refresh_from_db(fields=["session_epoch"])


def _community(user: User, *, now: datetime) -> dict[str, int]:
    left = (
        Membership.objects.filter(user=user)
        .exclude(status__in=[Membership.Status.LEFT, Membership.Status.REMOVED, Membership.Status.REJECTED])
        .update(status=Membership.Status.LEFT)
    )
    Membership.objects.filter(user=user).update(default_pickup_point=None)
    answers = Application.objects.filter(user=user).exclude(answers={}).update(answers={})
    invitations = Invitation.objects.filter(inviter=user).update(expires_at=now)
    return {"memberships_left": left, "answers_cleared": answers, "invitations_ended": invitations}


def _orders(user: User) -> dict[str, int]:
    orders = Order.objects.filter(user=user)
    notes = orders.exclude(note="", leader_note="").update(note="", leader_note="")
    requests = AfterSalesRequest.objects.filter(user=user)
    descriptions = requests.exclude(description="").update(description=ERASED_TEXT)
    messages = RequestMessage.objects.filter(request__user=user, author=user).update(body=ERASED_TEXT)
    photos = _delete_files(RequestPhoto.objects.filter(request__user=user))
    return {
        "orders_kept": orders.count(),
        "order_notes_cleared": notes,
        "aftersales_kept": requests.count(),
        "aftersales_texts_cleared": descriptions + messages,
        "aftersales_photos_deleted": photos,
    }


def _feedback(user: User) -> dict[str, int]:
    reviews = Review.objects.filter(user=user)
    texts = reviews.exclude(text="").update(text=ERASED_TEXT)
    photos = _delete_files(ReviewPhoto.objects.filter(review__user=user))
    reviews.update(photo_count=0)
    reasons = NpsSurvey.objects.filter(user=user).exclude(reason="").update(reason="")
    return {"review_texts_cleared": texts, "review_photos_deleted": photos, "nps_reasons_cleared": reasons}


def _live_and_messages(user: User) -> dict[str, int]:
    comments = Comment.objects.filter(user=user).update(text=ERASED_TEXT)
    Mute.objects.filter(user=user).update(reason="")
    inbox, _kinds = Notification.objects.filter(user=user).delete()
    Delivery.objects.filter(user=user).update(text="")
    Notice.objects.filter(user=user).update(text="")
    sellers = HelpSeller.objects.filter(user=user, is_active=True).update(is_active=False)
    return {"comments_cleared": comments, "inbox_deleted": inbox, "help_selling_stopped": sellers}


def _stream_and_identity(user: User, *, reference: str) -> dict[str, int]:
    persons = list(Person.objects.filter(user=user).values_list("pk", flat=True))
    # The anonymous persons merged into theirs (a device before sign-in) were them too.
    frontier = persons
    while frontier:
        frontier = list(
            Person.objects.filter(merged_into_id__in=frontier).exclude(pk__in=persons).values_list("pk", flat=True)
        )
        persons += frontier
    ids, _kinds = DistinctId.objects.filter(person_id__in=persons).delete()
    Person.objects.filter(pk__in=persons).update(user=None)
    # A merge's record lists the ids that moved (a phone, a device): the merge stays, its ids go.
    merges = PersonMerge.objects.filter(Q(kept_id__in=persons) | Q(absorbed_id__in=persons))
    merges.update(distinct_ids=[])
    merges.filter(automatic=True).update(reason="")  # "device device:… signed in": the id again
    erased_id = f"erased:{reference.lower()}"
    events = Event.objects.filter(user=user)
    if persons:
        events = Event.objects.filter(user=user) | Event.objects.filter(person_id__in=persons)
    touched = 0
    batch: list[Event] = []
    for event in events.only("pk", "properties").iterator(chunk_size=1000):
        properties = event.properties if isinstance(event.properties, dict) else {}
        event.properties = {k: v for k, v in properties.items() if k not in PERSONAL_PROPERTIES}
        event.user_id = None
        event.distinct_id = erased_id
        batch.append(event)
        if len(batch) >= 1000:
            touched += Event.objects.bulk_update(batch, ["properties", "user", "distinct_id"])
            batch = []
    if batch:
        touched += Event.objects.bulk_update(batch, ["properties", "user", "distinct_id"])
    return {"events_detached": touched, "identifiers_deleted": ids}


def _audit_labels(user: User) -> None:
    name = pseudonym_of(user)
    Entry.objects.filter(actor=user).update(actor_label=name)
    Entry.objects.filter(target_type=User._meta.label_lower, target_id=str(user.pk)).update(target_label=name)


def pseudonym_of(user: User) -> str:
    return user.username or ""


def anonymise(*, user: User, reference: str, now: datetime) -> dict[str, int]:
    """Anonymise ``user`` (see the module docstring) in one transaction; the counts of what changed.
    The caller holds the deletion request's lock and has checked that nothing open needs the identity."""
    with transaction.atomic():
        # Published first, so its stream row is detached with the rest below; the sockets still hear the id.
        domain_events.publish(community_events.SignedOutEverywhere(user_id=user.pk))
        summary: dict[str, int] = {}
        summary |= _community(user, now=now)
        summary |= _orders(user)
        summary |= _feedback(user)
        summary |= _live_and_messages(user)
        summary |= _stream_and_identity(user, reference=reference)
        _account(user, reference=reference)
        _audit_labels(user)
    return summary
