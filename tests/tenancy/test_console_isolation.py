"""Cross-brand isolation in the console (issue 16 item 5): nothing of brand A is visible to brand B's operator.

For every console list, brand B's operator sees none of A's rows and A's operator none of B's; an
installation-wide operator (no brand) sees both. Every object URL of A's answers 404 to B's operator (not 403:
that would confirm it exists), every POST on it is refused with 404 and changes nothing, and A's own operator
still opens it.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.urls import reverse

from community.models import Community, Membership
from jielong.models import Campaign, LedgerEntry
from tests.tenancy.world import BrandWorld, World, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


def _main(response) -> str:
    """The page's own content (the shell's title and nav name the site, not a brand's rows)."""
    return response.content.decode().partition("<main")[2]


def _as(client, user):
    client.force_login(user)
    return client


# --- lists: each operator sees their brand's rows only ------------------------------------------------------------

# (url name, query, what names a brand's row on the page)
LISTS = [
    ("community:ops-communities", "", lambda w: w.community.name),
    ("catalogue:ops-catalogue", "", lambda w: w.product.name),
    ("catalogue:ops-suppliers", "", lambda w: w.supplier.name),
    ("catalogue:ops-stock", "", lambda w: w.product.name),
    ("livestream:ops-sessions", "", lambda w: w.session.title),
    ("livestream:ops-live-calendar", "view=month", lambda w: w.upcoming.title),
    ("jielong:ops-campaigns", "", lambda w: w.campaign.title),
    ("jielong:ops-orders", "", lambda w: w.community.name),
    ("fulfillment:days", "", lambda w: w.campaign.title),
    ("fulfillment:warehouses", "", lambda w: w.warehouse.name),
    ("fulfillment:routes", "", lambda w: w.route.name),
    ("fulfillment:points", "", lambda w: w.point.name),
    ("feedback:ops-reviews", "", lambda w: w.review.text),
    ("aftersales:ops-queue", "", lambda w: w.community.name),
    ("aftersales:ops-blacklist", "", lambda w: w.flag.reason),
    ("aftersales:ops-blacklist-log", "", lambda w: w.flag.reason),
    ("bi:board", "", lambda w: w.community.name),
]


@pytest.mark.parametrize(("name", "query", "marker"), LISTS, ids=[n for n, _q, _m in LISTS])
def test_each_brands_operator_lists_only_their_brands_rows(client, world, name, query, marker):
    url = reverse(name) + (f"?{query}" if query else "")
    if name == "aftersales:ops-blacklist-log":
        _flag_log(world)

    seen_by_b = _main(_as(client, world.op_b).get(url))
    seen_by_a = _main(_as(client, world.op_a).get(url))
    seen_by_all = _main(_as(client, world.op_all).get(url))

    assert marker(world.b) in seen_by_b and marker(world.a) not in seen_by_b
    assert marker(world.a) in seen_by_a and marker(world.b) not in seen_by_a
    assert marker(world.a) in seen_by_all and marker(world.b) in seen_by_all


def _flag_log(world: World) -> None:
    from community.models import FlagLogEntry

    for w in (world.a, world.b):
        FlagLogEntry.objects.create(
            flag=w.flag,
            brand=w.brand,
            user=w.member,
            action=FlagLogEntry.Action.choices[0][0],
            actor=w.flag.flagged_by,
            at=w.flag.flagged_at,
            reason=w.flag.reason,
        )


# Pages about one brand at a time (a brand picker): a brand's operator gets their own brand, whatever the URL asks.
PER_BRAND = [
    ("cdp:segments", lambda w: w.segment.name),
    ("fulfillment:purchase", lambda w: w.supplier.name),
    ("livestream:ops-moderation", lambda w: w.brand.name),
    ("feedback:ops-nps", lambda w: w.brand.name),
    ("aftersales:ops-settings", lambda w: w.brand.name),
]


