"""Member sign-in with phone + one-time code (手机号 + 验证码)."""

import logging
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.utils import timezone

from community import services, throttle
from community.models import PhoneCode, User
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    throttle.clear_all()
    yield
    throttle.clear_all()


PHONE = "13812345678"
E164 = "+8613812345678"


def send(client, phone=PHONE, **extra):
    return client.post("/m/login/", {"action": "send", "phone": phone, **extra})


def verify(client, code, phone=E164, consent="on", **extra):
    data = {"action": "verify", "phone": phone, "code": code, **extra}
    if consent:
        data["consent"] = consent
    return client.post("/m/login/", data)


def test_send_code_stores_only_a_hash_and_texts_after_commit(client, django_capture_on_commit_callbacks, caplog):
    with caplog.at_level(logging.INFO, logger="community.providers.sms"):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            sent = services.phone_code_send(phone="138 1234 5678")
        assert caplog.records == []  # nothing is sent before the commit
        for callback in callbacks:
            callback()

    record = PhoneCode.objects.get()
    assert record.phone == E164
    assert sent.code not in record.code_hash
    assert record.expires_at - record.created_at == timedelta(minutes=5)
    assert len(callbacks) == 1
    # The console provider logs that it would send, never the code or the whole number.
    assert [r.getMessage() for r in caplog.records] == [
        "SMS to 138****5678 (not sent: console provider): 您的源味集登录验证码是 ******，5 分钟内有效。"
    ]
    assert sent.code not in caplog.text
    assert E164 not in caplog.text


def test_send_refuses_invalid_phone(client):
    response = send(client, phone="12345")

    assert response.status_code == 200
    assert "请输入有效的手机号码。" in response.content.decode()
    assert not PhoneCode.objects.exists()


@override_settings(SMS_SHOW_CODE=True)
def test_local_mode_shows_the_code_on_the_page(client):
    response = send(client)

    code = response.context["dev_code"]
    assert len(code) == 6
    assert f"开发模式：验证码 {code}" in response.content.decode()
    assert "138****5678" in response.content.decode()


def test_production_mode_hides_the_code(client):
    response = send(client)

    assert response.context["dev_code"] == ""
    assert "开发模式" not in response.content.decode()


def test_verify_creates_member_signs_in_and_keeps_session_in_database(client):
    sent = services.phone_code_send(phone=PHONE)

    response = verify(client, sent.code, next="/m/me/")

    assert response.status_code == 302
    assert response["Location"] == "/m/me/"
    user = User.objects.get(phone=E164)
    assert user.role == User.Role.MEMBER
    assert user.privacy_consent_at is not None
    assert not user.has_usable_password()
    assert PhoneCode.objects.get().used_at is not None
    # DB-backed session: the row exists, so the sign-in survives an app restart.
    session = Session.objects.get(session_key=client.session.session_key)
    assert session.get_decoded()["_auth_user_id"] == str(user.pk)
    assert client.get("/m/").status_code == 200


def test_verify_signs_in_existing_member_without_duplicate(client):
    member = factories.member(phone=E164)
    sent = services.phone_code_send(phone=PHONE)

    verify(client, sent.code)

    assert User.objects.filter(phone=E164).count() == 1
    assert client.session["_auth_user_id"] == str(member.pk)


def test_next_to_another_site_is_ignored(client):
    sent = services.phone_code_send(phone=PHONE)

    response = verify(client, sent.code, next="https://evil.example/")

    assert response["Location"] == "/m/"


def assert_refused(response, message):
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session
    assert not User.objects.filter(phone=E164).exists()


def test_wrong_code_refused_and_nothing_changes(client):
    sent = services.phone_code_send(phone=PHONE)
    wrong = "000000" if sent.code != "000000" else "111111"

    response = verify(client, wrong)

    assert_refused(response, "验证码不正确。")
    record = PhoneCode.objects.get()
    assert record.used_at is None
    assert record.attempts == 1


def test_expired_code_refused(client):
    sent = services.phone_code_send(phone=PHONE)
    PhoneCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = verify(client, sent.code)

    assert_refused(response, "验证码已过期，请重新获取。")
    assert PhoneCode.objects.get().used_at is None


def test_reused_code_refused(client):
    sent = services.phone_code_send(phone=PHONE)
    verify(client, sent.code)
    client.post("/accounts/logout/")
    user_count = User.objects.count()

    response = verify(client, sent.code)

    assert response.status_code == 200
    assert "这个验证码已经用过了，请重新获取。" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session
    assert User.objects.count() == user_count


def test_newer_code_supersedes_older_one(client):
    first = services.phone_code_send(phone=PHONE)
    throttle.clear_all()  # a minute later
    second = services.phone_code_send(phone=PHONE)
    if first.code == second.code:
        pytest.skip("the two random codes happen to match")

    response = verify(client, first.code)

    assert_refused(response, "验证码不正确。")
    assert verify(client, second.code).status_code == 302


def test_code_without_request_refused(client):
    response = verify(client, "123456")

    assert_refused(response, "还没有向这个号码发送验证码，请先获取验证码。")


def test_too_many_wrong_attempts_lock_the_code(client):
    sent = services.phone_code_send(phone=PHONE)
    PhoneCode.objects.update(attempts=services.MAX_ATTEMPTS)

    response = verify(client, sent.code)

    assert_refused(response, "输错次数太多，请重新获取验证码。")


def test_consent_is_required_on_the_form(client):
    sent = services.phone_code_send(phone=PHONE)

    response = verify(client, sent.code, consent=None)

    assert_refused(response, "请先同意隐私声明再继续。")
    assert PhoneCode.objects.get().used_at is None


def test_staff_phone_cannot_sign_in_by_code(client):
    factories.operator(phone=E164)
    sent = services.phone_code_send(phone=PHONE)

    response = verify(client, sent.code)

    assert response.status_code == 200
    assert "员工登录" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session
    assert PhoneCode.objects.get().used_at is None


def test_service_records_consent_only_when_given():
    sent = services.phone_code_send(phone=PHONE)

    user = services.phone_code_verify(phone=PHONE, code=sent.code)

    assert user.privacy_consent_at is None
    assert user.role == User.Role.MEMBER


def test_service_errors_are_domain_errors():
    with pytest.raises(services.InvalidPhone):
        services.phone_code_send(phone="abc")
    with pytest.raises(services.CodeInvalid):
        services.phone_code_verify(phone=PHONE, code="123456")
    assert not User.objects.exists()
