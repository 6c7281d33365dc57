"""The boards as pages: pickers and their refusals, who may drill into what, who may export what."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from community.models import User
from tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("pinned")]


@pytest.fixture
def ops(client):
    client.force_login(f.operator())
    return client


@pytest.fixture
def leader(client, data):
    client.force_login(data["la"])
    return client


def _text(response) -> str:
    return response.content.decode()


def test_the_operator_board_shows_every_metric_links_the_glossary_and_drills_down(ops, data):
    response = ops.get(reverse("bi:board"), {"session": data.s1.pk})
    page = _text(response)
    assert response.status_code == 200
    assert 'data-figure="viewer_to_joiner">57%<' in page  # 4 / 7
    assert 'data-figure="community_to_viewer">60%<' in page  # 6 / 10
    assert reverse("bi:glossary") in page
    assert f"{reverse('bi:people', args=['viewer_to_joiner'])}?" in page
    assert "vendor/echarts.min.js" in page and 'id="bi-data"' in page
    assert 'name="since" value="2031-02-17"' in page  # the period the board fell back to (30 days) is shown
    drill = ops.get(reverse("bi:people", args=["viewer_to_joiner"]), {"session": data.s1.pk, "part": "denominator"})
    assert drill.status_code == 200
    assert drill.context["total"] == 7
    # Phones masked (community.phones.mask_phone), never whole.
    assert data["a1"].masked_phone in _text(drill) and data["a1"].phone not in _text(drill)


def test_the_ops_dashboard_card_replaces_the_placeholder(ops, data):
    page = _text(ops.get(reverse("analytics:ops-dashboard")))
    assert 'id="bi-card"' in page and reverse("bi:board") in page
    assert "arrive with the BI work" not in page


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("2031-03-10", "2031-03-01", "The period starts after it ends"),
        ("2029-01-01", "2031-03-01", "at most 366 days"),
    ],
    ids=["reversed", "too-long"],
)
def test_a_reversed_or_too_long_period_is_refused_with_a_message(ops, data, since, until, message, settings):
    settings.LANGUAGE_CODE = "en"
    response = ops.get(reverse("bi:board"), {"since": since, "until": until}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert message in _text(response)
    assert 'data-figure="' not in _text(response)
    export = ops.get(reverse("bi:board-export", args=["csv"]), {"since": since, "until": until})
    assert export.status_code == 302  # back to the board with the message; nothing exported


def test_a_year_is_allowed(ops, data):
    assert ops.get(reverse("bi:board"), {"since": "2030-03-19", "until": "2031-03-18"}).status_code == 200


def test_a_leader_sees_only_their_own_communities(leader, data):
    response = leader.get(reverse("bi:leader-board"))
    assert response.status_code == 200
    scope = response.context["scope"]
    assert scope.community_ids == (data.a.pk,)
    # Their board counts A only: S1's viewers who are A's members.
    assert response.context["tiles"][1][1].denominator == 6


def test_a_leader_cannot_drill_into_another_community(leader, data):
    response = leader.get(reverse("bi:leader-people", args=["viewer_to_joiner"]), {"community": data.b.pk})
    assert response.status_code == 403
    assert 'id="bi-refused"' in _text(response)
    assert response.context["message"]
    # Nor into S2, aimed at B only.
    assert leader.get(reverse("bi:leader-board"), {"session": data.s2.pk}).status_code == 403


def test_a_leader_cannot_open_the_operators_board(leader, data):
    assert leader.get(reverse("bi:board")).status_code == 403


def test_a_member_who_leads_nothing_has_no_board(client, data):
    client.force_login(data["a4"])
    response = client.get(reverse("bi:leader-board"))
    assert response.status_code == 403
    assert 'id="bi-refused"' in _text(response)


def test_the_leader_home_links_their_board(leader, data):
    page = _text(leader.get(reverse("community:member-home")))
    assert reverse("bi:leader-board") in page


def test_a_leader_may_export_their_boards_figures_but_no_list_of_people(leader, data):
    board = leader.get(reverse("bi:leader-board-export", args=["csv"]))
    assert board.status_code == 200
    text = board.content.decode("utf-8-sig")
    assert data["a1"].masked_phone not in text and data["a1"].nickname not in text
    people = leader.get(reverse("bi:leader-people-export", args=["viewer_to_joiner", "csv"]))
    assert people.status_code == 403
    assert 'id="bi-refused"' in _text(people)
    assert "Content-Disposition" not in people


def test_an_operator_exports_the_board_and_the_people_masked(ops, data):
    response = ops.get(reverse("bi:board-export", args=["xlsx"]), {"session": data.s1.pk})
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).worksheets[0]
    rows = {row[0]: row for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert [value for value in rows.values() if value[1] == pytest.approx(4 / 7, abs=1e-4)]
    people = ops.get(reverse("bi:people-export", args=["viewer_to_joiner", "csv"]), {"session": data.s1.pk})
    text = people.content.decode("utf-8-sig")
    assert data["a1"].masked_phone in text and data["a1"].phone not in text
    assert text.count("\n") == 2 + 1 + 4  # sheet name, title, header, four joiners


def test_a_nickname_that_looks_like_a_formula_is_exported_as_text(ops, data):
    User.objects.filter(pk=data["la"].pk).update(nickname="=HYPERLINK(1)")
    people = ops.get(reverse("bi:people-export", args=["viewer_to_joiner", "csv"]), {"session": data.s1.pk})
    assert "'=HYPERLINK(1)" in people.content.decode("utf-8-sig")


def test_the_glossary_opens_for_operators_and_leaders(ops, data, client):
    page = _text(ops.get(reverse("bi:glossary")))
    assert 'id="viewer_to_joiner"' in page and 'id="monthly_active"' in page
    client.force_login(data["la"])
    assert client.get(reverse("bi:glossary")).status_code == 200


def test_an_operator_picks_a_series_a_leader_or_a_community(ops, data):
    series = ops.get(reverse("bi:board"), {"series": data.s1.series_id})
    assert series.context["scope"].session_ids == (data.s1.pk, data.s2.pk)  # both sessions are of 农场主来了
    assert series.context["scope"].session_picked
    by_leader = ops.get(reverse("bi:board"), {"leader": data["lb"].pk})
    assert by_leader.context["scope"].community_ids == (data.b.pk,)
    assert by_leader.context["scope"].session_ids == (data.s2.pk,)
    community = ops.get(reverse("bi:board"), {"community": data.a.pk})
    assert community.context["scope"].session_ids == (data.s1.pk,)
    assert 'data-figure="community_to_viewer">60%<' in _text(community)


def test_a_leader_cannot_pick_another_leader(leader, data):
    # A leader's form has no leader picker: a hand-made ?leader= is ignored and the board stays theirs.
    response = leader.get(reverse("bi:leader-board"), {"leader": data["lb"].pk})
    assert response.status_code == 200
    assert response.context["scope"].community_ids == (data.a.pk,)


def test_a_per_parcel_figure_drills_down_to_people_and_says_how_many_parcels(ops, data):
    from fulfillment.models import Parcel
    from tests.bi import scenario

    # b2 has a second parcel at the point (C0, yesterday's order): picked up and waiting are two parcels of one person.
    at = scenario.day(-1, 10)
    scenario.b2_orders_again(
        data, ordered=scenario.day(-1, 8), delivery=at.date(), state=Parcel.State.AT_PICKUP, at_pickup=at
    )
    drill = ops.get(reverse("bi:people", args=["pickup_rate"]), {"part": "denominator"})
    assert drill.status_code == 200
    assert drill.context["total"] == 5  # la, a1, a3, a6, b2
    parcels = drill.context["parcels"]  # the figure's denominator (the rollups': this row came without its events)
    assert f'id="people-parcels">{parcels} 个包裹<' in _text(drill)
    rows = {r.name: r.detail for r in drill.context["page"]}
    day = scenario.day(-1).date().isoformat()
    assert rows[data["b2"].display_name] == f"{day} 已取货, {day} 待取货"

    on_time = ops.get(reverse("bi:people", args=["delivery_on_time"]), {"part": "numerator"})
    # On time: la, a1 and b2, whose second parcel arrived by noon too: three people, four parcels.
    assert (on_time.context["total"], on_time.context["parcels"]) == (3, 4)

    plain = ops.get(reverse("bi:people", args=["viewer_to_joiner"]), {"session": data.s1.pk})
    assert plain.context["parcels"] is None and 'id="people-parcels"' not in _text(plain)
