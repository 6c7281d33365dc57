"""The member page's join form through the ASGI fast path (jielong.join.asgi): a join, or a refusal that
says the jielong moved on (sold out), is answered in the storm's group call with the page view's own
redirect and flash message; everything else (no member session, CSRF, input the rules refuse, any other
refusal) is answered by the page view, as through Django alone, and a refused join is not tried twice."""

import asyncio
import secrets
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client

from catalogue.models import SKU
from groupbuy.asgi_handler import get_asgi_application
from jielong.join import sql
from jielong.join.asgi import JoinGateway
from jielong.models import Order
from privacy import services as privacy_services
from tests import factories as f
from tests.jielong.gateway_client import call, cookie_headers, post_many, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

FORM = "application/x-www-form-urlencoded"


def _form_headers(session_key: str | None, *, csrf: bool = True, language: str | None = None):
    """A browser's form post: the CSRF cookie and the same token in the form's hidden field."""
    token = secrets.token_hex(16)
    cookies = [f"{settings.SESSION_COOKIE_NAME}={session_key}"] if session_key else []
    if csrf:
        cookies.append(f"{settings.CSRF_COOKIE_NAME}={token}")
    if language:
        cookies.append(f"{settings.LANGUAGE_COOKIE_NAME}={language}")
    return {"Cookie": "; ".join(cookies)}, token


def _post_forms(forms, *, inner=None):
    """POST the join forms concurrently through one gateway whose Django is the real app; returns the
    responses and how many group calls reached the database."""
    group_calls = []

    async def go():
        gateway = JoinGateway(inner or get_asgi_application())
        run_joins = gateway.run_joins

        async def counted(campaign_id, requests):
            group_calls.append(len(requests))
            return await run_joins(campaign_id, requests)

        gateway.run_joins = counted
        try:
            return await asyncio.gather(
                *(
                    call(gateway, path, urlencode(data).encode(), headers, content_type=FORM)
                    for path, data, headers in forms
                )
            )
        finally:
            await gateway.aclose()

    return asyncio.run(go()), group_calls


def _form(given, user_key, *, qty="1", key=None, csrf=True, **extra):
    headers, token = _form_headers(user_key, csrf=csrf)
    data = {
        "csrfmiddlewaretoken": token,
        "idempotency_key": key or secrets.token_hex(16),
        f"qty_{given.item.pk}": qty,
        "pickup_point": str(given.point.pk),
        "note": "",
    } | extra
    return f"/m/jielong/{given.campaign.pk}/join/", data, headers


def _service_joins(monkeypatch):
    """Counts the page view's own joins (``services.order_join`` → ``sql.run_joins``)."""
    seen = []
    real = sql.run_joins

    def counted(**kwargs):
        seen.append(kwargs["campaign_id"])
        return real(**kwargs)

    monkeypatch.setattr(sql, "run_joins", counted)
    return seen


def test_a_page_join_is_answered_in_the_group_call_with_the_page_s_redirect_and_message(monkeypatch):
    given = f.open_campaign(members=3, perk_limit=1, threshold=2)
    service_joins = _service_joins(monkeypatch)
    forms = [_form(given, session_cookie(u), note="放门口") for u in given.members]

    responses, group_calls = _post_forms(forms, inner=_refuse_django)

    assert [r.status_code for r in responses] == [302] * 3
    assert {r.headers["location"] for r in responses} == {f"/m/jielong/{given.campaign.pk}/#my-order"}
    assert {r.headers["content-length"] for r in responses} == {"0"}  # keep-alive clients need the length
    assert sum(group_calls) == 3 and service_joins == []
    orders = Order.objects.filter(campaign=given.campaign).order_by("seq")
    assert [(o.seq, o.note, o.pickup_point_id) for o in orders] == [(n, "放门口", given.point.pk) for n in (1, 2, 3)]
    assert SKU.objects.get(pk=given.sku.pk).stock == 97

    # The flash message rides in Django's message cookie and shows on the page the redirect opens.
    first = orders[0].user
    response = responses[[u.pk for u in given.members].index(first.pk)]
    browser = Client()
    browser.force_login(first)
    browser.cookies.load(response.headers["set-cookie"])
    page = browser.get(response.headers["location"].split("#")[0])
    assert f"接龙成功！您的接龙号是 {orders[0].seq}。" in page.content.decode()


def _refuse_django(scope, receive, send):  # pragma: no cover - fails the test if reached
    raise AssertionError(f"the gateway passed {scope['method']} {scope['path']} on to Django")


