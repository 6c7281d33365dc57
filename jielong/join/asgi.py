"""The ASGI fast path for the busiest request there is: joining at the end of a live.

``POST /api/jielong/campaigns/<id>/join/`` is answered here, before Django's request handling,
when the database is PostgreSQL and sessions live in it. Everything else goes on to Django.

Why: when a live ends, hundreds of members tap 接龙 within seconds. Through Django's synchronous
stack each request costs a thread hop, the middleware chain and ~14 ORM queries, and the join
rate stayed near 60/s on a 2-core server. Here a request costs two small queries to check the
session, then joins that arrive together for one campaign go to the database as one call of
``jielong_join`` under one lock and one commit (group commit). The rules themselves are not
repeated: they live in ``jielong_join`` (the same function ``services.order_join`` calls), the
input is parsed by the API's serializer (or ``plainly_valid`` for the everyday body) and judged by
``rules.check_input``, refusals are worded by ``rules.join_error``, and session/CSRF checks are
Django's and DRF's own. Group commit is ``group_call.GroupCall``; events and the broadcast after
the answers run on ``after_join.AfterJoinThread``, and the ASGI lifespan shutdown (uvicorn
``--lifespan on``) finishes them before the process exits. Every request is judged by
``rules.check_input`` before it may join a group call, so one bad request cannot fail the others.
``tests/jielong/test_api.py`` runs every API test against both this path and the DRF view.

The member page's join form (``POST /m/jielong/<id>/join/``) takes the same path: during the storm
after 发布接龙 a page join through Django waited in line for the process's one thread for synchronous
views, behind every page being opened, and then for the stock row behind the group calls. Here it
joins the storm's group call, and a success, or a refusal that says the jielong moved on (sold out,
full, joined already), is answered with the redirect and the flash message the page view sends.
Anything else — no member session, a CSRF failure, input the rules refuse, any other refusal — goes on
to the page view, which answers it as always (a refusal is handed over, not retried:
``rules.refusal_from_gateway``).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections import defaultdict
from functools import partial
from typing import Any

import psycopg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.models import Session
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from psycopg_pool import AsyncConnectionPool
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication

from groupbuy import clock
from groupbuy.errors import DomainError
from groupbuy.middleware import ChineseFirstLocaleMiddleware

from .. import api
from . import after_join, rules, sql
from .group_call import GroupCall

logger = logging.getLogger(__name__)
security_logger = logging.getLogger("django.security.DisallowedHost")

JOIN_PATH = re.compile(r"^/api/jielong/campaigns/(\d+)/join/$")
PAGE_JOIN_PATH = re.compile(r"^/m/jielong/(\d+)/join/$")
MAX_BODY = 64 * 1024
# Joins of one campaign sent to the database in one call; more wait for the next call.
MAX_BATCH = 100
# Events and the broadcast for committed joins are gathered this long and handled together. The
# broadcast coalesces over 0.1 s anyway, so members see progress no later.
AFTER_JOIN_DELAY = 0.05
DB_SESSION_ENGINES = {"django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"}


def enabled() -> bool:
    return (
        settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
        and settings.SESSION_ENGINE in DB_SESSION_ENGINES
        and getattr(settings, "JIELONG_JOIN_GATEWAY", True)
    )


class JoinGateway:
    """ASGI middleware: answers joins itself, passes every other request to ``app``."""

    def __init__(self, app) -> None:
        self.app = app
        self.enabled = enabled()
        self._pool: AsyncConnectionPool | None = None
        self._pool_lock: asyncio.Lock | None = None
        self._batchers: dict[int, GroupCall] = {}
        self._sessions = GroupCall(self._users_by_session, MAX_BATCH)
        self._after_thread: after_join.AfterJoinThread | None = None
        self._after: defaultdict[int, list[tuple[int, dict]]] = defaultdict(list)
        self._after_scheduled = False

    async def __call__(self, scope, receive, send) -> None:
        if self.enabled and scope["type"] == "http" and scope["method"] == "POST":
            match = JOIN_PATH.match(scope["path"])
            if match:
                await self._join(scope, receive, send, int(match[1]))
                return
            match = PAGE_JOIN_PATH.match(scope["path"])
            if match:
                await self._page_join(scope, receive, send, int(match[1]))
                return
        await self.app(scope, receive, send)

    async def start(self) -> None:
        """Open the database pool before the first join (server start-up, ``groupbuy.asgi``): the first
        joins of a fresh process would otherwise wait for it together."""
        if self.enabled:
            await self._get_pool()

    async def aclose(self) -> None:
        """Finish queued after-join work and close the database pool (shutdown, and tests)."""
        if self._after:
            self._flush_after()
        if self._after_thread is not None:
            await asyncio.to_thread(self._after_thread.stop)
            self._after_thread = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    # --- one request -------------------------------------------------------------------------

    async def _join(self, scope, receive, send, campaign_id: int) -> None:
        body = await _read_body(receive)
        if body is None:
            await _send_json(send, 413, {"detail": "Request body too large."}, settings.LANGUAGE_CODE)
            return
        request = ASGIRequest(scope, io.BytesIO(body))
        try:
            # ALLOWED_HOSTS, exactly as Django applies it (DEBUG's localhost names included).
            request.get_host()
        except DisallowedHost as exc:
            security_logger.error(str(exc), extra={"status_code": 400, "request": request})
            await _send_json(send, 400, {"detail": "Bad Request (400)"}, settings.LANGUAGE_CODE)
            return
        language = ChineseFirstLocaleMiddleware.language_for(request)
        with translation.override(language):
            try:
                status, payload = await self._answer(request, body, campaign_id)
            except Exception:
                logger.exception("join failed in the gateway (campaign %s)", campaign_id)
                status, payload = (
                    503,
                    {"code": "busy", "detail": _("Too many people are joining right now; please try again.")},
                )
            await _send_json(send, status, payload, language)

    async def _answer(self, request: ASGIRequest, body: bytes, campaign_id: int) -> tuple[int, Any]:
        user_id = await self._authenticated_user_id(request)
        if user_id is None:
            return 403, {"detail": str(exceptions.NotAuthenticated.default_detail)}
        try:
            SessionAuthentication().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            return 403, {"detail": str(exc.detail)}
        try:
            data = json.loads(body or b"null")
        except ValueError:
            return 400, {"detail": str(exceptions.ParseError.default_detail)}
        validated = plainly_valid(data)
        if validated is None:
            # Anything unusual is parsed, and its errors worded, by the API's own serializer.
            serializer = api.JoinSerializer(data=data)
            if not serializer.is_valid():
                return 400, {"code": "invalid", "detail": serializer.errors}
            validated = serializer.validated_data
        quantities = rules.quantities_from(validated["items"])
        try:
            rules.check_input(
                quantities=quantities,
                pickup_point_id=validated.get("pickup_point"),
                note=validated.get("note", ""),
                idempotency_key=request.headers.get("Idempotency-Key", ""),
            )
        except DomainError as exc:
            return api.error_status(exc), {"code": exc.code, "detail": exc.message}
        join = sql.JoinRequest(
            user_id=user_id,
            items=tuple(quantities.items()),
            pickup_point_id=validated.get("pickup_point"),
            note=validated.get("note", ""),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        outcome = await self._batcher(campaign_id).submit(join)
        if not outcome["ok"]:
            exc = rules.join_error(outcome)
            return api.error_status(exc), {"code": exc.code, "detail": exc.message}
        payload = {key: outcome[key] for key in ("id", "seq", "status", "payment_status", "is_perk", "total_fen")}
        payload |= {"campaign": campaign_id, "campaign_version": outcome["campaign_version"]}
        return (201 if outcome["created"] else 200), payload

    async def _page_join(self, scope, receive, send, campaign_id: int) -> None:
        body = await _read_body(receive)
        if body is None:
            await _send_json(send, 413, {"detail": "Request body too large."}, settings.LANGUAGE_CODE)
            return
        request = ASGIRequest(scope, io.BytesIO(body))
        outcome = None
        try:
            request.get_host()
        except DisallowedHost:
            pass  # Django answers it (400), as for any page
        else:
            language = ChineseFirstLocaleMiddleware.language_for(request)
            with translation.override(language):
                try:
                    outcome = await self._page_outcome(request, scope, campaign_id)
                except Exception:
                    # The page view tries again (the same idempotency key: never two orders).
                    logger.exception("page join failed in the gateway (campaign %s)", campaign_id)
                if outcome is not None:
                    await _send_response(send, _page_redirect(request, campaign_id, outcome), language)
                    return
        await self.app(scope, _replay(body, receive), send)

    async def _page_outcome(self, request: ASGIRequest, scope: dict, campaign_id: int) -> dict | None:
        """The outcome of a page form that the page answers with a redirect — the committed join, or a
        refusal that says the jielong moved on (``rules.MOVED_ON_FOR_MEMBERS``: sold out, full, joined
        already) — or None for the page view to answer (and ``scope`` carries a refusal for it to show)."""
        found = await self._authenticated_user(request)
        if found is None or found[1] != get_user_model().Role.MEMBER:
            return None  # the page's own answer: sign in, or 403 (``groupbuy.access.member_required``)
        try:
            SessionAuthentication().enforce_csrf(request)
            post = request.POST
            join = sql.JoinRequest(
                user_id=found[0],
                items=tuple(rules.quantities_from_form(post).items()),
                pickup_point_id=rules.pickup_point_from_form(post),
                note=post.get("note", ""),
                idempotency_key=post.get("idempotency_key", ""),
            )
            rules.check_input(
                quantities=dict(join.items),
                pickup_point_id=join.pickup_point_id,
                note=join.note,
                idempotency_key=join.idempotency_key,
            )
        except (exceptions.PermissionDenied, DomainError):
            return None  # Django's CSRF failure page, or the page with the rules' message
        outcome = await self._batcher(campaign_id).submit(join)
        if not outcome["ok"] and outcome["code"] not in rules.MOVED_ON_FOR_MEMBERS:
            scope[rules.GATEWAY_REFUSAL] = outcome
            return None
        return outcome

    async def _authenticated_user_id(self, request: ASGIRequest) -> int | None:
        """Django's session login: the user id, or None."""
        found = await self._authenticated_user(request)
        return found[0] if found is not None else None

    async def _authenticated_user(self, request: ASGIRequest) -> tuple[int, str] | None:
        """Django's session login: (user id, role), or None. Lookups of concurrent requests go to the
        database together (see ``_users_by_session``)."""
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if not session_key or len(session_key) > 40:
            return None
        return await self._sessions.submit(session_key)

    async def _users_by_session(self, session_keys: list[str]) -> list[tuple[int, str] | None]:
        """The same checks as ``django.contrib.auth.get_user``, for many sessions in two queries: a live
        session, a configured backend, an active user, and the session hash a password change or "sign
        out everywhere" (``User.session_epoch``) voids. Each answer is (user id, role) or None."""
        User = get_user_model()
        pool = await self._get_pool()
        async with pool.connection() as conn:
            rows = await (
                await conn.execute(
                    f"SELECT session_key, session_data FROM {Session._meta.db_table} "
                    "WHERE session_key = ANY(%s) AND expire_date > %s",
                    [session_keys, clock.now()],
                )
            ).fetchall()
            sessions = {}
            for key, session_data in rows:
                data = _session_store().decode(session_data)
                if (
                    data.get(SESSION_KEY) is not None
                    and data.get(BACKEND_SESSION_KEY) in settings.AUTHENTICATION_BACKENDS
                ):
                    sessions[key] = (int(data[SESSION_KEY]), data.get(HASH_SESSION_KEY) or "")
            users = {}
            if sessions:
                ids = sorted({user_id for user_id, _hash in sessions.values()})
                users = {
                    pk: User(pk=pk, password=password, session_epoch=epoch, role=role)
                    for pk, password, epoch, role, is_active in await (
                        await conn.execute(
                            f"SELECT {User._meta.pk.column}, password, session_epoch, role, is_active "
                            f"FROM {User._meta.db_table} WHERE {User._meta.pk.column} = ANY(%s)",
                            [ids],
                        )
                    ).fetchall()
                    if is_active
                }
        answers: list[tuple[int, str] | None] = []
        for key in session_keys:
            user_id, session_hash = sessions.get(key, (None, ""))
            user = users.get(user_id)
            if user is None:
                answers.append(None)
                continue
            verified = constant_time_compare(session_hash, user.get_session_auth_hash()) or any(
                constant_time_compare(session_hash, user._get_session_auth_hash(secret=secret))
                for secret in settings.SECRET_KEY_FALLBACKS
            )
            answers.append((user.pk, user.role) if verified else None)
        return answers

    # --- batching and the database -----------------------------------------------------------

    def _batcher(self, campaign_id: int) -> GroupCall:
        batcher = self._batchers.get(campaign_id)
        if batcher is None:
            batcher = self._batchers[campaign_id] = GroupCall(
                partial(self._join_group, campaign_id), MAX_BATCH, on_idle=partial(self._forget_batcher, campaign_id)
            )
        return batcher

    def _forget_batcher(self, campaign_id: int, batcher: GroupCall) -> None:
        """A campaign's GroupCall lives while its joins do; the next join makes a new one."""
        if self._batchers.get(campaign_id) is batcher:
            del self._batchers[campaign_id]

    async def _join_group(self, campaign_id: int, requests: list[sql.JoinRequest]) -> list[dict | BaseException]:
        try:
            outcomes: list[dict | BaseException] = await self.run_joins(campaign_id, requests)
        except Exception as exc:
            if len(requests) == 1:
                return [exc]
            # One bad request (or a deadlock with another campaign sharing a SKU) must not fail
            # the others: the call rolled back as a whole, so go again one by one.
            logger.warning("a group of %s joins failed; retrying one by one", len(requests), exc_info=True)
            outcomes = []
            for request in requests:
                try:
                    outcomes += await self.run_joins(campaign_id, [request])
                except Exception as single:
                    outcomes.append(single)
        self.after_joins(campaign_id, requests, [o if isinstance(o, dict) else {} for o in outcomes])
        return outcomes

    async def _get_pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            if self._pool_lock is None:
                self._pool_lock = asyncio.Lock()
            async with self._pool_lock:
                if self._pool is None:
                    pool = AsyncConnectionPool(
                        _conninfo(),
                        min_size=_pool_size("min_size", 1),
                        max_size=_pool_size("max_size", 4),
                        kwargs={"autocommit": True},
                        open=False,
                        timeout=10,
                    )
                    await pool.open()
                    self._pool = pool
        return self._pool

    async def run_joins(self, campaign_id: int, requests: list[sql.JoinRequest]) -> list[dict]:
        """One call of ``jielong_join``: its own transaction, committed when it returns."""
        pool = await self._get_pool()
        async with pool.connection() as conn:
            cursor = await conn.execute(*sql.join_sql(campaign_id, requests, clock.now()))
            return sql.parse_outcomes(await cursor.fetchone())

    def after_joins(self, campaign_id: int, requests: list[sql.JoinRequest], outcomes: list[dict]) -> None:
        """Queue what follows committed joins: events, broadcast, tier settling (see ``_flush_after``)."""
        created = [(r.user_id, o) for r, o in zip(requests, outcomes, strict=True) if o.get("ok") and o.get("created")]
        if not created:
            return
        self._after[campaign_id].extend(created)
        if not self._after_scheduled:
            self._after_scheduled = True
            asyncio.get_running_loop().call_later(AFTER_JOIN_DELAY, self._flush_after)

    def _flush_after(self) -> None:
        """Hand the queued after-join work to this process's after-join thread (it uses the ORM), off
        the requests' path — the members already have their answers — and in bulk: one call per
        campaign per interval."""
        self._after_scheduled = False
        work, self._after = dict(self._after), defaultdict(list)
        if not work:
            return  # flushed already (by ``aclose``)
        if self._after_thread is None:
            self._after_thread = after_join.AfterJoinThread()
        self._after_thread.queue.put(work)


