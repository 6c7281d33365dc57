"""Member sign-in by one-time code sent to a phone (手机号 + 验证码), and the member's own profile.

Sends and checks are throttled per phone and per network (``community.throttle``); five wrong codes lock
the number for a while.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from groupbuy import clock
from groupbuy.errors import DomainError

from .. import throttle
from ..models import PhoneCode, User
from ..phones import normalize_phone
from ..providers.sms import get_sms_provider

logger = logging.getLogger(__name__)

CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=5)
# A code stops working after this many wrong guesses (the throttling issue adds per-phone limits).
MAX_ATTEMPTS = 5


class InvalidPhone(DomainError):
    pass


class CodeInvalid(DomainError):
    pass


class CodeExpired(DomainError):
    pass


class CodeUsed(DomainError):
    pass


class AccountUnavailable(DomainError):
    pass


class TooManyRequests(DomainError):
    pass


class PhoneLocked(DomainError):
    pass


class ProfileInvalid(DomainError):
    pass


@dataclass(frozen=True)
class SentCode:
    """What the sign-in page may show after sending. ``code`` is only displayed in local mode."""

    phone: str
    code: str
    expires_at: datetime


def _hash_code(*, phone: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _normalize(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except ValidationError as exc:
        raise InvalidPhone(exc.messages[0], code="invalid_phone") from None


def _send_sms_rollback_unsafe(*, phone: str, message: str) -> None:
    try:
        get_sms_provider().send(phone=phone, message=message)
    except Exception:
        # The code row stays; the member can ask for a new one. Never let a gateway fail the page.
        logger.exception("sending the sign-in code SMS failed")


def _check_not_locked(phone: str) -> None:
    if throttle.is_locked(phone):
        minutes = throttle.lockout_seconds() // 60
        raise PhoneLocked(
            _("Too many wrong codes for this number. Try again in %(minutes)s minutes.") % {"minutes": minutes},
            code="phone_locked",
        )


def _check_send_allowed(*, phone: str, ip: str | None) -> None:
    """Refuse a send over any limit; counts nothing (``_count_send`` does, once the send is let through)."""
    _check_not_locked(phone)
    minute, hour = throttle.send_limits_per_phone()
    if throttle.is_exhausted(minute, phone):
        raise TooManyRequests(_("A code was just sent. Wait a minute before asking for another."), code="throttled")
    if throttle.is_exhausted(hour, phone):
        raise TooManyRequests(
            _("Too many codes were sent to this number. Try again in an hour."), code="throttled_phone"
        )
    if ip and throttle.is_exhausted(throttle.send_limit_per_ip(), ip):
        raise TooManyRequests(
            _("Too many codes were requested from this network. Try again later."), code="throttled_ip"
        )


def _count_send(*, phone: str, ip: str | None) -> None:
    for limit in throttle.send_limits_per_phone():
        throttle.hit(limit, phone)
    if ip:
        throttle.hit(throttle.send_limit_per_ip(), ip)


def phone_code_send(*, phone: str, ip: str | None = None) -> SentCode:
    """Create a one-time sign-in code for ``phone`` and text it once the transaction commits.

    Refused with :class:`TooManyRequests` over the per-phone (1 a minute, 5 an hour) or per-IP
    (20 an hour) limits, and with :class:`PhoneLocked` while the number is locked out.
    """
    phone = _normalize(phone)
    _check_send_allowed(phone=phone, ip=ip)
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    now = clock.now()
    minutes = int(CODE_TTL.total_seconds() // 60)
    message = _("Your Groupbuy sign-in code is %(code)s. It expires in %(minutes)s minutes.") % {
        "code": code,
        "minutes": minutes,
    }
    with transaction.atomic():
        record = PhoneCode.objects.create(
            phone=phone, code_hash=_hash_code(phone=phone, code=code), created_at=now, expires_at=now + CODE_TTL
        )
        transaction.on_commit(partial(_send_sms_rollback_unsafe, phone=phone, message=message))
    _count_send(phone=phone, ip=ip)
    return SentCode(phone=phone, code=code, expires_at=record.expires_at)


def phone_code_verify(*, phone: str, code: str, consent: bool = False) -> User:
    """Check ``code`` against the newest code sent to ``phone`` and return the member it signs in.

    The first successful sign-in creates the member (role member); ``consent`` records that the
    privacy notice was accepted. A refused code changes nothing except its wrong-attempt counter and
    the number's failure count: five wrong codes lock the number (sends and checks) for 15 minutes.
    """
    phone = _normalize(phone)
    _check_not_locked(phone)
    code = (code or "").strip()
    now = clock.now()
    error: DomainError | None = None
    user: User | None = None
    with transaction.atomic():
        record = PhoneCode.objects.select_for_update().filter(phone=phone).order_by("-created_at", "-pk").first()
        if record is None:
            error = CodeInvalid(_("No code was sent to this number. Request a code first."))
        elif record.used_at is not None:
            error = CodeUsed(_("This code has already been used. Request a new one."))
        elif record.expires_at <= now:
            error = CodeExpired(_("This code has expired. Request a new one."))
        elif record.attempts >= MAX_ATTEMPTS:
            error = CodeInvalid(_("Too many wrong attempts. Request a new code."))
        elif not hmac.compare_digest(record.code_hash, _hash_code(phone=phone, code=code)):
            PhoneCode.objects.filter(pk=record.pk).update(attempts=F("attempts") + 1)
            error = CodeInvalid(_("The code is not correct."), code="wrong_code")
        else:
            user = User.objects.filter(phone=phone).first()
            if user is not None and (not user.is_active or user.role != User.Role.MEMBER):
                # Staff sign in with a password; a text message alone is not enough for them.
                error = AccountUnavailable(_("This number cannot sign in here. Staff use the staff sign-in."))
            else:
                record.used_at = now
                record.save(update_fields=["used_at"])
                user = _member_for_phone(phone=phone, user=user, consent=consent, now=now)
    if error is not None:
        if isinstance(error, CodeInvalid) and error.code == "wrong_code":
            _count_failure(phone)
        raise error
    throttle.reset(throttle.failure_limit(), phone)
    return user


def _count_failure(phone: str) -> None:
    limit = throttle.failure_limit()
    if throttle.hit(limit, phone) >= limit.count:
        throttle.lock(phone)
        throttle.reset(limit, phone)


def _member_for_phone(*, phone: str, user: User | None, consent: bool, now: datetime) -> User:
    if user is None:
        try:
            with transaction.atomic():
                return User.objects.create_user(
                    phone=phone, role=User.Role.MEMBER, privacy_consent_at=now if consent else None
                )
        except IntegrityError:
            # Signed up in a parallel request a moment ago.
            user = User.objects.get(phone=phone)
    if consent and user.privacy_consent_at is None:
        user.privacy_consent_at = now
        user.save(update_fields=["privacy_consent_at"])
    return user


def member_profile_update(*, user: User, nickname: str) -> User:
    """Change the name other members see in jielong lists."""
    nickname = (nickname or "").strip()
    if not nickname:
        raise ProfileInvalid(_("Enter a nickname."))
    if len(nickname) > User._meta.get_field("nickname").max_length:
        raise ProfileInvalid(_("The nickname is too long."))
    user.nickname = nickname
    user.save(update_fields=["nickname"])
    return user
