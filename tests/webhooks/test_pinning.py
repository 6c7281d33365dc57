"""A send connects to the address its check resolved, under the endpoint's name: a name that answers the
check with a public address and the connection with an internal one (DNS rebinding) reaches nothing inside."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests import factories
from webhooks import sending, services, urlcheck
from webhooks.models import Attempt

from .conftest import endpoint_for

PUBLIC, INSIDE = "93.184.216.34", "127.0.0.1"


REAL_GETADDRINFO = socket.getaddrinfo


class Resolver:
    """getaddrinfo that answers each lookup of a name under example.com with the next address of ``answers``
    (the last one once they run out); other hosts (an address, the database's, Redis's) resolve as usual."""

    def __init__(self, *answers: str):
        self.answers, self.asked = list(answers), []

    def __call__(self, host, port, *args, **kwargs):
        if not str(host).endswith("example.com"):
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        self.asked.append(host)
        address = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]


def claim(url: str) -> sending.Claim:
    return sending.Claim(
        delivery_id=1, lease=None, url=url, secrets=("s",), body="{}", event_uuid="e", event_type="t", is_replay=False
    )


@pytest.fixture
def public_only(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False


def sent_through(url: str) -> httpx.Request:
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        result = sending.post(claim(url), client=client)
    assert result.is_ok, result
    return seen[0]


def test_the_post_goes_to_the_checked_address_under_the_name(public_only, monkeypatch):
    resolver = Resolver(PUBLIC, INSIDE)  # the second lookup would rebind to the inside
    monkeypatch.setattr(urlcheck.socket, "getaddrinfo", resolver)
    request = sent_through("https://hooks.example.com:8443/in?x=1")
    assert resolver.asked == ["hooks.example.com"]  # one lookup, the checked one
    assert (request.url.host, request.url.port, request.url.raw_path) == (PUBLIC, 8443, b"/in?x=1")
    assert request.headers["host"] == "hooks.example.com:8443" and request.headers["connection"] == "close"
    assert request.extensions["sni_hostname"] == "hooks.example.com"  # TLS asks for and checks the name


def test_plain_http_and_ipv6_are_pinned_too_and_a_literal_address_is_sent_as_it_is(public_only, monkeypatch):
    monkeypatch.setattr(urlcheck.socket, "getaddrinfo", Resolver("2606:2800:220:1::1"))
    request = sent_through("http://user:pw@hooks.example.com/in")
    assert str(request.url).startswith("http://user:pw@[2606:2800:220:1::1]/in")
    assert request.headers["host"] == "hooks.example.com" and "sni_hostname" not in request.extensions

    monkeypatch.setattr(urlcheck.socket, "getaddrinfo", Resolver(PUBLIC))
    request = sent_through(f"https://{PUBLIC}/in")
    assert request.url.host == PUBLIC and request.headers["host"] == PUBLIC
    assert request.headers["connection"] == "keep-alive"


def test_a_name_that_resolves_inside_is_refused_without_a_connection(public_only, monkeypatch):
    monkeypatch.setattr(urlcheck.socket, "getaddrinfo", Resolver(INSIDE))
    with httpx.Client(transport=httpx.MockTransport(lambda r: pytest.fail("connected"))) as client:
        result = sending.post(claim("http://rebind.example.com/in"), client=client)
    assert result.outcome == Attempt.Outcome.REFUSED and "internal address (127.0.0.1)" in result.error


@pytest.mark.django_db
def test_a_real_delivery_arrives_through_the_pinned_address(receiver, public_only, monkeypatch):
    # The receiver listens on 127.0.0.1; the test counts that address as public so the name's check passes,
    # and the name itself resolves nowhere else: only the pinned address can reach the receiver.
    monkeypatch.setattr(urlcheck, "_internal", lambda address: False)
    resolver = Resolver(INSIDE, "192.0.2.1")  # a second lookup would lead nowhere
    monkeypatch.setattr(urlcheck.socket, "getaddrinfo", resolver)
    operator = factories.operator()
    port = receiver.url.rsplit(":", 1)[1].split("/")[0]
    endpoint = endpoint_for(receiver, brand=factories.brand(), by=operator)
    endpoint.url = f"http://hooks.example.com:{port}/hooks"
    endpoint.save(update_fields=["url"])
    services.endpoint_send_test(by=operator, endpoint=endpoint)
    assert sending.send_due() == 1
    (got,) = receiver.received
    assert got.verified and got.headers["host"] == f"hooks.example.com:{port}"
    assert Attempt.objects.get().outcome == Attempt.Outcome.OK and resolver.asked == ["hooks.example.com"]
