"""The team page (团队): an operator adds a host without the admin site, the host sets their own password from a
one-time link and signs in; roles change and accounts are switched off, audited; another brand's staff are out
of reach (the authorization matrix covers each URL for every role)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from community.models import User
from community.services import staff
from groupbuy import audit
from tests import factories

pytestmark = pytest.mark.django_db

NEW_HOST = {"nickname": "农场主老王", "username": "laowang", "role": "host"}


@pytest.fixture
def operator(client):
    user = factories.operator(brand=factories.brand(), nickname="运营小周")
    client.force_login(user)
    return user


@pytest.fixture
def heard():
    """What the team's changes publish for open panels (livestream closes them: tests/livestream)."""
    from community import events as community_events
    from tests.heard import heard as listening

    with listening(community_events.StaffRoleChanged, community_events.SignedOutEverywhere) as got:
        yield got


def add(client, operator, **fields):
    return client.post("/ops/team/", {**NEW_HOST, "brand": operator.brand_id, **fields})


def link_in(response) -> str:
    return re.search(r'id="password-link-url">([^<]+)<', response.content.decode()).group(1)


def test_an_operator_adds_a_host_who_sets_a_password_from_the_link_and_signs_in(client, operator):
    page = client.get("/ops/team/")
    assert page.status_code == 200 and "添加团队成员" in page.content.decode()

    response = add(client, operator)
    assert response.status_code == 201
    host = User.objects.get(username="laowang")
    assert (host.role, host.brand_id, host.nickname, host.is_staff) == ("host", operator.brand_id, "农场主老王", False)
    assert not host.has_usable_password()  # nobody but the host will know it
    assert "尚未设置密码" in response.content.decode()
    link = link_in(response)
    assert link.startswith("http://testserver/accounts/set-password/")
    assert audit.Entry.objects.filter(action="community.staff_added", target_id=str(host.pk)).count() == 1
    assert audit.Entry.objects.filter(action="community.staff_link_made", target_id=str(host.pk)).count() == 1

    phone = Client()
    form = phone.get(link, follow=True)
    assert "设置您的密码" in form.content.decode() and "laowang" in form.content.decode()
    done = phone.post(form.redirect_chain[-1][0], {"new_password1": "Tudou-2026!", "new_password2": "Tudou-2026!"})
    assert done.status_code == 302 and done["Location"] == "/accounts/login/"
    signed_in = phone.post("/accounts/login/", {"username": "laowang", "password": "Tudou-2026!"})
    assert signed_in.status_code == 302
    assert phone.get("/host/").status_code == 200

    # the link worked once
    again = Client().get(link, follow=True)
    assert 'id="set-password-expired"' in again.content.decode()


def test_bad_input_is_refused_with_a_message_and_changes_nothing(client, operator):
    factories.host(username="LaoWang", brand=operator.brand)
    other_brand = factories.brand("山野集")
    for fields, message in (
        ({}, "这个用户名已被使用"),  # taken, whatever the case
        ({"username": "老王"}, "用户名为 3–32 位"),
        ({"username": "lw", "nickname": " "}, "该字段是必填项"),
        ({"username": "laowang2", "role": "member"}, "role"),
        ({"username": "laowang3", "brand": other_brand.pk}, "brand"),
    ):
        response = add(client, operator, **fields)
        assert response.status_code == 400, fields
        body = response.content.decode()
        assert message in body or f'name="{message}"' in body, fields
    assert User.objects.filter(role__in=User.STAFF_ROLES).count() == 2  # the operator and the first LaoWang
    assert not audit.Entry.objects.filter(action="community.staff_added").exists()
    with pytest.raises(staff.StaffRefused) as refused:
        staff.staff_create(by=operator, data=staff.StaffInput("老王", "laowang9", "host", other_brand))
    assert refused.value.code == "brand"


def test_switching_a_host_off_signs_them_out_everywhere_and_the_sign_in_refuses_them(
    client, operator, django_capture_on_commit_callbacks
):
    host = factories.host(brand=operator.brand, username="laoli")
    device = Client()
    device.force_login(host)
    assert device.get("/host/").status_code == 200

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/ops/team/{host.pk}/", {"role": "host"})  # the box unticked: switched off
    assert response.status_code == 302
    host.refresh_from_db()
    assert not host.is_active
    assert device.get("/host/").status_code == 302  # signed out
    assert callbacks  # SignedOutEverywhere: their open panels close (tests/livestream/test_room_socket.py)
    entry = audit.Entry.objects.get(action="community.staff_changed")
    assert (entry.before, entry.after) == ({"is_active": True}, {"is_active": False})
    refused = Client().post("/accounts/login/", {"username": "laoli", "password": factories.DEFAULT_PASSWORD})
    assert refused.status_code == 200  # the form again, not a session
    assert 'id="make-link"' not in client.get(f"/ops/team/{host.pk}/").content.decode()  # no link for them
    assert client.post(f"/ops/team/{host.pk}/link/").status_code == 302

    # back on, as an assistant
    assert client.post(f"/ops/team/{host.pk}/", {"role": "assistant", "is_active": "on"}).status_code == 302
    host.refresh_from_db()
    assert (host.is_active, host.role) == (True, "assistant")


