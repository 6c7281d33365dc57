"""A post's pictures are counted before any is decoded (a leader uploading forty bombs costs nothing)."""

from datetime import timedelta

import pytest

from community import rhythm
from community.models import Membership, Post
from groupbuy import clock
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def cleaned(monkeypatch):
    calls = []
    real = rhythm.clean_image

    def counting(upload, **kwargs):
        calls.append(upload)
        return real(upload, **kwargs)

    monkeypatch.setattr(rhythm, "clean_image", counting)
    return calls


def test_ten_pictures_are_refused_before_any_is_decoded(cleaned):
    community = factories.community()
    leader = factories.member()
    factories.membership(user=leader, community=community, role=Membership.Role.LEADER)

    with pytest.raises(rhythm.PostInvalid) as refused:
        rhythm.post_save(
            by=leader,
            community=community,
            text="十张图",
            scheduled_at=clock.now() + timedelta(days=1),
            uploads=[object()] * 10,  # never opened: the count refuses first
        )

    assert refused.value.code == "images"
    assert cleaned == []
    assert not Post.objects.exists()
