"""schemathesis against the API's own schema, with real auth: a member, a leader, an operator, a token.

Every operation, positive and negative data, three examples each, called as each of the four: no server
error, and every answer (status, content type, body, headers) conforms to the schema. Bounded to stay well
under a minute; the number of calls is printed (``-s``) and asserted.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from api.scopes import SCOPES
from api.tokens import token_create
from tests import factories as f
from tests.aftersales.orders import paid_orders

pytestmark = pytest.mark.django_db

EXAMPLES = 3
# A cursor is opaque and an idempotency key's history is state: the schema cannot say which strings are a live
# cursor or a key not yet used with another body. Those two answers are the only refusals of schema-valid data.
# The dashboard's period (since ≤ until, at most 366 days) is a rule across two parameters, which a schema
# cannot state either.
OPAQUE_REFUSALS = {(400, "invalid_cursor"), (422, "idempotency_key_reused"), (400, "invalid_period")}


def positive_data_accepted(ctx, response, case):
    """schemathesis' positive_data_acceptance, except for the two refusals above."""
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    if (response.status_code, code) in OPAQUE_REFUSALS:
        return None
    return positive_data_acceptance(ctx, response, case)


@pytest.fixture
def wsgi_app():
    """Django's WSGI handler in this process, on the test's connection: like the test client, it must not
    close the connection at the end of each request (the test's transaction holds it)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def session(user) -> dict:
    client = APIClient()
    client.force_login(user)
    return {"cookies": {"sessionid": client.cookies["sessionid"].value}}


def test_schemathesis_finds_no_server_error_and_no_schema_violation(brand_a, operator_a, wsgi_app):
    paid = paid_orders(members=2)
    leader = paid.leader
    member = paid.orders[0].user
    token = token_create(brand=brand_a, name="fuzz", scopes=list(SCOPES), by=operator_a, expires_in_days=1)
    f.pickup_point(community=paid.campaign.communities.get())
    callers = {
        "member": session(member),
        "leader": session(leader),
        "operator": session(operator_a),
        "token": {"headers": {"Authorization": f"Bearer {token.plaintext}"}},
    }
    schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    schema.app = wsgi_app
    calls: dict[str, int] = dict.fromkeys(callers, 0)
    statuses: dict[int, int] = {}
    by_caller: dict[tuple[str, int], int] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 28

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                for name, auth in callers.items():
                    response = case.call_and_validate(
                        **auth,
                        # ignored_auth swaps in a made-up credential but our session cookie rides along: it
                        # holds only for the token (tests/api/test_tokens.py covers bad and missing sessions).
                        excluded_checks=[positive_data_acceptance, *([ignored_auth] if name != "token" else [])],
                        additional_checks=[positive_data_accepted],
                    )
                    calls[name] += 1
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    key = (name, response.status_code)
                    by_caller[key] = by_caller.get(key, 0) + 1

            run()

    total = sum(calls.values())
    print(f"\nschemathesis: {total} calls over {len(operations)} operations; statuses {sorted(by_caller.items())}")
    assert min(calls.values()) >= len(operations)
    assert not any(code >= 500 for code in statuses)
    # Each caller was who it says: sessions reached the API (members and leaders refused, the operator served).
    assert statuses.get(403, 0) >= 2 * 2 * len(operations) * EXAMPLES // 2
