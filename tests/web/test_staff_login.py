"""Staff sign-in is throttled like the member sign-in: 20 wrong passwords, then the right one, used to pass."""

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

URL = "/accounts/login/"


def _try(client, username, password, ip="198.51.100.7"):
    return client.post(URL, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_the_right_password_signs_in(client, password):
    operator = factories.operator()

    response = _try(client, operator.username, password)

    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")


def test_five_wrong_passwords_lock_the_username_even_against_the_right_one(client, password):
    operator = factories.operator()
    for _ in range(5):
        assert _try(client, operator.username, "wrong-guess").status_code == 200

    response = _try(client, operator.username, password)

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "密码错误次数太多" in response.content.decode()


def test_the_lock_is_per_username(client, password):
    locked, other = factories.operator(), factories.host()
    for _ in range(5):
        _try(client, locked.username, "wrong-guess")

    assert _try(client, other.username, password).status_code == 302


def test_many_usernames_from_one_address_are_cut_off(client, password, settings):
    settings.SIGNIN_STAFF_ADDRESS_FAILURES = (3, 3600)
    operator = factories.operator()
    for n in range(3):
        _try(client, f"guess{n}", "wrong", ip="203.0.113.9")

    assert _try(client, operator.username, password, ip="203.0.113.9").status_code == 200
    assert _try(client, operator.username, password, ip="203.0.113.10").status_code == 302


def test_four_wrong_passwords_do_not_lock(client, password):
    operator = factories.operator()
    for _ in range(4):
        _try(client, operator.username, "wrong-guess")

    assert _try(client, operator.username, password).status_code == 302