def plainly_valid(data) -> dict | None:
    """The validated join for the everyday body ({"items": [{"item": 1, "quantity": 2}], ...} with
    plain JSON integers), without the serializer's per-field machinery; None for anything else.

    It only recognises the shape, as the serializer would parse it; the values are judged after, by
    ``rules.check_input``, for both."""
    if type(data) is not dict or not set(data) <= {"items", "pickup_point", "note"}:
        return None
    lines, pickup, note = data.get("items"), data.get("pickup_point"), data.get("note", "")
    if type(lines) is not list or not (pickup is None or rules.is_whole_number(pickup)):
        return None
    if type(note) is not str:
        return None
    for line in lines:
        if type(line) is not dict or set(line) != {"item", "quantity"}:
            return None
        if not (rules.is_whole_number(line["item"]) and rules.is_whole_number(line["quantity"])):
            return None
    validated = {"items": lines}
    if "note" in data:
        validated["note"] = note.strip()
    if "pickup_point" in data:
        validated["pickup_point"] = pickup
    return validated


def _page_redirect(request: ASGIRequest, campaign_id: int, outcome: dict) -> HttpResponseRedirect:
    """What the page view answers a join, or a refusal that says the jielong moved on: back to the page
    (at the member's order after a join) with the flash message, in the cookie, where Django's default
    message storage looks first."""
    page = reverse("jielong:member-campaign", args=[campaign_id])
    storage = CookieStorage(request)
    if outcome["ok"]:
        response = HttpResponseRedirect(page + "#my-order")
        storage.add(messages.SUCCESS, _("You are in! Your jielong number is %(seq)s.") % {"seq": outcome["seq"]})
    else:
        response = HttpResponseRedirect(page)
        storage.add(messages.ERROR, rules.join_error(outcome).message)
    storage.update(response)
    return response


