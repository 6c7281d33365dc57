"""Inviting help-sellers (帮卖) to a campaign and setting its commission rules.

Rates are basis points (1 % = 100 bp) of what the member paid for the item; fixed commissions are fen per unit.
Every refusal is a ``CommissionRefused`` with the reason for the operator, and nothing is written.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils.translation import gettext as _

from community.models import Brand, User
from community.phones import normalize_phone
from groupbuy import audit, clock, events
from groupbuy.errors import DomainError
from groupbuy.money import format_fen
from jielong.models import Campaign, CampaignItem, PriceTier

from . import access
from . import events as fission_events
from .models import BrandCommission, CommissionRule, HelpSeller, RuleKind

FULL_BP = 10000


class CommissionRefused(DomainError):
    pass


def _operator_or_refuse(by: User) -> None:
    if not access.may_manage_commissions(user=by):
        raise CommissionRefused(_("Only operators can manage help-sellers and commissions."), code="not_allowed")


def brand_defaults(brand_id: int) -> BrandCommission:
    """The brand's window and leader rate (the settings' defaults until an operator saves them)."""
    found = BrandCommission.objects.filter(brand_id=brand_id).first()
    return found or BrandCommission(
        brand_id=brand_id,
        attribution_days=settings.FISSION_ATTRIBUTION_DAYS,
        leader_rate_bp=settings.FISSION_LEADER_RATE_BP,
    )


def campaign_rule(campaign_id: int) -> CommissionRule:
    """The campaign's rule (no commission until an operator sets one)."""
    return CommissionRule.objects.filter(campaign_id=campaign_id).first() or campaign_rule_default(campaign_id)


def campaign_rules(campaign_ids) -> dict[int, CommissionRule]:
    """``campaign_rule`` of several campaigns in one read."""
    found = {rule.campaign_id: rule for rule in CommissionRule.objects.filter(campaign_id__in=campaign_ids)}
    return {pk: found.get(pk) or campaign_rule_default(pk) for pk in campaign_ids}


def campaign_rule_default(campaign_id: int) -> CommissionRule:
    return CommissionRule(campaign_id=campaign_id, kind=RuleKind.PERCENT, rate_bp=0, fixed_fen=0)


def leader_rate_bp(rule: CommissionRule, defaults: BrandCommission) -> int:
    return defaults.leader_rate_bp if rule.leader_rate_bp is None else rule.leader_rate_bp


def _lowest_price_fen(campaign_id: int) -> int | None:
    items = CampaignItem.objects.filter(campaign_id=campaign_id)
    prices = [
        items.aggregate(m=Min("price_fen"))["m"],
        items.aggregate(m=Min("perk_price_fen"))["m"],
        PriceTier.objects.filter(item__campaign_id=campaign_id).aggregate(m=Min("price_fen"))["m"],
    ]
    prices = [p for p in prices if p is not None]
    return min(prices) if prices else None


def _check_rate(rate_bp: int | None, *, leader_bp: int = 0) -> None:
    if rate_bp is None:
        return
    if not isinstance(rate_bp, int) or rate_bp < 0:
        raise CommissionRefused(_("Enter a commission of 0 or more."), code="negative")
    if rate_bp > FULL_BP:
        raise CommissionRefused(_("A commission cannot be more than 100% of the item price."), code="over_100")
    if rate_bp + leader_bp > FULL_BP:
        raise CommissionRefused(
            _("Together with the leader's %(leader)s%%, this commission would be more than 100%% of the item price.")
            % {"leader": _percent(leader_bp)},
            code="over_100",
        )


def _check_fixed(fixed_fen: int | None, *, campaign_id: int, leader_bp: int = 0) -> None:
    if fixed_fen is None:
        return
    if not isinstance(fixed_fen, int) or fixed_fen < 0:
        raise CommissionRefused(_("Enter a commission of 0 or more."), code="negative")
    lowest = _lowest_price_fen(campaign_id)
    if lowest is not None and fixed_fen * FULL_BP > lowest * (FULL_BP - leader_bp):
        raise CommissionRefused(
            _(
                "A fixed commission cannot be more than the item price left after the leader's share (lowest price %(price)s)."
            )
            % {"price": format_fen(lowest)},
            code="over_100",
        )


