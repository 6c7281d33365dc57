"""Who may see a campaign: one answer for the member page, the JSON API and the live-progress
WebSocket (a campaign's snapshot names its latest joiners and what they took).

- staff (operators, hosts and their assistants) see every campaign of their brand, drafts included
  (another brand's is "not found", as in the console);
- an active member of one of the campaign's communities sees it once it is no longer a draft;
- nobody else: an unknown campaign, or a draft for a member, is "not found" (a draft's existence is
  not revealed); a campaign of other communities is "forbidden".
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from community.access import may_see_brand
from community.models import Membership
from groupbuy.errors import DomainError

from .models import Campaign


class CampaignNotFound(DomainError):
    pass


class CampaignForbidden(DomainError):
    pass


def is_staff(user) -> bool:
    return bool(user is not None and user.is_authenticated and (user.is_operator or user.is_host))


def campaign_access(*, campaign_id: int, user) -> Campaign:
    """The campaign if ``user`` may see it; raises ``CampaignNotFound`` (404) or ``CampaignForbidden``
    (403, also for anonymous and inactive users)."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    staff = is_staff(user)
    if staff and campaign is not None and not may_see_brand(user=user, brand=campaign.brand_id):
        campaign = None
    if campaign is None or (campaign.status == Campaign.Status.DRAFT and not staff):
        raise CampaignNotFound(_("This jielong does not exist."), code="not_found")
    if staff:
        return campaign
    if (
        user is None
        or not user.is_authenticated
        or not user.is_active
        or not Membership.objects.filter(
            user=user, community__campaigns__pk=campaign_id, status=Membership.Status.ACTIVE
        ).exists()
    ):
        raise CampaignForbidden(_("This jielong is only open to members of its communities."), code="not_member")
    return campaign


def member_campaign_access(*, campaign_id: int, user) -> tuple[Campaign, Membership]:
    """The member page's answer in two queries: the campaign (not a draft) and the active membership a join
    would use (the first of ``user``'s in the campaign's communities, ``services.order_join``'s choice). The
    page is for members, so staff need a membership too. Raises like ``campaign_access``."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status == Campaign.Status.DRAFT:
        raise CampaignNotFound(_("This jielong does not exist."), code="not_found")
    membership = None
    if user is not None and user.is_authenticated and user.is_active:
        membership = (
            Membership.objects.filter(user=user, community__campaigns__pk=campaign_id, status=Membership.Status.ACTIVE)
            .select_related("community")
            .order_by("pk")
            .first()
        )
    if membership is None:
        raise CampaignForbidden(_("This jielong is only open to members of its communities."), code="not_member")
    return campaign, membership