@pytest.mark.parametrize(("name", "marker"), PER_BRAND, ids=[n for n, _m in PER_BRAND])
def test_a_brand_picker_offers_a_brands_operator_their_brand_only(client, world, name, marker):
    url = f"{reverse(name)}?brand={world.a.brand.pk}"

    response = _as(client, world.op_b).get(url)
    seen_by_all = _main(_as(client, world.op_all).get(f"{reverse(name)}?brand={world.b.brand.pk}"))

    if response.status_code != 404:  # another brand asked for by name: 404, or the page of their own brand
        seen_by_b = _main(response)
        assert marker(world.b) in seen_by_b and marker(world.a) not in seen_by_b
    assert marker(world.b) in seen_by_all
    assert marker(world.a) not in _main(_as(client, world.op_b).get(reverse(name)))


def test_the_dashboard_counts_the_operators_brand_only(client, world):
    from analytics.selectors import ops_headline

    for_b = ops_headline(viewer=world.op_b)
    for_all = ops_headline(viewer=world.op_all)
    page = _main(_as(client, world.op_b).get(reverse("analytics:ops-dashboard")))

    assert (for_b.communities, for_b.active_members, for_b.upcoming_sessions, for_b.open_campaigns) == (1, 2, 1, 1)
    assert (for_all.communities, for_all.active_members, for_all.upcoming_sessions) == (2, 4, 2)
    assert for_b.last_session.session == world.b.session
    assert world.b.session.title in page and world.a.session.title not in page


# --- object URLs: 404 to another brand's operator, reachable by their own -------------------------------------------


def _urls(w: BrandWorld) -> dict[str, str]:
    day = w.delivery.delivery_date.isoformat()
    slug = w.community.slug
    membership = Membership.objects.get(user=w.member, community=w.community)
    return {
        "community": reverse("community:ops-community", args=[slug]),
        "member": reverse("community:ops-member", args=[slug, membership.pk]),
        "pickup-points": reverse("community:ops-pickup-points", args=[slug]),
        "applications": reverse("community:ops-applications", args=[slug]),
        "roster-import": reverse("community:ops-roster-import", args=[slug]),
        "questionnaire": reverse("community:ops-questionnaire", args=[slug]),
        "rhythm": reverse("community:ops-rhythm", args=[slug]),
        "rhythm-columns": reverse("community:ops-rhythm-columns", args=[slug]),
        "supplier": reverse("catalogue:ops-supplier", args=[w.supplier.pk]),
        "product": reverse("catalogue:ops-product", args=[w.product.pk]),
        "sku": reverse("catalogue:ops-sku", args=[w.sku.pk]),
        "series": reverse("livestream:ops-series-edit", args=[w.series.pk]),
        "session": reverse("livestream:ops-session", args=[w.session.pk]),
        "session-edit": reverse("livestream:ops-session-edit", args=[w.upcoming.pk]),
        "host-panel": reverse("livestream:host-panel", args=[w.session.pk]),
        "clips": reverse("highlights:ops-clips", args=[w.session.pk]),
        "campaign": reverse("jielong:ops-campaign", args=[w.campaign.pk]),
        "campaign-preview": reverse("jielong:ops-campaign-preview", args=[w.campaign.pk]),
        "campaign-orders": reverse("jielong:ops-campaign-orders", args=[w.campaign.pk]),
        "campaign-export": reverse("jielong:ops-campaign-export", args=[w.campaign.pk]),
        "day": reverse("fulfillment:day", args=[w.brand.pk, day]),
        "warehouse": reverse("fulfillment:warehouse", args=[w.warehouse.pk]),
        "route": reverse("fulfillment:route", args=[w.route.pk]),
        "point": reverse("fulfillment:point", args=[w.point.pk]),
        "supplier-links": reverse("fulfillment:supplier-links", args=[w.supplier.pk]),
        "doc-pick-list": reverse("fulfillment:doc-pick-list", args=[day, w.supplier.pk]),
        "doc-inbound": reverse("fulfillment:doc-inbound", args=[day, w.warehouse.pk]),
        "doc-route": reverse("fulfillment:doc-route", args=[day, w.route.pk]),
        "doc-handouts": reverse("fulfillment:doc-handouts", args=[day, w.point.pk]),
        "request": reverse("aftersales:ops-request", args=[w.request.pk]),
        "blacklist-person": reverse("aftersales:ops-blacklist-person", args=[w.member.pk]),
        "commissions-campaign": reverse("fission:ops-campaign", args=[w.campaign.pk]),
        "identity": reverse("analytics:ops-identity", args=[w.member.pk]),
        "segment": reverse("cdp:segment", args=[w.segment.pk]),
        "member-360": reverse("cdp:member", args=[w.member.pk]),
    }


