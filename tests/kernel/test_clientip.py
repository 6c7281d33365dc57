"""Rate limits count per client address: a forwarded header counts only from a trusted proxy."""

import pytest
from django.test import RequestFactory

from groupbuy.clientip import client_ip

rf = RequestFactory()


def _request(peer: str, forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return rf.get("/", REMOTE_ADDR=peer, headers=headers)


@pytest.mark.parametrize("forwarded", ["1.2.3.4", "9.9.9.9, 1.2.3.4", "not-an-ip"], ids=["one", "two", "junk"])
def test_with_no_trusted_proxy_the_header_is_ignored(settings, forwarded):
    """The attack: rotate X-Forwarded-For to get a fresh per-IP SMS budget on every request."""
    settings.TRUSTED_PROXIES = []

    assert client_ip(_request("203.0.113.7", forwarded)) == "203.0.113.7"


def test_a_request_from_an_untrusted_peer_cannot_name_its_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]

    assert client_ip(_request("203.0.113.7", "1.2.3.4")) == "203.0.113.7"


def test_from_a_trusted_proxy_the_address_it_saw_counts(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]

    # The client typed "6.6.6.6"; the proxy appended the peer it saw, 198.51.100.9.
    assert client_ip(_request("10.0.0.2", "6.6.6.6, 198.51.100.9")) == "198.51.100.9"


def test_chained_trusted_proxies_are_skipped_from_the_right(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24", "172.18.0.1"]

    assert client_ip(_request("172.18.0.1", "6.6.6.6, 198.51.100.9, 10.0.0.5")) == "198.51.100.9"


def test_a_trusted_proxy_without_a_header_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]

    assert client_ip(_request("10.0.0.2")) == "10.0.0.2"


def test_a_malformed_entry_from_the_proxy_falls_back_to_the_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]

    assert client_ip(_request("10.0.0.2", "6.6.6.6, garbage")) == "10.0.0.2"