def test_a_double_tap_is_one_order_and_both_taps_land_on_it():
    given = f.open_campaign(members=1, perk_limit=1, threshold=2)
    key = session_cookie(given.members[0])
    same = secrets.token_hex(16)

    responses, _calls = _post_forms([_form(given, key, key=same), _form(given, key, key=same)], inner=_refuse_django)

    assert [r.status_code for r in responses] == [302, 302]
    assert Order.objects.filter(campaign=given.campaign).count() == 1


def test_a_sold_out_join_is_answered_in_the_group_call_back_to_the_page_with_the_refusal(monkeypatch):
    """At sell-out every late form is refused: each is answered as a join is, by the redirect and the flash
    message, without waiting for Django's thread behind the pages being opened."""
    given = f.open_campaign(members=1, stock=0, perk_limit=1, threshold=2)
    service_joins = _service_joins(monkeypatch)

    [response], group_calls = _post_forms([_form(given, session_cookie(given.members[0]))], inner=_refuse_django)

    assert response.status_code == 302
    assert response.headers["location"] == f"/m/jielong/{given.campaign.pk}/"
    assert group_calls == [1] and service_joins == []
    assert Order.objects.count() == 0
    browser = Client()
    browser.force_login(given.members[0])
    browser.cookies.load(response.headers["set-cookie"])
    page = browser.get(response.headers["location"]).content.decode()
    assert '<p class="message message-error">抱歉，' in page and "已售罄" in page


def test_a_refusal_of_the_member_s_input_is_worded_on_the_form_by_the_page_and_not_tried_twice(monkeypatch):
    given = f.open_campaign(members=1, per_member_limit=2, perk_limit=1, threshold=2)
    service_joins = _service_joins(monkeypatch)

    [response], group_calls = _post_forms([_form(given, session_cookie(given.members[0]), qty="3")])

    assert response.status_code == 400
    assert "最多" in response.content.decode() and 'id="jl-error"' in response.content.decode()
    assert group_calls == [1] and service_joins == []
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"qty": "abc"}, 400, "数量"),
        ({"qty": "-1"}, 400, "数量"),
        ({"pickup_point": "x"}, 400, "自提点"),
        ({"note": "a\x00b"}, 400, None),
    ],
)
def test_input_the_rules_refuse_never_reaches_a_group_call_and_reads_as_on_the_page(change, status, words):
    given = f.open_campaign(members=1, perk_limit=1, threshold=2)
    qty = change.pop("qty", "1")

    [response], group_calls = _post_forms([_form(given, session_cookie(given.members[0]), qty=qty, **change)])

    assert response.status_code == status
    if words:
        assert words in response.content.decode()
    assert group_calls == []
    assert Order.objects.count() == 0


def test_who_may_not_join_gets_the_page_s_own_answer():
    given = f.open_campaign(members=1, perk_limit=1, threshold=2)
    staff = f.operator()
    member_key = session_cookie(given.members[0])

    forms = [
        _form(given, None),  # signed out: to the member sign-in
        _form(given, session_cookie(staff)),  # staff: the member pages are not theirs
        _form(given, member_key, csrf=False),  # no CSRF cookie: Django's CSRF failure
    ]
    forms[2][1]["csrfmiddlewaretoken"] = "forged"
    responses, group_calls = _post_forms(forms)

    assert responses[0].status_code == 302 and "/m/login/" in responses[0].headers["Location"]
    assert [r.status_code for r in responses[1:]] == [403, 403]
    assert group_calls == []
    assert Order.objects.count() == 0


def test_sign_out_everywhere_ends_the_sessions_the_gateway_accepts():
    """The gateway checks a session like Django does, ``User.session_epoch`` included: after "sign out
    everywhere" an old session cannot join, a new one can."""
    given = f.open_campaign(members=1, perk_limit=1, threshold=2)
    user = given.members[0]
    old = session_cookie(user)
    privacy_services.sign_out_everywhere(user=user)
    user.refresh_from_db()
    new = session_cookie(user)
    body = f'{{"items": [{{"item": {given.item.pk}, "quantity": 1}}]}}'.encode()
    path = f"/api/jielong/campaigns/{given.campaign.pk}/join/"

    refused, joined = post_many([(path, body, cookie_headers(old)), (path, body, cookie_headers(new))])

    assert (refused.status_code, joined.status_code) == (403, 201)
    assert Order.objects.filter(user=user).count() == 1
