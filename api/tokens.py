"""Integration tokens: made by an operator, shown once, stored hashed, scoped, expiring, revocable.

A token reads ``gb_<prefix>_<secret>``: the prefix (8 hex) is kept in clear to tell tokens apart; the
secret (43 url-safe characters, 256 bits) only as sha256 of the whole token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from community.access import may_see_brand
from community.models import Brand, User
from groupbuy import audit, clock
from groupbuy.errors import DomainError

from .models import ApiToken
from .scopes import SCOPES

TOKEN_START = "gb_"
MAX_DAYS = 366
# last_used_at is written at most once a minute per token: a busy integration must not write on every call.
LAST_USED_EVERY = timedelta(minutes=1)


class TokenRefused(DomainError):
    """A token that cannot be made or used (codes: token_invalid, token_expired, token_revoked, …)."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    plaintext: str  # shown once, never stored


def token_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def token_create(
    *, brand: Brand, name: str, scopes: list[str], by: User, expires_in_days: int | None, now: datetime | None = None
) -> NewToken:
    """Make a token for ``brand`` (the operator must see the brand). Unknown scopes, no scope, a blank name
    or an expiry beyond a year are refused."""
    now = now or clock.now()
    name = (name or "").strip()
    if not by.is_operator or not may_see_brand(user=by, brand=brand):
        raise TokenRefused(_("Only an operator of this brand can make its tokens."), code="forbidden")
    if not name or len(name) > 64:
        raise TokenRefused(_("Give the token a name of at most 64 characters."), code="name")
    chosen = sorted(set(scopes))
    if not chosen or any(scope not in SCOPES for scope in chosen):
        raise TokenRefused(_("Choose at least one scope from the list."), code="scopes")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
        raise TokenRefused(_("A token expires within 1 to %(days)s days.") % {"days": MAX_DAYS}, code="expiry")
    with transaction.atomic():
        while True:
            prefix = secrets.token_hex(4)
            if not ApiToken.objects.filter(prefix=prefix).exists():
                break
        plaintext = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"
        token = ApiToken.objects.create(
            brand=brand,
            name=name,
            scopes=chosen,
            prefix=prefix,
            secret_hash=token_hash(plaintext),
            created_by=by,
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        # A token reads the brand's members and orders: who made it, with which scopes, is audited.
        audit.record(
            "api.token_created",
            actor=by,
            target=token,
            brand_id=brand.pk,
            after={"name": name, "scopes": ", ".join(chosen), "expires_at": str(token.expires_at or "")},
        )
    return NewToken(token=token, plaintext=plaintext)


def token_revoke(*, token_id: int, by: User, now: datetime | None = None) -> ApiToken:
    """Revoke a token at once (its next call answers 401 ``token_revoked``). Revoking twice keeps the first time."""
    now = now or clock.now()
    token = ApiToken.objects.filter(pk=token_id).first()
    if token is None or not by.is_operator or not may_see_brand(user=by, brand=token.brand_id):
        raise TokenRefused(_("That token does not exist."), code="not_found")
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=by)
        if revoked:
            audit.record("api.token_revoked", actor=by, target=token, brand_id=token.brand_id)
    token.refresh_from_db(fields=["revoked_at", "revoked_by"])
    return token


def token_authenticate(plaintext: str, *, now: datetime | None = None) -> ApiToken:
    """The live token for ``plaintext``, its last use recorded (at most once a minute); refused when unknown,
    revoked or expired."""
    now = now or clock.now()
    token = None
    if plaintext.startswith(TOKEN_START) and len(plaintext) < 200:
        token = ApiToken.objects.select_related("brand", "created_by").filter(secret_hash=token_hash(plaintext)).first()
    if token is None:
        raise TokenRefused(_("This API token is not valid."), code="token_invalid")
    if token.revoked_at is not None:
        raise TokenRefused(_("This API token was revoked."), code="token_revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused(_("This API token has expired."), code="token_expired")
    if token.last_used_at is None or token.last_used_at <= now - LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def tokens_for_staff(user: User):
    from community.access import for_staff

    return for_staff(ApiToken.objects.select_related("brand", "created_by"), user=user)
