"""The privacy notice is versioned: each acceptance is a record; an older acceptance is asked again, lightly."""

import pytest
from django.test import override_settings

from community import services
from community.models import ConsentRecord
from groupbuy import clock
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_signing_in_with_consent_records_the_current_version_once(client):
    sent = services.phone_code_send(phone="13812345678")
    user = services.phone_code_verify(phone="13812345678", code=sent.code, consent=True)

    [record] = ConsentRecord.objects.filter(user=user)
    assert (record.version, record.source) == ("2", ConsentRecord.Source.SIGNIN)
    user.refresh_from_db()
    assert user.privacy_notice_version == "2" and user.privacy_consent_at == record.consented_at

    # A later sign-in accepts the same version: no second record.
    assert services.privacy_consent_record(user=user, source=ConsentRecord.Source.SIGNIN) is None
    assert ConsentRecord.objects.filter(user=user).count() == 1


def test_a_member_of_an_older_version_is_asked_again_and_may_still_read(client):
    member = f.member(privacy_notice_version="1")
    ConsentRecord.objects.create(user=member, version="1", source="signin", consented_at=member.date_joined)
    client.force_login(member)

    home = client.get("/m/")
    assert home.status_code == 200  # not a blocker: the page is there, with the banner above it
    assert 'id="consent-banner"' in home.content.decode()
    assert 'id="consent-banner"' in client.get("/m/me/").content.decode()

    response = client.post("/privacy/consent/", {"next": "/m/me/"})

    assert response["Location"] == "/m/me/"
    assert list(ConsentRecord.objects.filter(user=member).values_list("version", "source")) == [
        ("2", "renewal"),
        ("1", "signin"),
    ]
    assert 'id="consent-banner"' not in client.get("/m/").content.decode()


def test_an_account_that_never_signed_in_is_not_asked_by_banner(client):
    client.force_login(f.member())  # made by a roster import: it accepts the notice at its first sign-in
    assert 'id="consent-banner"' not in client.get("/m/").content.decode()


@override_settings(PRIVACY_NOTICE_VERSION="3")
def test_a_new_version_asks_again_those_who_accepted_the_last(client):
    member = f.member(privacy_notice_version="2")
    client.force_login(member)
    # No notice_3 template yet: the banner still shows, the notice page answers 404 rather than a wrong text.
    assert 'id="consent-banner"' in client.get("/m/").content.decode()


def test_every_version_of_the_notice_can_be_read_by_anyone(client):
    current = client.get("/privacy/notice/").content.decode()
    first = client.get("/privacy/notice/1/")

    assert "版本 2" in current
    assert first.status_code == 200 and "版本 1" in first.content.decode()
    assert client.get("/privacy/notice/9/").status_code == 404
    assert client.get("/privacy/notice/..%2Fbase/").status_code == 404


def test_the_demo_story_members_accepted_the_current_notice():
    from demo.privacy import seed_privacy

    member = f.member(privacy_consent_at=clock.now())
    untouched = f.member()

    assert seed_privacy() == 1
    assert seed_privacy() == 0  # idempotent
    member.refresh_from_db()
    untouched.refresh_from_db()
    assert member.privacy_notice_version == "2" and member.consents.get().version == "2"
    assert untouched.privacy_notice_version == "" and not untouched.consents.exists()
