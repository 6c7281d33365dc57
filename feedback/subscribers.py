"""What the feedback app does when fulfilment reports a pickup (registered in ``FeedbackConfig.ready``)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from fulfillment import events as fulfillment_events
from fulfillment.models import Parcel
from groupbuy import clock, events
from livestream.models import Notification

from . import events as feedback_events
from .nps import brand_question

# Made and told in one statement each: the surveys this insert returns are the ones this call made.
_INSERT = """
INSERT INTO feedback_npssurvey (user_id, campaign_id, order_id, community_id, brand_id, created_at, notified_at, reason)
VALUES {values}
ON CONFLICT (user_id, campaign_id) DO NOTHING
RETURNING id, user_id, brand_id
"""


def ask_after_pickup(batch: list) -> None:
    """核销 committed: ask these members the NPS question. It runs in the 核销 request, so it is the short form of
    ``nps.surveys_ask``: the surveys are inserted already told, with their inbox messages, in one transaction —
    a survey someone else made (the sweep, a racing subscriber) conflicts and is theirs to tell, so each member
    is told once. The periodic sweep (``feedback.tasks.ask_nps``) asks whoever this missed."""
    now = clock.now()
    first: dict[tuple[int, int], tuple] = {}  # (member, campaign) → its lowest order's row, as the sweep picks
    names: dict[int, str] = {}
    picked = Parcel.objects.filter(state=Parcel.State.PICKED_UP, pk__in=[event.order_id for event in batch])
    for order_id, user_id, campaign_id, community_id, brand_id, brand_name in picked.order_by("order_id").values_list(
        "order_id", "order__user_id", "order__campaign_id", "order__community_id", "brand_id", "brand__name"
    ):
        first.setdefault((user_id, campaign_id), (order_id, community_id, brand_id))
        names[brand_id] = brand_name
    if not first:
        return
    stamp = connection.ops.adapt_datetimefield_value(now)
    params: list = []
    for (user_id, campaign_id), (order_id, community_id, brand_id) in first.items():
        params += [user_id, campaign_id, order_id, community_id, brand_id, stamp, stamp, ""]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(first))
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(_INSERT.format(values=values), params)
            made = cur.fetchall()
        if not made:
            return
        with translation.override(settings.LANGUAGE_CODE):
            Notification.objects.bulk_create(
                Notification(
                    user_id=user_id,
                    title=_("One question about your order"),
                    body=brand_question(names[brand_id]) + " " + _("Answer with one tap."),
                    link=reverse("feedback:member-nps", args=[survey_id]),
                    created_at=now,
                )
                for survey_id, user_id, brand_id in made
            )
        events.publish(feedback_events.NpsAsked(survey_ids=tuple(sorted(row[0] for row in made))))


def register() -> None:
    events.subscribe_many(fulfillment_events.OrderPickedUp, ask_after_pickup)
