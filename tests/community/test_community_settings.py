"""Community settings an operator changes (community.services.settings): positioning, capacity, gate."""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def test_operator_edits_positioning_capacity_and_gate(ops):
    community = factories.community()
    factories.membership(user=factories.member(), community=community)
    factories.membership(user=factories.member(), community=community)
    url = f"/ops/communities/{community.slug}/"

    ops.post(url, {"positioning": "相信食物本源", "capacity": "480", "join_gate": "invitation"})
    community.refresh_from_db()
    saved = (community.positioning, community.capacity, community.join_gate)
    refused = ops.post(url, {"positioning": "x", "capacity": "1", "join_gate": "open"}, follow=True)
    no_questionnaire = ops.post(url, {"positioning": "x", "capacity": "480", "join_gate": "questionnaire"}, follow=True)

    assert saved == ("相信食物本源", 480, "invitation")
    assert "The capacity cannot be below the current number of members (2)." in refused.content.decode()
    assert "no questionnaire yet" in no_questionnaire.content.decode()
    community.refresh_from_db()
    assert (community.positioning, community.capacity, community.join_gate) == saved
