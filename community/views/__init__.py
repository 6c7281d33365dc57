"""Community pages, one sub-module per area; ``community.urls`` names them from here."""

from .join import (
    leader_community_applications,
    member_join,
    member_join_status,
    ops_community_applications,
)
from .management import (
    leader_community_members,
    ops_community_detail,
    ops_community_list,
    ops_community_new,
    ops_member_detail,
    ops_pickup_points,
)
from .member import (
    member_home,
    member_leave,
    member_pickup_point,
    member_profile,
)
from .signin import (
    member_login,
)

__all__ = [
    "leader_community_applications",
    "leader_community_members",
    "member_home",
    "member_join",
    "member_join_status",
    "member_leave",
    "member_login",
    "member_pickup_point",
    "member_profile",
    "ops_community_applications",
    "ops_community_detail",
    "ops_community_list",
    "ops_community_new",
    "ops_member_detail",
    "ops_pickup_points",
]
