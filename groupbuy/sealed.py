"""Secrets the product must read back, kept sealed in the database (a webhook endpoint's signing secret).

Signing needs the secret itself (HMAC), so it cannot be stored hashed: it is stored encrypted (Fernet:
AES-128-CBC with HMAC-SHA256) under a key derived from ``SECRET_KEY``, so a copy of the database — a
backup, a dump handed to support — does not give a receiver's secret away. ``SECRET_KEY_FALLBACKS`` open
what an earlier key sealed: rotating ``SECRET_KEY`` keeps the secrets readable while the old key is a
fallback (saving a secret again seals it under the new key).

A sealed value starts with ``fernet:``; a value without the mark is a plain one written before sealing,
read as it is (the migration that introduced sealing seals those). Equality lookups on a sealed column
never match: each sealing is randomised.
"""

from __future__ import annotations

import base64
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

logger = logging.getLogger(__name__)

MARK = "fernet:"


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    derived = [hashlib.sha256(b"groupbuy.sealed:" + str(key).encode()).digest() for key in keys]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(key)) for key in derived])


def seal(value: str) -> str:
    return MARK + _fernet().encrypt(value.encode()).decode() if value else value


def unseal(value: str) -> str:
    """The plain value; "" (and an error in the log) when no configured key opens it."""
    if not value or not value.startswith(MARK):
        return value
    try:
        return _fernet().decrypt(value.removeprefix(MARK).encode()).decode()
    except InvalidToken:
        logger.error(
            "a sealed secret could not be opened: SECRET_KEY changed without the old one in SECRET_KEY_FALLBACKS"
        )
        return ""


class SealedCharField(models.CharField):
    """A CharField stored sealed; the model's attribute holds the plain value. ``max_length`` bounds the
    sealed text (a 49-character secret seals to 171 characters)."""

    def from_db_value(self, value, expression, connection):
        return unseal(value) if value is not None else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return seal(value) if value else value