def _percent(bp: int) -> str:
    return f"{bp / 100:g}"


def rule_set(
    *,
    campaign: Campaign,
    kind: str,
    rate_bp: int,
    fixed_fen: int,
    leader_rate_bp: int | None,
    by: User,
) -> CommissionRule:
    """Set a campaign's commission: the help-sellers' default and the leaders' pickup-point rate (None: the
    brand's). Refused (nothing written) over 100 %, or when a help-seller's and the leader's shares together
    would be more than the item price."""
    _operator_or_refuse(by)
    if kind not in RuleKind.values:
        raise CommissionRefused(_("Choose how the commission is counted."), code="kind")
    _check_rate(leader_rate_bp)
    leader_bp = leader_rate_bp if leader_rate_bp is not None else brand_defaults(campaign.brand_id).leader_rate_bp
    if kind == RuleKind.PERCENT:
        _check_rate(rate_bp, leader_bp=leader_bp)
        fixed_fen = 0
    else:
        _check_fixed(fixed_fen, campaign_id=campaign.pk, leader_bp=leader_bp)
        rate_bp = 0
    for seller in HelpSeller.objects.filter(campaign=campaign).exclude(kind=""):
        # Their own rules must still fit beside the (new) leader rate.
        if seller.kind == RuleKind.PERCENT:
            _check_rate(seller.rate_bp, leader_bp=leader_bp)
        else:
            _check_fixed(seller.fixed_fen, campaign_id=campaign.pk, leader_bp=leader_bp)
    fields = ("kind", "rate_bp", "fixed_fen", "leader_rate_bp")
    with transaction.atomic():
        earlier = CommissionRule.objects.select_for_update().filter(campaign=campaign).values(*fields).first()
        rule, _created = CommissionRule.objects.update_or_create(
            campaign=campaign,
            defaults={
                "kind": kind,
                "rate_bp": rate_bp,
                "fixed_fen": fixed_fen,
                "leader_rate_bp": leader_rate_bp,
                "updated_at": clock.now(),
                "updated_by": by,
            },
        )
        events.publish(
            fission_events.CommissionRuleSet(
                campaign_id=campaign.pk,
                help_seller_id=None,
                kind=kind,
                rate_bp=rate_bp,
                fixed_fen=fixed_fen,
                leader_rate_bp=leader_rate_bp,
                by=by.pk,
            )
        )
        audit.record(
            "fission.commission_rule_changed",
            actor=by,
            target=campaign,
            brand_id=campaign.brand_id,
            before=earlier or {},
            after={name: getattr(rule, name) for name in fields},
        )
    return rule


def help_seller_rule_set(*, help_seller: HelpSeller, kind: str, rate_bp: int | None, fixed_fen: int | None, by: User):
    """A help-seller's own commission (``kind`` "": back to the campaign's default)."""
    _operator_or_refuse(by)
    campaign = help_seller.campaign
    leader_bp = leader_rate_bp(campaign_rule(campaign.pk), brand_defaults(campaign.brand_id))
    if kind == "":
        rate_bp = fixed_fen = None
    elif kind == RuleKind.PERCENT:
        if rate_bp is None:
            raise CommissionRefused(_("Enter the commission rate."), code="rate")
        _check_rate(rate_bp, leader_bp=leader_bp)
        fixed_fen = None
    elif kind == RuleKind.FIXED:
        if fixed_fen is None:
            raise CommissionRefused(_("Enter the commission per unit."), code="fixed")
        _check_fixed(fixed_fen, campaign_id=campaign.pk, leader_bp=leader_bp)
        rate_bp = None
    else:
        raise CommissionRefused(_("Choose how the commission is counted."), code="kind")
    with transaction.atomic():
        before = (
            HelpSeller.objects.select_for_update()
            .filter(pk=help_seller.pk)
            .values("kind", "rate_bp", "fixed_fen")
            .get()
        )
        HelpSeller.objects.filter(pk=help_seller.pk).update(kind=kind, rate_bp=rate_bp, fixed_fen=fixed_fen)
        audit.record(
            "fission.commission_rule_changed",
            actor=by,
            target=help_seller,
            brand_id=campaign.brand_id,
            before=before,
            after={"kind": kind, "rate_bp": rate_bp, "fixed_fen": fixed_fen},
        )
        events.publish(
            fission_events.CommissionRuleSet(
                campaign_id=campaign.pk,
                help_seller_id=help_seller.pk,
                kind=kind,
                rate_bp=rate_bp or 0,
                fixed_fen=fixed_fen or 0,
                leader_rate_bp=None,
                by=by.pk,
            )
        )
    help_seller.kind, help_seller.rate_bp, help_seller.fixed_fen = kind, rate_bp, fixed_fen
    return help_seller


