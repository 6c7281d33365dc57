"""Sign out everywhere ends every session of the account (this one too); signing in rotates the session key."""

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from community import services
from community.models import User
from groupbuy import audit
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_a_member_signs_out_everywhere_and_every_device_is_signed_out(client):
    member = f.member()
    phone, laptop, bystander = Client(), Client(), Client()
    for c in (client, phone, laptop):
        c.force_login(member)
    bystander.force_login(f.member())

    confirm = client.get("/accounts/sign-out-everywhere/")
    response = client.post("/accounts/sign-out-everywhere/")

    assert confirm.status_code == 200 and "confirm-sign-out-everywhere" in confirm.content.decode()
    assert response["Location"] == "/m/login/"
    for c in (client, phone, laptop):
        assert c.get("/m/me/").status_code == 302
    assert bystander.get("/m/me/").status_code == 200
    assert audit.Entry.objects.filter(action="privacy.signed_out_everywhere").count() == 1
    client.force_login(User.objects.get(pk=member.pk))  # signing in again works
    assert client.get("/m/me/").status_code == 200


def test_staff_sign_out_everywhere_from_the_console(client, password):
    operator = f.operator()
    other = Client()
    other.force_login(operator)
    client.force_login(operator)
    assert "/accounts/sign-out-everywhere/" in client.get("/ops/privacy/").content.decode()

    response = client.post("/accounts/sign-out-everywhere/")

    assert response["Location"] == "/accounts/login/"
    assert other.get("/ops/privacy/").status_code == 302


def _planted_session(client) -> str:
    """A session key an attacker could have planted in the victim's browser before sign-in."""
    store = SessionStore()
    store["planted"] = True
    store.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    return store.session_key


def test_the_member_sign_in_rotates_the_session_key(client):
    planted = _planted_session(client)
    sent = services.phone_code_send(phone="13812345678")

    response = client.post("/m/login/", {"action": "verify", "phone": sent.phone, "code": sent.code, "consent": "on"})

    assert response.status_code == 302
    assert client.session.session_key != planted
    assert not SessionStore().exists(planted)
    assert client.get("/m/me/").status_code == 200


def test_the_staff_sign_in_rotates_the_session_key(client, password):
    operator = f.operator()
    planted = _planted_session(client)

    response = client.post("/accounts/login/", {"username": operator.username, "password": password})

    assert response.status_code == 302
    assert client.session.session_key != planted
    assert not SessionStore().exists(planted)


def test_a_host_finds_sign_out_everywhere_in_the_host_panel_and_confirms_it_there(client):
    # given a host (no console) signed in to the host panel
    host = f.host()
    client.force_login(host)
    assert "/accounts/sign-out-everywhere/" in client.get("/host/").content.decode()

    # when they open the confirmation
    page = client.get("/accounts/sign-out-everywhere/")

    # then it is in the host panel's shell, and Cancel goes back to their sessions, not the console
    html = page.content.decode()
    assert "host-topbar" in html and "ops-sidebar" not in html
    assert 'href="/host/"' in html
