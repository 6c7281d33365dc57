"""What livestream hears from the apps below it (registered in ``LivestreamConfig.ready``).

A member who leaves a community or is removed from it (退群 / 移出群) must stop receiving its live rooms at
once, not at their next reconnect: their open sockets are told to check access again. One who signs out
everywhere (a lost phone) has every open room closed, and so does a team member whose role changed (the panel
reloads under the new role).
"""

from __future__ import annotations

from community import events as community_events
from groupbuy import events

from . import broadcast


def on_membership_ended(event: community_events.MemberLeft | community_events.MemberRemoved) -> None:
    broadcast.membership_ended(event.user_id)


def on_signed_out_everywhere(event: community_events.SignedOutEverywhere) -> None:
    broadcast.signed_out(event.user_id)


def on_staff_role_changed(event: community_events.StaffRoleChanged) -> None:
    broadcast.access_changed(event.user_id)


def register() -> None:
    for topic in (community_events.MemberLeft, community_events.MemberRemoved):
        events.subscribe(topic, on_membership_ended)
    events.subscribe(community_events.SignedOutEverywhere, on_signed_out_everywhere)
    events.subscribe(community_events.StaffRoleChanged, on_staff_role_changed)
