"""``webhooks.signing.verify``, as a receiver uses it: a genuine request passes; a changed body, a wrong
secret, a captured request replayed later and a malformed header are refused with a stable code."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from webhooks import signing
from webhooks.signing import SignatureError, verify

SECRET = "whsec_test-secret"
BODY = '{"id":"e1","type":"order.created","data":{"order_id":7,"note":"多要葱"}}'.encode()
NOW = 1_900_000_000


def headers(timestamp: int = NOW, secrets=(SECRET,), body: bytes = BODY) -> dict:
    return {signing.SIGNATURE_HEADER: signing.signature_header(secrets, timestamp, body)}


def test_a_genuine_request_passes_and_returns_its_time():
    assert verify(SECRET, headers(), BODY, now=NOW) == NOW
    # header names are matched whatever their case (frameworks lower-case them)
    lowered = {k.lower(): v for k, v in headers().items()}
    assert verify(SECRET, lowered, BODY.decode(), now=NOW + 299) == NOW


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert headers()[signing.SIGNATURE_HEADER] == f"t={NOW},v1={expected}"


@pytest.mark.parametrize(
    ("given", "code"),
    [
        pytest.param({"secret": "whsec_other"}, "mismatch", id="wrong-secret"),
        pytest.param({"body": BODY.replace(b"7", b"8")}, "mismatch", id="changed-body"),
        pytest.param({"now": NOW + 301}, "too_old", id="replayed-after-tolerance"),
        pytest.param({"now": NOW - 301}, "in_future", id="from-the-future"),
        pytest.param({"headers": {}}, "missing", id="no-header"),
        pytest.param({"headers": {signing.SIGNATURE_HEADER: "v1=abc"}}, "malformed", id="no-timestamp"),
        pytest.param({"headers": {signing.SIGNATURE_HEADER: f"t={NOW}"}}, "malformed", id="no-signature"),
        pytest.param({"headers": {signing.SIGNATURE_HEADER: "t=soon,v1=abc"}}, "malformed", id="bad-timestamp"),
    ],
)
def test_a_bad_or_replayed_request_is_refused(given, code):
    with pytest.raises(SignatureError) as refused:
        verify(
            given.get("secret", SECRET),
            given.get("headers", headers()),
            given.get("body", BODY),
            now=given.get("now", NOW),
        )
    assert refused.value.code == code


def test_an_old_request_passes_a_wider_tolerance_only():
    with pytest.raises(SignatureError):
        verify(SECRET, headers(NOW - 600), BODY, now=NOW)
    assert verify(SECRET, headers(NOW - 600), BODY, tolerance=900, now=NOW) == NOW - 600


def test_during_a_rotation_either_secret_verifies():
    both = headers(secrets=("whsec_new", SECRET))
    assert verify("whsec_new", both, BODY, now=NOW) == NOW
    assert verify(SECRET, both, BODY, now=NOW) == NOW
    with pytest.raises(SignatureError):
        verify("whsec_third", both, BODY, now=NOW)


def test_new_secrets_are_long_and_distinct():
    made = {signing.new_secret() for _ in range(20)}
    assert len(made) == 20 and all(s.startswith("whsec_") and len(s) >= 40 for s in made)