PAGES = [
    "community",
    "member",
    "pickup-points",
    "applications",
    "roster-import",
    "questionnaire",
    "rhythm",
    "rhythm-columns",
    "supplier",
    "product",
    "sku",
    "series",
    "session",
    "session-edit",
    "host-panel",
    "clips",
    "campaign",
    "campaign-preview",
    "campaign-orders",
    "campaign-export",
    "day",
    "warehouse",
    "route",
    "point",
    "supplier-links",
    "doc-pick-list",
    "doc-inbound",
    "doc-route",
    "doc-handouts",
    "request",
    "blacklist-person",
    "commissions-campaign",
    "identity",
    "segment",
    "member-360",
]


@pytest.mark.parametrize("page", PAGES)
def test_another_brands_page_answers_404_and_its_own_operator_opens_it(client, world, page):
    url = _urls(world.a)[page]

    assert _as(client, world.op_b).get(url).status_code == 404
    assert _as(client, world.op_a).get(url).status_code == 200
    assert _as(client, world.op_all).get(url).status_code == 200


# --- POSTs: refused with 404, nothing changes ----------------------------------------------------------------------

WATCHED = [
    "community.Community",
    "community.Membership",
    "community.PickupPoint",
    "community.Flag",
    "community.Column",
    "catalogue.Supplier",
    "catalogue.Product",
    "catalogue.SKU",
    "livestream.LiveSeries",
    "livestream.LiveSession",
    "livestream.WarmupRound",
    "livestream.BannedWord",
    "jielong.Campaign",
    "jielong.CampaignItem",
    "jielong.Order",
    "jielong.LedgerEntry",
    "fulfillment.CampaignDelivery",
    "fulfillment.Warehouse",
    "fulfillment.Route",
    "fulfillment.RouteStop",
    "fulfillment.PointVerifier",
    "fulfillment.SupplierLink",
    "fulfillment.BatchMove",
    "aftersales.Request",
    "aftersales.RequestMessage",
    "feedback.Review",
    "cdp.Segment",
    "cdp.Audience",
    "fission.HelpSeller",
]


def _snapshot() -> dict:
    snap = {}
    for label in WATCHED:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        snap[label] = list(model.objects.order_by("pk").values())
    return snap


