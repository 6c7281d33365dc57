"""A small server-side challenge (人机验证) asked of a network that has requested many sign-in codes.

No third-party CAPTCHA service is reachable from here, so the challenge is a sum of two digits. It is
not meant to stop a determined program; it turns "one request, one text" into "two requests and a
solved question, one text", and each answer is good once (a token is deleted when it is checked, right
or wrong). The real ceilings on texts are the per-number limits and the hourly budget
(``community.services.signin``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.core.cache import cache

from .. import throttle

CHALLENGE_TTL_SECONDS = 10 * 60


@dataclass(frozen=True)
class Challenge:
    token: str
    question: str


def _key(token: str) -> str:
    return f"{throttle.PREFIX}challenge:{token}"


def signin_challenge_new() -> Challenge:
    """A new question and the token that names it; the answer stays on the server."""
    first, second = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    token = secrets.token_urlsafe(16)
    cache.set(_key(token), first + second, timeout=CHALLENGE_TTL_SECONDS)
    return Challenge(token=token, question=f"{first} + {second} = ?")


def signin_challenge_check(*, token: str, answer: str) -> bool:
    """Whether ``answer`` solves the challenge ``token``; the token is used up either way."""
    token = (token or "").strip()
    if not token or len(token) > 64:
        return False
    key = _key(token)
    expected = cache.get(key)
    # ``delete`` says whether this request removed the key: of two parallel uses, only one passes.
    if expected is None or not cache.delete(key):
        return False
    return (answer or "").strip() == str(expected)
