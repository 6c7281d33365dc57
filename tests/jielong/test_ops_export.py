"""The operators' xlsx export: masked by a plain GET that writes nothing; full phone numbers only by
a POST (the campaign page's button carries a CSRF token), and that download is recorded."""

from io import BytesIO

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from analytics.models import Event
from jielong import services
from tests import factories as f

pytestmark = pytest.mark.django_db

FULL_PHONE = "+8613800138000"


@pytest.fixture
def given():
    scenario = f.open_campaign(members=1)
    buyer = f.add_member(scenario, phone=FULL_PHONE)
    for user in (scenario.members[0], buyer):
        services.order_join(campaign_id=scenario.campaign.pk, user=user, quantities={scenario.item.pk: 1})
    return scenario


@pytest.fixture
def ops(client):
    operator = f.operator()
    client.force_login(operator)
    client.operator = operator
    return client


def _phones(content: bytes) -> set[str]:
    workbook = load_workbook(BytesIO(content))
    return {row[11] for sheet in workbook for row in sheet.iter_rows(min_row=2, values_only=True)}


def _masked_url(given):
    return reverse("jielong:ops-campaign-export", args=[given.campaign.pk])


def _full_url(given):
    return reverse("jielong:ops-campaign-export-full-phones", args=[given.campaign.pk])


def test_the_masked_export_is_a_get_and_records_nothing(ops, given, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.get(_masked_url(given))

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="jielong-{given.campaign.pk}.xlsx"'
    phones = _phones(response.content)
    assert FULL_PHONE not in phones
    assert given.members[1].masked_phone in phones
    assert Event.objects.filter(name="jielong.export_full_phones").count() == 0


def test_asking_the_get_for_full_phones_still_gives_masked_ones_and_records_nothing(ops, given):
    response = ops.get(_masked_url(given), {"full_phones": "1"})

    assert response.status_code == 200
    assert FULL_PHONE not in _phones(response.content)
    assert Event.objects.filter(name="jielong.export_full_phones").count() == 0


def test_the_full_phone_export_is_a_post_and_is_recorded(ops, given, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(_full_url(given))

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="jielong-{given.campaign.pk}.xlsx"'
    assert FULL_PHONE in _phones(response.content)
    event = Event.objects.get(name="jielong.export_full_phones")
    assert (event.campaign_id, event.user_id) == (given.campaign.pk, ops.operator.pk)


def test_the_full_phone_export_refuses_a_get_and_records_nothing(ops, given):
    response = ops.get(_full_url(given))

    assert response.status_code == 405
    assert Event.objects.filter(name="jielong.export_full_phones").count() == 0


def test_the_full_phone_export_needs_the_csrf_token(given):
    operator = f.operator()
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)

    response = client.post(_full_url(given))

    assert response.status_code == 403
    assert Event.objects.filter(name="jielong.export_full_phones").count() == 0


@pytest.mark.parametrize("role", ["member", "host", "assistant"])
def test_only_operators_take_full_phones(client, given, role):
    client.force_login({"member": f.member, "host": f.host, "assistant": f.assistant}[role]())

    response = client.post(_full_url(given))

    assert response.status_code == 403
    assert Event.objects.filter(name="jielong.export_full_phones").count() == 0


def test_the_campaign_page_offers_full_phones_as_a_form_with_a_csrf_token(ops, given):
    html = ops.get(reverse("jielong:ops-campaign", args=[given.campaign.pk])).content.decode()

    form = html[html.index(f'action="{_full_url(given)}"') - 30 :]
    form = form[: form.index("</form>")]
    assert '<form method="post"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert "full_phones=1" not in html
