"""Writes for people and communities, one sub-module per seam:

* ``signin``: phone codes (验证码) and the member's profile; ``challenge``: the question asked of a busy network;
* ``consent``: acceptances of the privacy notice (a record per version accepted);
* ``joining``: invitations, joining through the gate, questionnaire scoring, application review;
* ``membership``: leaving, removal, community roles;
* ``pickup_points``: pickup points (自提点) and a member's default one;
* ``settings``: a community's positioning, capacity and join gate;
* ``creation``: a new community with its leaders and first pickup points;
* ``flags``: the refund-abuse blacklist (售后黑名单), flagging and unflagging a person in a brand.

Other apps, the demo and the tests call them through this package (``from community import services``);
the names below are its public face.
"""

from .challenge import Challenge, signin_challenge_check, signin_challenge_new
from .consent import current_notice_version, privacy_consent_record
from .creation import (
    CommunityCreated,
    CommunityInput,
    CommunityInvalid,
    PickupPointInput,
    community_create,
)
from .flags import FlagRefused, person_flag, person_unflag
from .joining import (
    INVITATION_ALPHABET,
    INVITATION_CODE_LENGTH,
    AlreadyMember,
    AnswersInvalid,
    ApplicationExists,
    CommunityClosed,
    CommunityFull,
    InvitationInvalid,
    JoinRefused,
    JoinResult,
    ReviewRefused,
    application_review,
    community_join,
    invitation_create,
    invitation_personal_get_or_create,
    invitations_personal_ensure,
    referral_code,
    score_answers,
)
from .membership import (
    MembershipChangeRefused,
    membership_leave,
    membership_remove,
    membership_role_set,
)
from .pickup_points import (
    PickupPointInvalid,
    membership_pickup_point_set,
    pickup_point_save,
)
from .settings import (
    CommunitySettingsInvalid,
    community_settings_update,
)
from .signin import (
    CODE_LENGTH,
    CODE_TTL,
    MAX_ATTEMPTS,
    AccountUnavailable,
    ChallengeRequired,
    CodeExpired,
    CodeInvalid,
    CodeUsed,
    InvalidPhone,
    PhoneLocked,
    ProfileInvalid,
    SentCode,
    SMSUnavailable,
    TooManyRequests,
    member_profile_update,
    phone_code_send,
    phone_code_verify,
)

__all__ = [
    "CODE_LENGTH",
    "CODE_TTL",
    "INVITATION_ALPHABET",
    "INVITATION_CODE_LENGTH",
    "MAX_ATTEMPTS",
    "AccountUnavailable",
    "AlreadyMember",
    "AnswersInvalid",
    "ApplicationExists",
    "Challenge",
    "ChallengeRequired",
    "CodeExpired",
    "CodeInvalid",
    "CodeUsed",
    "CommunityClosed",
    "CommunityCreated",
    "CommunityFull",
    "CommunityInput",
    "CommunityInvalid",
    "CommunitySettingsInvalid",
    "FlagRefused",
    "InvalidPhone",
    "InvitationInvalid",
    "JoinRefused",
    "JoinResult",
    "MembershipChangeRefused",
    "PhoneLocked",
    "PickupPointInput",
    "PickupPointInvalid",
    "ProfileInvalid",
    "ReviewRefused",
    "SMSUnavailable",
    "SentCode",
    "TooManyRequests",
    "application_review",
    "community_create",
    "community_join",
    "community_settings_update",
    "current_notice_version",
    "invitation_create",
    "invitation_personal_get_or_create",
    "invitations_personal_ensure",
    "member_profile_update",
    "membership_leave",
    "membership_pickup_point_set",
    "membership_remove",
    "membership_role_set",
    "person_flag",
    "person_unflag",
    "phone_code_send",
    "phone_code_verify",
    "pickup_point_save",
    "privacy_consent_record",
    "referral_code",
    "score_answers",
    "signin_challenge_check",
    "signin_challenge_new",
]
