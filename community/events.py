"""Events the community app publishes (people joining, leaving and posting in communities)."""

from __future__ import annotations

from groupbuy import events


@events.event("community.member_joined")
class MemberJoined(events.DomainEvent):
    membership_id: int
    user_id: int
    community_id: int
    invited_by_id: int | None = None
    source: str = "join"  # "join" (own request or approval), "import" (roster import), "creation" (a founding leader)


@events.event("community.invitation_created")
class InvitationCreated(events.DomainEvent):
    """A leader or operator made a one-off invitation code (邀请码); its uses are ``MemberJoined.invited_by_id``."""

    invitation_id: int
    community_id: int
    user_id: int  # the inviter
    max_uses: int | None = None


@events.event("community.application_submitted")
class ApplicationSubmitted(events.DomainEvent):
    application_id: int
    community_id: int


@events.event("community.member_left")
class MemberLeft(events.DomainEvent):
    membership_id: int
    user_id: int
    community_id: int


@events.event("community.member_removed")
class MemberRemoved(events.DomainEvent):
    membership_id: int
    user_id: int
    community_id: int
    removed_by_id: int


@events.event("community.signed_out_everywhere")
class SignedOutEverywhere(events.DomainEvent):
    """Every session of the user ended at once (在所有设备上退出登录): what they have open must close too."""

    user_id: int


@events.event("community.staff_role_changed")
class StaffRoleChanged(events.DomainEvent):
    """A team member's role changed (团队): what they have open was opened under the old one."""

    user_id: int
    role: str


@events.event("community.role_changed")
class RoleChanged(events.DomainEvent):
    membership_id: int
    community_id: int
    role: str


@events.event("community.post_published")
class PostPublished(events.DomainEvent):
    post_id: int
    community_id: int


@events.event("community.roster_imported")
class RosterImported(events.DomainEvent):
    community_id: int
    imported_by_id: int
    filename: str
    new_members: int
    merged_users: int
    already_members: int
    duplicates: int
    bad_rows: int


@events.event("community.person_flagged")
class PersonFlagged(events.DomainEvent):
    """An operator flagged a person for refund abuse (售后黑名单) across the brand's communities."""

    flag_id: int
    brand_id: int
    user_id: int
    flagged_by_id: int


@events.event("community.person_unflagged")
class PersonUnflagged(events.DomainEvent):
    flag_id: int
    brand_id: int
    user_id: int
    unflagged_by_id: int
