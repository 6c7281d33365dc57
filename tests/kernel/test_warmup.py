"""Start-up warm-up (groupbuy.warmup) and the lifespan that runs it (groupbuy.lifespan): a fresh process's
first page compiles no template and builds no URL table, and a start-up step that fails does not stop
the server."""

import asyncio
from unittest import mock

import pytest
from django.template import engines
from django.template.base import Template
from django.urls import clear_url_caches, get_resolver

from groupbuy import warmup
from groupbuy.lifespan import Lifespan
from tests import factories as f


def _as_if_fresh() -> None:
    """Forget what this process compiled and built, as a new server process has nothing."""
    for engine in engines.all():
        for loader in engine.engine.template_loaders:
            loader.reset()
    clear_url_caches()


def _first_page_compiles(client, campaign) -> list[str]:
    compiled = []
    original = Template.compile_nodelist

    def counting(template):
        compiled.append(template.origin.template_name)
        return original(template)

    with mock.patch.object(Template, "compile_nodelist", counting):
        response = client.get(f"/m/jielong/{campaign.pk}/")
    assert response.status_code == 200
    return compiled


@pytest.mark.django_db
def test_first_member_page_after_the_warm_up_compiles_no_template(client):
    given = f.open_campaign(members=1)
    client.force_login(given.members[0])
    _as_if_fresh()
    assert _first_page_compiles(client, given.campaign), "a fresh process compiles the page's templates"

    _as_if_fresh()
    done = warmup.warm_process()

    assert done["languages"] == 2
    assert done["templates"] > 100
    assert done["databases"] >= 1
    assert _first_page_compiles(client, given.campaign) == []
    # The URL tables are built for both languages (reverse() in a view reads its language's table).
    assert {"zh-hans", "en"} <= set(get_resolver()._reverse_dict)


@pytest.mark.django_db
def test_a_step_that_fails_is_logged_and_the_others_still_run(caplog):
    def _templates(done):
        raise OSError("disk gone")

    with mock.patch.object(warmup, "_templates", _templates):
        done = warmup.warm_process()
    assert done["templates"] == 0
    assert done["languages"] == 2 and done["databases"] >= 1
    assert "_templates failed" in caplog.text


def _drive(lifespan: Lifespan, *messages: str) -> list[dict]:
    incoming = [{"type": m} for m in messages]
    sent: list[dict] = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(lifespan({"type": "lifespan"}, receive, send))
    return sent


def test_lifespan_starts_after_a_failed_step_and_runs_every_step_in_order(caplog):
    ran = []

    async def broken():
        ran.append("broken")
        raise RuntimeError("pool")

    async def fine():
        ran.append("fine")

    async def drain():
        ran.append("drain")

    sent = _drive(Lifespan(startup=[broken, fine], shutdown=[drain]), "lifespan.startup", "lifespan.shutdown")

    assert ran == ["broken", "fine", "drain"]
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
    assert "broken failed; starting anyway" in caplog.text


def test_lifespan_reports_a_failed_shutdown_after_running_the_rest():
    ran = []

    async def broken():
        raise RuntimeError("queue")

    async def close():
        ran.append("close")

    sent = _drive(Lifespan(shutdown=[broken, close]), "lifespan.startup", "lifespan.shutdown")

    assert ran == ["close"]
    assert sent[0] == {"type": "lifespan.startup.complete"}
    assert sent[1]["type"] == "lifespan.shutdown.failed" and "queue" in sent[1]["message"]
