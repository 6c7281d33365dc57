"""Sign-in code limits under attack (issue 10: items 1, 2, 11, 22).

* 30 parallel sends to one number text it once (the limits are claimed before anything is sent);
* only numbers of ``SMS_ALLOWED_REGIONS`` get texts (toll fraud);
* 300 members behind one address all sign in within the hour; an attacker rotating numbers from one
  address is stopped by the challenge, and by the cap of numbers that never sign in;
* the hourly budget caps texts for the whole installation;
* with Redis unreachable, sending is refused with a clear message and nothing is sent.
"""

import threading

import pytest
from django.db import connection

from community import services
from community.models import PhoneCode, User
from tests import sms_fakes as fakes

PHONE = "13812345678"
E164 = "+8613812345678"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture(autouse=True)
def recording_sms(settings):
    settings.SMS_PROVIDER = "tests.sms_fakes.RecordingSMSProvider"
    fakes.sent.clear()
    yield fakes.sent
    fakes.sent.clear()


def mobile(n: int) -> str:
    return f"1390000{n:04d}"


def solve(challenge: services.Challenge) -> str:
    first, second = challenge.question.removesuffix(" = ?").split(" + ")
    return str(int(first) + int(second))


def send_solving(phone: str, ip: str) -> services.SentCode:
    """Send as a member does: when the page asks a question, answer it and send again."""
    try:
        return services.phone_code_send(phone=phone, ip=ip)
    except services.ChallengeRequired:
        challenge = services.signin_challenge_new()
        return services.phone_code_send(
            phone=phone, ip=ip, challenge_token=challenge.token, challenge_answer=solve(challenge)
        )


# --- item 1: the race -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_thirty_parallel_sends_to_one_number_text_it_exactly_once(settings):
    settings.SMS_PROVIDER = "tests.sms_fakes.SlowSMSProvider"
    start = threading.Barrier(30)
    outcomes: list[str] = []

    def request() -> None:
        try:
            start.wait()
            services.phone_code_send(phone=PHONE, ip="10.0.0.1")
            outcomes.append("sent")
        except services.TooManyRequests as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["sent"] + ["throttled"] * 29
    assert len(fakes.sent) == 1
    assert PhoneCode.objects.filter(phone=E164).count() == 1


# --- item 2: destination regions --------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        pytest.param("+12025550123", id="united-states"),
        pytest.param("+447911123456", id="united-kingdom"),
        pytest.param("+85291234567", id="hong-kong"),
        pytest.param("+2348031234567", id="nigeria"),
    ],
)
@pytest.mark.django_db
def test_numbers_outside_the_allowed_regions_get_no_code(number, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.InvalidPhone) as refused:
        services.phone_code_send(phone=number, ip="10.0.0.1")

    assert refused.value.code == "region"
    assert fakes.sent == []
    assert not PhoneCode.objects.exists()


@pytest.mark.django_db
def test_allowed_regions_come_from_the_setting(settings, django_capture_on_commit_callbacks):
    settings.SMS_ALLOWED_REGIONS = ["CN", "HK"]

    with django_capture_on_commit_callbacks(execute=True):
        services.phone_code_send(phone="+85291234567")

    assert [phone for phone, _ in fakes.sent] == ["+85291234567"]


@pytest.mark.django_db
def test_the_page_says_why_a_foreign_number_gets_no_code(client):
    client.cookies["django_language"] = "en"

    response = client.post("/m/login/", {"action": "send", "phone": "+12025550123"})

    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == [
        "Sign-in codes can only be sent to mainland China mobile numbers."
    ]
    assert fakes.sent == []
    assert not PhoneCode.objects.exists()


# --- item 22: a shared network ----------------------------------------------------------------


@pytest.mark.django_db
def test_three_hundred_members_behind_one_address_all_sign_in(django_capture_on_commit_callbacks):
    challenged = 0
    with django_capture_on_commit_callbacks(execute=True):
        for wave in range(10):  # members arrive in waves before a live; each wave types its codes
            sent = []
            for n in range(wave * 30, wave * 30 + 30):
                try:
                    sent.append(services.phone_code_send(phone=mobile(n), ip="100.64.0.1"))
                except services.ChallengeRequired:
                    challenged += 1
                    sent.append(send_solving(mobile(n), "100.64.0.1"))
            for code in sent:
                services.phone_code_verify(phone=code.phone, code=code.code, consent=True)

    assert User.objects.filter(role=User.Role.MEMBER).count() == 300
    assert len(fakes.sent) == 300
    # Only the 21st to 30th number of each wave, still waiting for their codes, were asked a question.
    assert challenged == 10 * 10