def _posts(w: BrandWorld, other: BrandWorld) -> dict[str, tuple[str, dict]]:
    day = w.delivery.delivery_date.isoformat()
    slug = w.community.slug
    membership = Membership.objects.get(user=w.member, community=w.community)
    return {
        "community-settings": (
            reverse("community:ops-community", args=[slug]),
            {"capacity": "20", "positioning": "改了", "join_gate": "open"},
        ),
        "member-remove": (reverse("community:ops-member", args=[slug, membership.pk]), {"action": "remove"}),
        "pickup-point-edit": (
            reverse("community:ops-pickup-points", args=[slug]),
            {"point": w.point.pk, "name": "改名", "address": "x", "capacity": "5"},
        ),
        "rhythm-column": (
            reverse("community:ops-rhythm-columns", args=[slug]),
            {"name": "新栏目", "time_of_day": "08:00"},
        ),
        "supplier-edit": (reverse("catalogue:ops-supplier", args=[w.supplier.pk]), {"name": "改名农场"}),
        "sku-edit": (reverse("catalogue:ops-sku", args=[w.sku.pk]), {"list_price": "1.00", "spec": "x"}),
        "session-cancel": (reverse("livestream:ops-session-cancel", args=[w.upcoming.pk]), {"reason": "x"}),
        "round-remove": (reverse("livestream:ops-round-remove", args=[w.upcoming.pk, w.round.pk]), {}),
        "host-go-live": (reverse("livestream:host-go-live", args=[w.upcoming.pk]), {}),
        "campaign-copy": (reverse("jielong:ops-campaign-copy", args=[w.campaign.pk]), {}),
        "campaign-open": (reverse("jielong:ops-campaign-open", args=[w.campaign.pk]), {}),
        "order-mark-paid": (reverse("jielong:ops-order-mark-paid", args=[w.campaign.pk, w.order.pk]), {}),
        "orders-mark-paid": (reverse("jielong:ops-orders-mark-paid"), {"order": [w.order.pk]}),
        "day-split": (reverse("fulfillment:day-split", args=[w.brand.pk, day]), {}),
        "campaign-split": (reverse("fulfillment:campaign-split", args=[w.campaign.pk]), {}),
        "campaign-move": (reverse("fulfillment:campaign-move", args=[w.campaign.pk]), {"delivery_date": day}),
        "tracking-move": (reverse("fulfillment:tracking-move", args=[w.brand.pk, day]), {"kind": "shipped"}),
        "warehouse-active": (reverse("fulfillment:warehouse-active", args=[w.warehouse.pk]), {"active": "0"}),
        "warehouse-edit": (reverse("fulfillment:warehouse", args=[w.warehouse.pk]), {"name": "改名仓"}),
        "route-active": (reverse("fulfillment:route-active", args=[w.route.pk]), {"active": "0"}),
        "route-stops": (reverse("fulfillment:route-stops", args=[w.route.pk]), {"action": "add", "point": w.point.pk}),
        "verifier-add": (reverse("fulfillment:verifier-add", args=[w.point.pk]), {"phone": "13900000000"}),
        "verifier-remove": (reverse("fulfillment:verifier-remove", args=[w.point.pk, w.verifier.pk]), {}),
        "supplier-link-new": (reverse("fulfillment:supplier-links", args=[w.supplier.pk]), {"days": "7"}),
        "supplier-link-revoke": (reverse("fulfillment:supplier-link-revoke", args=[w.link.pk]), {}),
        "review-hide": (reverse("feedback:ops-review-hide", args=[w.review.pk]), {"reason": "广告"}),
        "unflag": (reverse("aftersales:ops-unflag", args=[w.flag.pk]), {"reason": "误会"}),
        "request-reply": (reverse("aftersales:reply", args=[w.request.pk]), {"body": "您好"}),
        "request-resolve": (
            reverse("aftersales:resolve", args=[w.request.pk]),
            {"resolution": "rejected", "note": "不符合"},
        ),
        "commission-rule": (
            reverse("fission:ops-campaign", args=[w.campaign.pk]),
            {"action": "rule", "kind": "rate", "rate": "5"},
        ),
        "segment-rename": (
            reverse("cdp:segment", args=[w.segment.pk]),
            {"name": "改名人群", "rule_json": '{"match": "all", "conditions": []}'},
        ),
        "koc-designate": (reverse("cdp:koc-designate"), {"membership": membership.pk}),
        "round-target": (reverse("cdp:round-target", args=[w.round.pk]), {"segment": w.segment.pk}),
        "session-invite": (reverse("cdp:session-invite", args=[w.upcoming.pk]), {"segment": w.segment.pk}),
        "identity-merge": (
            reverse("analytics:ops-identity", args=[w.member.pk]),
            {"phone": other.member.phone, "reason": "同一人"},
        ),
    }


