"""An endpoint's signing secrets are stored sealed (groupbuy.sealed): a copy of the database does not give them
away, the product reads them back, a SECRET_KEY rotated with the old key as a fallback keeps them readable,
and the migration that introduced sealing seals the secrets written plain before it."""

from __future__ import annotations

import importlib
import logging
import types

import pytest
from django.apps import apps
from django.db import connection
from django.test import override_settings

from groupbuy.sealed import MARK
from tests import factories
from webhooks import services
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


def _stored(endpoint: Endpoint) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret, previous_secret FROM webhooks_endpoint WHERE id = %s", [endpoint.pk])
        return cursor.fetchone()


def _endpoint() -> Endpoint:
    operator = factories.operator()
    return services.endpoint_create(
        by=operator,
        brand=factories.brand(),
        data=services.EndpointInput(url="https://hooks.example.com/groupbuy", event_types=["order.created"]),
    )


def test_the_secrets_are_stored_sealed_and_read_back_plain(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    endpoint = _endpoint()
    first = endpoint.secret

    stored, _previous = _stored(endpoint)
    assert stored.startswith(MARK) and first not in stored and first.removeprefix("whsec_")[:12] not in stored
    assert Endpoint.objects.get(pk=endpoint.pk).secret == first

    second = services.endpoint_rotate_secret(by=factories.operator(), endpoint=endpoint)
    stored, previous = _stored(endpoint)
    assert stored.startswith(MARK) and previous.startswith(MARK) and first not in previous
    read = Endpoint.objects.get(pk=endpoint.pk)
    assert (read.secret, read.previous_secret) == (second, first)


def test_a_rotated_secret_key_opens_them_while_the_old_one_is_a_fallback(settings, caplog):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    endpoint = _endpoint()
    old_key = settings.SECRET_KEY

    with override_settings(SECRET_KEY="a-new-secret-key-" + "x" * 40, SECRET_KEY_FALLBACKS=[old_key]):
        assert Endpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret

    lost = override_settings(SECRET_KEY="a-new-secret-key-" + "x" * 40, SECRET_KEY_FALLBACKS=[])
    with lost, caplog.at_level(logging.ERROR, logger="groupbuy.sealed"):
        assert Endpoint.objects.get(pk=endpoint.pk).secret == ""
    assert "SECRET_KEY_FALLBACKS" in caplog.text


def test_the_migration_seals_the_secrets_written_plain_before_it(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    endpoint = _endpoint()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE webhooks_endpoint SET secret = %s, previous_secret = %s WHERE id = %s",
            ["whsec_written-plain", "whsec_older-plain", endpoint.pk],
        )
    assert Endpoint.objects.get(pk=endpoint.pk).secret == "whsec_written-plain"  # a plain one reads as it is

    migration = importlib.import_module("webhooks.migrations.0002_sealed_secrets")
    migration.seal_existing(apps, types.SimpleNamespace(connection=connection))

    stored, previous = _stored(endpoint)
    assert stored.startswith(MARK) and previous.startswith(MARK) and "plain" not in stored + previous
    read = Endpoint.objects.get(pk=endpoint.pk)
    assert (read.secret, read.previous_secret) == ("whsec_written-plain", "whsec_older-plain")