def _replay(body: bytes, receive):
    """The request's ``receive`` for Django: first the body already read, then the server's own (Django
    listens on it for the client going away)."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _read_body(receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


# What Django's middleware adds to every answer (SecurityMiddleware, XFrameOptionsMiddleware, the locale).
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


async def _send_json(send, status: int, payload: Any, language: str) -> None:
    body = json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"content-language", language.encode()),
        (b"vary", b"Accept, Cookie"),
        *_COMMON_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_response(send, response, language: str) -> None:
    """A Django response (the page join's redirect), with the headers Django's middleware would add."""
    headers = [(k.lower().encode("latin1"), v.encode("latin1")) for k, v in response.items()]
    headers.append((b"content-length", str(len(response.content)).encode()))  # as CommonMiddleware sets it
    headers += [(b"set-cookie", c.output(header="").strip().encode("latin1")) for c in response.cookies.values()]
    headers += [(b"content-language", language.encode()), (b"vary", b"Accept-Language, Cookie"), *_COMMON_HEADERS]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})


_session_store_class = None


def _session_store():
    global _session_store_class
    if _session_store_class is None:
        _session_store_class = import_string(settings.SESSION_ENGINE + ".SessionStore")
    return _session_store_class()


def _conninfo() -> str:
    db = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        dbname=db["NAME"],
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=str(db["PORT"]) if db.get("PORT") else None,
    )


def _pool_size(name: str, default: int) -> int:
    """The gateway's pool is sized like Django's (DB_POOL_MIN / DB_POOL_MAX)."""
    return int(settings.DATABASES["default"].get("OPTIONS", {}).get("pool", {}).get(name, default))