POSTS = [
    "community-settings",
    "member-remove",
    "pickup-point-edit",
    "rhythm-column",
    "supplier-edit",
    "sku-edit",
    "session-cancel",
    "round-remove",
    "host-go-live",
    "campaign-copy",
    "campaign-open",
    "order-mark-paid",
    "day-split",
    "campaign-split",
    "campaign-move",
    "tracking-move",
    "warehouse-active",
    "warehouse-edit",
    "route-active",
    "route-stops",
    "verifier-add",
    "verifier-remove",
    "supplier-link-new",
    "supplier-link-revoke",
    "review-hide",
    "unflag",
    "request-reply",
    "request-resolve",
    "commission-rule",
    "segment-rename",
    "koc-designate",
    "round-target",
    "session-invite",
    "identity-merge",
]


@pytest.mark.parametrize("action", POSTS)
def test_a_post_on_another_brands_object_answers_404_and_changes_nothing(
    client, world, action, django_capture_on_commit_callbacks
):
    url, data = _posts(world.a, world.b)[action]
    before = _snapshot()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _as(client, world.op_b).post(url, data)

    assert response.status_code == 404
    assert _snapshot() == before
    assert callbacks == []
    # the same POST by an installation-wide operator reaches the object: the 404 above was the brand's
    assert _as(client, world.op_all).post(url, data).status_code != 404


def test_marking_ticked_orders_paid_skips_another_brands(client, world):
    response = _as(client, world.op_b).post(reverse("jielong:ops-orders-mark-paid"), {"order": [world.a.order.pk]})

    assert response.status_code == 302
    world.a.order.refresh_from_db()
    assert world.a.order.payment_status == "unpaid"


def test_a_bulk_refund_of_another_brands_campaign_reads_as_none(client, world):
    response = _as(client, world.op_b).get(reverse("aftersales:ops-bulk-refund"), {"campaign": world.a.campaign.pk})

    assert response.status_code == 400
    assert world.a.campaign.title not in response.content.decode()


# --- creating: assigned to, and chosen among, the operator's brand ---------------------------------------------------


def test_a_new_community_belongs_to_the_operators_brand_whatever_is_posted(client, world):
    response = _as(client, world.op_b).post(
        reverse("community:ops-community-new"),
        {"brand": world.a.brand.pk, "name": "乙新社群", "slug": "yi-new", "capacity": "200", "join_gate": "open"},
    )

    created = Community.objects.get(name="乙新社群")
    assert response.status_code == 302
    assert created.brand == world.b.brand


def test_the_campaign_builder_offers_and_accepts_the_operators_communities_only(client, world):
    page = _as(client, world.op_b).get(reverse("jielong:ops-campaign-new")).content.decode()
    campaigns = Campaign.objects.count()

    response = client.post(
        reverse("jielong:ops-campaign-new"),
        {
            "title": "偷偷接龙",
            "communities": [world.a.community.pk],
            "closes_at": "2099-01-01T20:00",
            "group_threshold": "1",
            "payment_method": "pay_at_pickup",
            "items-TOTAL_FORMS": "1",
            "items-INITIAL_FORMS": "0",
            "items-0-sku": world.a.sku.pk,
            "items-0-price": "9.90",
        },
    )

    assert world.b.community.name in page and world.a.community.name not in page
    assert world.b.product.name in page and world.a.product.name not in page
    assert response.status_code == 200  # the form again, with the refusal
    assert Campaign.objects.count() == campaigns


def test_the_live_session_form_offers_the_operators_series_and_communities_only(client, world):
    page = _as(client, world.op_b).get(reverse("livestream:ops-session-new")).content.decode()

    assert world.b.series.title in page and world.a.series.title not in page
    assert world.b.community.name in page and world.a.community.name not in page