def test_a_role_change_is_published_for_the_open_panels_and_signs_nobody_out(
    client, operator, heard, django_capture_on_commit_callbacks
):
    from community import events as community_events

    host = factories.host(brand=operator.brand, username="laoli")
    device = Client()
    device.force_login(host)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/ops/team/{host.pk}/", {"role": "assistant", "is_active": "on"}).status_code == 302
        # the same again changes nothing and tells nobody
        assert client.post(f"/ops/team/{host.pk}/", {"role": "assistant", "is_active": "on"}).status_code == 302
    # Their open live panels close and reload as an assistant (tests/livestream/test_room_socket.py); this
    # device stays signed in.
    assert heard == [community_events.StaffRoleChanged(user_id=host.pk, role="assistant")]
    assert device.get("/host/").status_code == 200


def test_a_change_made_in_the_admin_site_is_audited_and_signs_out_as_the_team_page_does(
    rf, heard, django_capture_on_commit_callbacks
):
    from django.contrib import admin

    from community import events as community_events

    superuser = factories.operator(is_superuser=True, is_staff=True)
    host = factories.host(username="laoli")
    device = Client()
    device.force_login(host)
    model_admin = admin.site._registry[User]
    request = rf.post("/admin/")
    request.user = superuser
    with django_capture_on_commit_callbacks(execute=True):
        host.role = "assistant"
        model_admin.save_model(request, host, form=None, change=True)
    assert device.get("/host/").status_code == 200  # a new role signs nobody out
    with django_capture_on_commit_callbacks(execute=True):
        host.is_active = False
        model_admin.save_model(request, host, form=None, change=True)
    assert heard == [
        community_events.StaffRoleChanged(user_id=host.pk, role="assistant"),
        community_events.SignedOutEverywhere(user_id=host.pk),
    ]
    assert device.get("/host/").status_code == 302  # switched off: signed out
    entries = audit.Entry.objects.filter(action="community.staff_changed", target_id=str(host.pk)).order_by("pk")
    assert [(e.actor_id, e.before, e.after) for e in entries] == [
        (superuser.pk, {"role": "host"}, {"role": "assistant"}),
        (superuser.pk, {"is_active": True}, {"is_active": False}),
    ]


def test_an_operator_cannot_switch_themselves_off_or_reach_another_brands_staff(client, operator):
    response = client.post(f"/ops/team/{operator.pk}/", {"role": "host", "is_active": "on"})
    assert response.status_code == 400 and "您不能修改自己的角色" in response.content.decode()
    operator.refresh_from_db()
    assert (operator.role, operator.is_active) == ("operator", True)

    elsewhere = factories.host(brand=factories.brand("山野集"), username="shanye")
    assert client.get(f"/ops/team/{elsewhere.pk}/").status_code == 404
    assert client.post(f"/ops/team/{elsewhere.pk}/", {"role": "host"}).status_code == 404
    assert "shanye" not in client.get("/ops/team/").content.decode()
    elsewhere.refresh_from_db()
    assert elsewhere.is_active


def test_a_host_changes_their_password_and_their_other_devices_are_signed_out():
    host = factories.host(username="laoli")
    here, other = Client(), Client()
    here.force_login(host)
    other.force_login(host)

    wrong = here.post(
        "/accounts/password/",
        {"old_password": "nope", "new_password1": "Tudou-2026!", "new_password2": "Tudou-2026!"},
    )
    assert wrong.status_code == 200 and "field-error" in wrong.content.decode()
    host.refresh_from_db()
    assert host.check_password(factories.DEFAULT_PASSWORD)

    done = here.post(
        "/accounts/password/",
        {"old_password": factories.DEFAULT_PASSWORD, "new_password1": "Tudou-2026!", "new_password2": "Tudou-2026!"},
    )
    assert done.status_code == 302
    assert here.get("/host/").status_code == 200  # this device stays signed in
    assert other.get("/host/").status_code == 302  # the other is signed out
    assert Client().login(username="laoli", password="Tudou-2026!")


def test_members_have_no_password_to_change(client):
    client.force_login(factories.member())
    assert client.get("/accounts/password/").status_code == 403