@pytest.mark.django_db
def test_members_who_complete_sign_in_are_never_asked_a_question():
    for n in range(60):
        sent = services.phone_code_send(phone=mobile(n), ip="100.64.0.1")
        services.phone_code_verify(phone=sent.phone, code=sent.code, consent=True)

    assert User.objects.count() == 60


@pytest.mark.django_db
def test_rotating_number_attacker_is_stopped_by_the_challenge(django_capture_on_commit_callbacks):
    refusals = []
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(200):
            try:
                services.phone_code_send(phone=mobile(n), ip="203.0.113.7")
            except services.ChallengeRequired as exc:
                refusals.append(exc.code)
        wrong = services.signin_challenge_new()
        with pytest.raises(services.ChallengeRequired) as guessed:
            services.phone_code_send(
                phone=mobile(500), ip="203.0.113.7", challenge_token=wrong.token, challenge_answer="99"
            )

    assert len(fakes.sent) == 20
    assert refusals == ["challenge"] * 180
    assert guessed.value.code == "challenge_wrong"
    assert PhoneCode.objects.count() == 20


@pytest.mark.django_db
def test_a_challenge_answer_is_good_once():
    for n in range(20):
        services.phone_code_send(phone=mobile(n), ip="203.0.113.7")
    challenge = services.signin_challenge_new()
    services.phone_code_send(
        phone=mobile(20), ip="203.0.113.7", challenge_token=challenge.token, challenge_answer=solve(challenge)
    )

    with pytest.raises(services.ChallengeRequired):
        services.phone_code_send(
            phone=mobile(21), ip="203.0.113.7", challenge_token=challenge.token, challenge_answer=solve(challenge)
        )

    assert PhoneCode.objects.count() == 21


@pytest.mark.django_db
def test_an_attacker_solving_every_challenge_is_stopped_at_the_cap(django_capture_on_commit_callbacks):
    refusals = []
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(150):
            try:
                send_solving(mobile(n), "203.0.113.7")
            except services.TooManyRequests as exc:
                refusals.append(exc.code)

    assert len(fakes.sent) == 100
    assert refusals == ["throttled_ip"] * 50


@pytest.mark.django_db
def test_the_hourly_budget_caps_texts_for_everyone(settings, django_capture_on_commit_callbacks):
    settings.SIGNIN_SMS_HOUR = (5, 3600)
    refusals = []
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(8):  # eight numbers from eight addresses: no per-number or per-address limit applies
            try:
                services.phone_code_send(phone=mobile(n), ip=f"198.51.100.{n}")
            except services.TooManyRequests as exc:
                refusals.append(exc.code)

    assert len(fakes.sent) == 5
    assert refusals == ["budget"] * 3
    assert PhoneCode.objects.count() == 5


@pytest.mark.django_db
def test_the_page_asks_a_question_and_sends_once_it_is_answered(client):
    client.cookies["django_language"] = "en"
    for n in range(20):
        services.phone_code_send(phone=mobile(n), ip="127.0.0.1")

    asked = client.post("/m/login/", {"action": "send", "phone": PHONE})
    challenge_token = asked.context["challenge"].token
    answered = client.post(
        "/m/login/",
        {
            "action": "send",
            "phone": PHONE,
            "challenge_token": challenge_token,
            "challenge_answer": solve(asked.context["challenge"]),
        },
    )

    assert asked.status_code == 200
    assert asked.context["form"].errors["challenge_answer"] == [
        "Many codes were requested from this network. Answer the question to continue."
    ]
    assert f'name="challenge_token" value="{challenge_token}"' in asked.content.decode()
    assert answered.status_code == 200
    assert answered.context["step"] == "code"
    assert PhoneCode.objects.filter(phone=E164).count() == 1


# --- item 11: Redis down -------------------------------------------------------------------------


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": UNREACHABLE_REDIS,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


@pytest.mark.django_db
def test_with_redis_down_sending_a_code_is_refused_clearly(client, redis_down, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/m/login/", {"action": "send", "phone": PHONE})

    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == ["短信服务暂时不可用，请稍后再试。"]
    assert fakes.sent == []
    assert not PhoneCode.objects.exists()


@pytest.mark.django_db
def test_with_redis_down_checking_a_code_is_refused_clearly(client, redis_down):
    response = client.post("/m/login/", {"action": "verify", "phone": E164, "code": "123456", "consent": "on"})

    assert response.status_code == 200
    assert "短信服务暂时不可用，请稍后再试。" in response.content.decode()
    assert not User.objects.exists()
