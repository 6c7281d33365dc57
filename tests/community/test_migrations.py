"""Data migrations of the community app."""

import importlib

import pytest
from django.apps import apps

from community.models import Invitation, Membership
from tests import factories

pytestmark = pytest.mark.django_db

personal_invitations = importlib.import_module("community.migrations.0005_personal_invitations")


def test_backfill_gives_every_active_member_one_personal_code_and_keeps_existing_ones():
    community = factories.community()
    members = [factories.membership(user=factories.member(), community=community) for _ in range(3)]
    factories.membership(user=factories.member(), community=community, status=Membership.Status.LEFT)
    kept = Invitation.objects.create(code="KEEPME22", community=community, inviter=members[0].user, is_personal=True)
    Invitation.objects.create(code="LIMITED2", community=community, inviter=members[1].user, max_uses=3)

    personal_invitations.backfill(apps, None)
    personal_invitations.backfill(apps, None)

    personal = dict(Invitation.objects.filter(is_personal=True).values_list("inviter_id", "code"))
    assert sorted(personal) == sorted(m.user_id for m in members)
    assert personal[members[0].user_id] == kept.code
    assert len(set(personal.values())) == 3
    assert Invitation.objects.count() == 4
