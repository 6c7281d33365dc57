"""Fixtures of the community tests: staff and member clients, and the roster a real import runs into."""

import pytest

from community.models import User
from tests import factories


@pytest.fixture
def en(client):
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def ops(client):
    client.cookies["django_language"] = "en"
    client.force_login(factories.operator())
    return client


@pytest.fixture
def _stage_dir(settings, tmp_path):
    settings.ROSTER_IMPORT_DIR = tmp_path / "roster-imports"
    return settings.ROSTER_IMPORT_DIR


@pytest.fixture
def group():
    """A community with an open and a closed pickup point and the people a real roster runs into."""
    community = factories.community(capacity=500)
    people = {
        "sunny": factories.pickup_point(community=community, name="阳光花园"),
        "old_street": factories.pickup_point(community=community, name="老街站", is_active=False),
        "veteran": factories.member(phone="+8613900000001", nickname="老会员"),
        "registered": factories.member(phone="+8613900000002", nickname=""),
        "returning": factories.member(phone="+8613900000003", nickname="回头客"),
        "removed": factories.member(phone="+8613900000004", nickname="被移出"),
        "staff": factories.operator(phone="+8613900000005"),
    }
    User.objects.filter(pk=people["registered"].pk).update(nickname="")  # signed up, never set a nickname
    factories.membership(user=people["veteran"], community=community)
    people["left"] = factories.membership(user=people["returning"], community=community, status="left")
    factories.membership(user=people["removed"], community=community, status="removed")
    people["community"] = community
    return people