def test_the_bi_board_refuses_another_brands_community(client, world):
    response = _as(client, world.op_b).get(reverse("bi:board"), {"community": world.a.community.pk})

    assert response.status_code in (400, 403)
    assert world.a.community.name not in response.content.decode()


def test_the_bi_board_drills_down_to_the_operators_brand_only(client, world):
    response = _as(client, world.op_b).get(reverse("bi:people", args=["funnel"]), {"part": "members"})

    page = response.content.decode()
    assert response.status_code == 200
    assert world.b.member.display_name in page and world.a.member.display_name not in page


# --- the host panel ------------------------------------------------------------------------------------------------


def test_a_brands_host_lists_and_opens_their_brands_sessions_only(client, world):
    world.a.session.hosts.add(world.b.host)  # even a session of A's that names B's host stays A's

    page = _as(client, world.b.host).get(reverse("livestream:host-sessions")).content.decode()

    assert world.b.session.title in page and world.a.session.title not in page
    assert client.get(reverse("livestream:host-panel", args=[world.a.session.pk])).status_code == 404
    assert client.get(reverse("livestream:host-panel", args=[world.b.session.pk])).status_code == 200


# --- the one access helper ------------------------------------------------------------------------------------------


def test_may_manage_community_respects_the_operators_brand(world):
    from community.access import may_manage_community, may_see_brand, staff_brand_ids

    assert not may_manage_community(user=world.op_b, community=world.a.community)
    assert not may_manage_community(user=world.op_b, community=world.a.community.pk)
    assert may_manage_community(user=world.op_b, community=world.b.community)
    assert may_manage_community(user=world.op_all, community=world.a.community)
    assert staff_brand_ids(world.op_b) == frozenset({world.b.brand.pk})
    assert staff_brand_ids(world.op_all) is None
    assert not may_see_brand(user=world.op_b, brand=world.a.brand)
    assert may_see_brand(user=world.op_all, brand=world.a.brand.pk)


def test_a_superuser_with_a_brand_is_narrowed_to_it_too(world):
    from community.access import staff_brand_ids

    world.op_b.is_superuser = True

    assert staff_brand_ids(world.op_b) == frozenset({world.b.brand.pk})


def test_the_member_360_leaves_out_another_brands_rows(world):
    from cdp.member360 import member_360

    both = world.b.member
    Membership.objects.create(user=both, community=world.a.community)

    # In brand A they invited A's member and earned a commission on A's order: brand A's business.
    Membership.objects.filter(user=world.a.member, community=world.a.community).update(invited_by=both)
    LedgerEntry.objects.create(
        kind=LedgerEntry.Kind.COMMISSION,
        amount_fen=88,
        order=world.a.order,
        key="commission:test",
        created_at=world.a.order.created_at,
        payee=both,
    )

    page = member_360(viewer=world.op_b, member=both)

    assert {m.community for m in page.memberships} == {world.b.community}
    assert [b.brand for b in page.brands] == [world.b.brand]
    assert {o.campaign for o in page.orders} <= {world.b.campaign}
    assert page.referrals == []
    assert page.earnings["all"].net == 0

    # brand A's operator sees both
    seen_by_a = member_360(viewer=world.op_a, member=both)
    assert [node.user for node in seen_by_a.referrals] == [world.a.member]
    assert seen_by_a.earnings["all"].net == 88


def test_a_brands_operator_cannot_merge_another_brands_member_into_theirs(client, world):
    from analytics.models import PersonMerge

    response = _as(client, world.op_b).post(
        reverse("analytics:ops-identity", args=[world.b.member.pk]),
        {"phone": world.a.member.phone, "reason": "同一人"},
    )

    assert response.status_code == 400
    assert "No member has this phone number." in response.content.decode() or "没有" in response.content.decode()
    assert not PersonMerge.objects.exists()
