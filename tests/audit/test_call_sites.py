"""Every audited action leaves exactly its entry (actor, action, target, before/after, place) in the same
transaction as the change, and none when the action is refused or rolls back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales import services as aftersales_services
from catalogue import services as catalogue_services
from catalogue.models import SKU
from cdp import member360
from community.models import Membership
from community.services import flags, membership
from fission import sellers
from fulfillment import console
from fulfillment.models import PointVerifier
from groupbuy import clock
from groupbuy.audit import place
from groupbuy.audit.models import Entry
from groupbuy.errors import DomainError
from jielong import builder, ledger
from jielong.builder import CampaignInput, ItemInput
from jielong.models import Campaign
from tests import factories as f
from tests.aftersales.orders import paid_orders

pytestmark = pytest.mark.django_db
IP, BROWSER = "198.51.100.7", "Mozilla/5.0 (audit test)"


@pytest.fixture(autouse=True)
def from_a_browser():
    with place.place(ip=IP, user_agent=BROWSER):
        yield


def only(action: str) -> Entry:
    (entry,) = Entry.objects.filter(action=action)
    assert (entry.ip, entry.user_agent, entry.via) == (IP, BROWSER, "")
    return entry


def none_of(action: str) -> bool:
    return not Entry.objects.filter(action=action).exists()


def refused(call, **kwargs) -> None:
    with pytest.raises(DomainError):
        call(**kwargs)


# --- people and roles ------------------------------------------------------------------------------------------


def test_showing_a_full_phone_is_an_entry_with_the_number_masked():
    brand = f.brand()
    viewer = f.operator(nickname="林峰", brand=brand)
    member = f.member(phone="+8613812345678", nickname="张阿姨")
    refused(member360.phone_unmask, viewer=f.host(), member=member)
    assert none_of("cdp.phone_unmasked")

    assert member360.phone_unmask(viewer=viewer, member=member) == "+8613812345678"

    entry = only("cdp.phone_unmasked")
    assert (entry.actor_id, entry.actor_label, entry.brand_id) == (viewer.pk, "林峰", brand.pk)
    assert (entry.target_type, entry.target_id, entry.target_label) == ("community.user", str(member.pk), "张阿姨")
    row = Entry.objects.filter(pk=entry.pk).values().get()
    assert not any("13812345678" in str(value) for value in row.values())


def test_a_community_role_change_records_the_role_before_and_after():
    operator = f.operator()
    home = f.community()
    joined = f.membership(user=f.member(), community=home)
    left = f.membership(user=f.member(), community=home, status=Membership.Status.LEFT)
    refused(membership.membership_role_set, by=operator, membership=left, role="koc")
    assert none_of("community.role_changed")

    membership.membership_role_set(by=operator, membership=joined, role="koc")
    membership.membership_role_set(by=operator, membership=joined, role="koc")  # no change, no entry

    entry = only("community.role_changed")
    assert (entry.actor_id, entry.target_type, entry.target_id, entry.brand_id) == (
        operator.pk,
        "community.membership",
        str(joined.pk),
        home.brand_id,
    )
    assert (entry.before, entry.after) == ({"role": "member"}, {"role": "koc"})


def test_flagging_and_unflagging_are_entries_with_the_reason():
    brand = f.brand()
    operator = f.operator()
    person = f.member(nickname="李先生")
    refused(flags.person_flag, by=operator, brand=brand, user=f.operator(), reason="x")
    assert none_of("community.person_flagged")

    flag = flags.person_flag(by=operator, brand=brand, user=person, reason="反复仅退款 13812345678")
    refused(flags.person_flag, by=operator, brand=brand, user=person, reason="again")
    flags.person_unflag(by=operator, flag=flag, reason="核实无误")
    refused(flags.person_unflag, by=operator, flag=flag, reason="twice")

    flagged, lifted = only("community.person_flagged"), only("community.person_unflagged")
    assert (flagged.target_id, flagged.brand_id, flagged.note) == (str(person.pk), brand.pk, "反复仅退款 138****5678")
    assert (flagged.before, flagged.after) == ({"flagged": False}, {"flagged": True})
    assert (lifted.actor_id, lifted.note, lifted.after) == (operator.pk, "核实无误", {"flagged": False})


def test_making_and_removing_a_pickup_verifier_are_entries():
    operator = f.operator()
    home = f.community()
    point = f.pickup_point(community=home)
    helper = f.member(phone="+8613900001111")
    f.membership(user=helper, community=home)
    refused(console.verifier_add, by=operator, point=point, phone="13900009999")
    assert none_of("fulfillment.verifier_added")

    console.verifier_add(by=operator, point=point, phone="13900001111")
    added = only("fulfillment.verifier_added")
    assert (added.target_id, added.brand_id, added.after) == (
        str(helper.pk),
        home.brand_id,
        {"verifier_at": point.name},
    )

    console.verifier_remove(by=operator, verifier=PointVerifier.objects.get())
    removed = only("fulfillment.verifier_removed")
    assert (removed.target_id, removed.before, removed.after) == (str(helper.pk), {"verifier_at": point.name}, {})


def test_inviting_and_stopping_a_help_seller_are_entries():
    given = f.open_campaign(members=1)
    operator = f.operator()
    refused(sellers.help_seller_invite, campaign=given.campaign, by=given.members[0], user=given.members[0])
    assert none_of("fission.help_seller_invited")

    seller = sellers.help_seller_invite(campaign=given.campaign, by=operator, user=given.members[0])
    sellers.help_seller_deactivate(help_seller=seller, by=operator)
    sellers.help_seller_deactivate(help_seller=seller, by=operator)  # already stopped: no entry

    invited, stopped = only("fission.help_seller_invited"), only("fission.help_seller_deactivated")
    assert (invited.target_type, invited.target_id, invited.brand_id) == (
        "fission.helpseller",
        str(seller.pk),
        given.campaign.brand_id,
    )
    assert (stopped.before, stopped.after) == ({"active": True}, {"active": False})


# --- prices and stock ------------------------------------------------------------------------------------------


def _sku_input(**changes) -> catalogue_services.SKUInput:
    values = {"code": "POTATO-5", "spec": {"规格": "5斤/箱"}, "list_price_fen": 3990, "stock": 50, "unit": "箱"}
    return catalogue_services.SKUInput(**{**values, **changes})


def test_a_price_change_records_only_the_price_and_other_edits_record_nothing():
    operator = f.operator()
    sku = f.sku(price_fen=3990)
    product = sku.product
    catalogue_services.sku_save(by=operator, product=product, data=_sku_input(code=sku.code, unit="袋"), sku=sku)
    refused(catalogue_services.sku_save, by=operator, product=product, data=_sku_input(list_price_fen=-1), sku=sku)
    assert none_of("catalogue.price_changed")

    sku.refresh_from_db()
    catalogue_services.sku_save(
        by=operator, product=product, data=_sku_input(code=sku.code, list_price_fen=2990), sku=sku
    )

    entry = only("catalogue.price_changed")
    assert (entry.actor_id, entry.target_type, entry.target_id, entry.brand_id) == (
        operator.pk,
        "catalogue.sku",
        str(sku.pk),
        product.supplier.brand_id,
    )
    assert (entry.before, entry.after) == ({"list_price_fen": 3990}, {"list_price_fen": 2990})


def test_a_stock_adjustment_records_each_sku_before_and_after_and_a_refused_one_nothing():
    operator = f.operator()
    greens, eggs = f.sku(stock=10), f.sku(stock=5)
    refused(catalogue_services.stock_adjust, by=operator, changes={greens.pk: 3, eggs.pk: -6}, reason="盘点")
    assert none_of("catalogue.stock_changed")
    assert SKU.objects.get(pk=greens.pk).stock == 10

    catalogue_services.stock_adjust(by=operator, changes={greens.pk: 3, eggs.pk: -2}, reason="盘点")

    entries = {e.target_id: e for e in Entry.objects.filter(action="catalogue.stock_changed")}
    assert {k: (e.before, e.after, e.note) for k, e in entries.items()} == {
        str(greens.pk): ({"stock": 10}, {"stock": 13}, "盘点"),
        str(eggs.pk): ({"stock": 5}, {"stock": 3}, "盘点"),
    }
    assert all((e.ip, e.actor_id) == (IP, operator.pk) for e in entries.values())


def _campaign_input(campaign: Campaign, *, price_fen: int, title: str = "") -> CampaignInput:
    item = campaign.items.get()
    return CampaignInput(
        title=title or campaign.title,
        story="",
        closes_at=timezone.localtime(campaign.closes_at + timedelta(hours=1)),
        opens_at=campaign.opens_at,
        community_ids=tuple(campaign.communities.values_list("pk", flat=True)),
        items=(ItemInput(sku_id=item.sku_id, price_fen=price_fen, perk_price_fen=None, per_member_limit=5),),
        perk_limit=0,
        group_threshold=campaign.group_threshold,
        max_orders=None,
        min_spend_fen=0,
        koc_early_minutes=0,
        delivery_note="",
        replay_url="",
        payment_method="manual",
    )


def test_a_jielong_item_price_change_is_an_entry_for_the_campaign():
    given = f.open_campaign(members=0, perk_limit=0)
    operator = f.operator()
    campaign = given.campaign
    entries = Entry.objects.filter(action="jielong.item_price_changed")
    builder.campaign_update(campaign_id=campaign.pk, data=_campaign_input(campaign, price_fen=1590), by=operator)
    dropped = entries.get()  # the first-N price dropped
    assert (dropped.before, dropped.after) == (
        {f"{given.sku} · perk price": "¥12.72"},
        {f"{given.sku} · perk price": "—"},
    )
    builder.campaign_update(
        campaign_id=campaign.pk, data=_campaign_input(campaign, price_fen=1590, title="新标题"), by=operator
    )
    assert entries.count() == 1  # the same prices again: no entry

    builder.campaign_update(campaign_id=campaign.pk, data=_campaign_input(campaign, price_fen=1290), by=operator)

    entry = entries.order_by("-pk").first()
    label = f"{given.sku} · price"
    assert (entry.target_type, entry.target_id, entry.brand_id) == (
        "jielong.campaign",
        str(campaign.pk),
        campaign.brand_id,
    )
    assert (entry.before, entry.after) == ({label: "¥15.90"}, {label: "¥12.90"})
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)
    with pytest.raises(builder.CampaignInvalid):
        builder.campaign_update(campaign_id=campaign.pk, data=_campaign_input(campaign, price_fen=990), by=operator)
    assert entries.count() == 2


# --- commissions -----------------------------------------------------------------------------------------------


def test_commission_rules_record_what_changed():
    given = f.open_campaign(members=1)
    operator = f.operator()
    refused(
        sellers.rule_set,
        campaign=given.campaign,
        kind="percent",
        rate_bp=10001,
        fixed_fen=0,
        leader_rate_bp=None,
        by=operator,
    )
    assert none_of("fission.commission_rule_changed")

    sellers.rule_set(
        campaign=given.campaign, kind="percent", rate_bp=500, fixed_fen=0, leader_rate_bp=None, by=operator
    )
    sellers.rule_set(
        campaign=given.campaign, kind="percent", rate_bp=800, fixed_fen=0, leader_rate_bp=None, by=operator
    )
    first, second = Entry.objects.filter(action="fission.commission_rule_changed").order_by("pk")
    assert (first.target_type, first.target_id, first.brand_id) == (
        "jielong.campaign",
        str(given.campaign.pk),
        given.campaign.brand_id,
    )
    assert first.before == {} and first.after == {
        "kind": "percent",
        "rate_bp": 500,
        "fixed_fen": 0,
        "leader_rate_bp": None,
    }
    assert (second.before, second.after) == ({"rate_bp": 500}, {"rate_bp": 800})

    seller = sellers.help_seller_invite(campaign=given.campaign, by=operator, user=given.members[0])
    sellers.help_seller_rule_set(help_seller=seller, kind="percent", rate_bp=1000, fixed_fen=None, by=operator)
    own = Entry.objects.filter(action="fission.commission_rule_changed", target_type="fission.helpseller").get()
    assert (own.before, own.after) == ({"kind": "", "rate_bp": None}, {"kind": "percent", "rate_bp": 1000})

    sellers.brand_defaults_set(brand=f.brand(), attribution_days=14, leader_rate_bp=300, by=operator)
    defaults = only("fission.brand_commission_changed")
    assert defaults.after == {"attribution_days": 14, "leader_rate_bp": 300}


# --- money back ------------------------------------------------------------------------------------------------


def test_a_refund_records_the_order_before_and_after_once_and_a_refused_one_nothing():
    made = paid_orders(members=1)
    order = made.orders[0]
    refused(ledger.refund_issue, order=order, amount_fen=order.total_fen + 1, key="too-much", by=made.operator)
    assert none_of("jielong.refunded")

    ledger.refund_issue(order=order, amount_fen=500, key="req-1", by=made.operator, reason="少件")
    ledger.refund_issue(order=order, amount_fen=500, key="req-1", by=made.operator, reason="少件")  # a retry

    entry = only("jielong.refunded")
    assert (entry.actor_id, entry.target_type, entry.target_id, entry.brand_id, entry.note) == (
        made.operator.pk,
        "jielong.order",
        str(order.pk),
        made.campaign.brand_id,
        "少件",
    )
    assert entry.target_label == f"{made.campaign.title} #{order.seq}"
    assert (entry.before, entry.after) == ({"refunded_fen": 0}, {"refunded_fen": 500})


def test_store_credit_is_an_entry():
    made = paid_orders(members=1)
    ledger.credit_issue(order=made.orders[0], amount_fen=300, key="c-1", by=made.operator, reason="补偿")
    entry = only("jielong.credit_issued")
    assert (entry.before, entry.after, entry.note) == ({"credit_fen": 0}, {"credit_fen": 300}, "补偿")


def test_a_bulk_refund_records_itself_and_each_order_and_a_stale_one_nothing():
    made = paid_orders(members=2)
    preview = aftersales_services.bulk_refund_preview(campaign_id=made.campaign.pk)
    refused(
        aftersales_services.bulk_refund_confirm,
        by=made.operator,
        key="stale",
        expected_total_fen=preview.total_fen - 1,
        reason="冷链故障",
        campaign_id=made.campaign.pk,
    )
    assert none_of("aftersales.bulk_refunded") and none_of("jielong.refunded")

    aftersales_services.bulk_refund_confirm(
        by=made.operator,
        key="k1",
        expected_total_fen=preview.total_fen,
        reason="冷链故障",
        campaign_id=made.campaign.pk,
    )

    bulk = only("aftersales.bulk_refunded")
    assert (bulk.after, bulk.note, bulk.brand_id) == (
        {"orders": 2, "total_fen": preview.total_fen},
        "冷链故障",
        made.campaign.brand_id,
    )
    refunds = Entry.objects.filter(action="jielong.refunded")
    assert sorted(refunds.values_list("target_id", flat=True)) == sorted(str(o.pk) for o in made.orders)
    assert {e.after["payment_status"] for e in refunds} == {"refunded"}


def test_a_jielong_that_did_not_form_refunds_as_the_system_with_one_entry():
    from jielong.services import campaign_close

    made = paid_orders(members=2)
    Campaign.objects.filter(pk=made.campaign.pk).update(
        group_threshold=99, status="open", closes_at=clock.now() - timedelta(minutes=1)
    )
    with place.place(via="system"):
        campaign_close(campaign_id=made.campaign.pk)
    (entry,) = Entry.objects.filter(action="jielong.failed_campaign_refunded")
    assert (entry.actor_id, entry.via, entry.target_id, entry.brand_id) == (
        None,
        "system",
        str(made.campaign.pk),
        made.campaign.brand_id,
    )
    assert entry.after == {"total_fen": sum(o.total_fen for o in made.orders)}


def test_a_new_community_records_its_leaders_roles_and_a_refused_one_nothing():
    from community import services as community_services

    operator = f.operator()

    def data(**fields):
        return community_services.CommunityInput(
            **{
                "name": "河畔社群",
                "slug": "riverside",
                "positioning": "好好吃饭",
                "capacity": 300,
                "join_gate": "open",
                "leader_phones": ("13800138100",),
                "pickup_points": (
                    community_services.PickupPointInput(name="河畔1栋", address="河畔路1号", capacity=120),
                ),
                **fields,
            }
        )

    refused(community_services.community_create, by=operator, brand=f.brand(), data=data(capacity=0))
    assert none_of("community.role_changed")

    created = community_services.community_create(by=operator, brand=f.brand(), data=data())

    entry = only("community.role_changed")
    leader = Membership.objects.get(community=created.community, role="leader")
    assert (entry.actor_id, entry.target_id, entry.brand_id, entry.before, entry.after) == (
        operator.pk,
        str(leader.pk),
        created.community.brand_id,
        {},
        {"role": "leader"},
    )
    assert "138****8100" in entry.target_label and "13800138100" not in entry.target_label