def brand_defaults_set(*, brand: Brand, attribution_days: int, leader_rate_bp: int, by: User) -> BrandCommission:
    _operator_or_refuse(by)
    if not isinstance(attribution_days, int) or not 1 <= attribution_days <= 90:
        raise CommissionRefused(_("The attribution window is 1 to 90 days."), code="window")
    _check_rate(leader_rate_bp)
    fields = ("attribution_days", "leader_rate_bp")
    with transaction.atomic():
        before = BrandCommission.objects.select_for_update().filter(brand=brand).values(*fields).first()
        found, _created = BrandCommission.objects.update_or_create(
            brand=brand, defaults={"attribution_days": attribution_days, "leader_rate_bp": leader_rate_bp}
        )
        audit.record(
            "fission.brand_commission_changed",
            actor=by,
            target=brand,
            brand_id=brand.pk,
            before=before or {},
            after={name: getattr(found, name) for name in fields},
        )
    return found


def _new_token() -> str:
    return secrets.token_urlsafe(9)[:12]


def help_seller_invite(*, campaign: Campaign, by: User, user: User | None = None, phone: str = "") -> HelpSeller:
    """Invite a person (a member: a leader of another community, a KOC) to sell ``campaign``, found by phone or
    given. Inviting someone again re-activates their link (the same token)."""
    _operator_or_refuse(by)
    if user is None:
        try:
            e164 = normalize_phone(phone)
        except ValidationError:
            raise CommissionRefused(_("Enter a valid mobile phone number."), code="phone") from None
        user = User.objects.filter(phone=e164).first()
        if user is None:
            raise CommissionRefused(
                _("No one has signed up with %(phone)s yet: ask them to sign in once first.") % {"phone": phone},
                code="unknown",
            )
    if user.role != User.Role.MEMBER or not user.is_active:
        raise CommissionRefused(_("Only members can be help-sellers."), code="not_member")
    if campaign.status in (Campaign.Status.FAILED, Campaign.Status.CANCELLED):
        raise CommissionRefused(
            _("This jielong was cancelled or did not form: it takes no help-sellers."), code="ended"
        )
    existing = HelpSeller.objects.filter(campaign=campaign, user=user).first()
    if existing is not None:
        if not existing.is_active:
            with transaction.atomic():
                HelpSeller.objects.filter(pk=existing.pk).update(is_active=True)
                audit.record(
                    "fission.help_seller_invited",
                    actor=by,
                    target=existing,
                    brand_id=campaign.brand_id,
                    before={"active": False},
                    after={"active": True},
                )
            existing.is_active = True
        return existing
    now = clock.now()
    try:
        with transaction.atomic():
            seller = HelpSeller.objects.create(
                campaign=campaign, user=user, token=_new_token(), invited_at=now, invited_by=by
            )
            events.publish(
                fission_events.HelpSellerInvited(
                    help_seller_id=seller.pk, campaign_id=campaign.pk, user_id=user.pk, by=by.pk
                )
            )
            audit.record(
                "fission.help_seller_invited",
                actor=by,
                target=seller,
                brand_id=campaign.brand_id,
                after={"active": True},
            )
    except IntegrityError:
        return HelpSeller.objects.get(campaign=campaign, user=user)
    return seller


def help_seller_deactivate(*, help_seller: HelpSeller, by: User) -> None:
    """Stop a help-seller's link counting (orders already attributed keep their commission)."""
    _operator_or_refuse(by)
    with transaction.atomic():
        stopped = HelpSeller.objects.filter(pk=help_seller.pk, is_active=True).update(is_active=False)
        if stopped:
            audit.record(
                "fission.help_seller_deactivated",
                actor=by,
                target=help_seller,
                brand_id=help_seller.campaign.brand_id,
                before={"active": True},
                after={"active": False},
            )
    help_seller.is_active = False
