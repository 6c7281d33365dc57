"""Member sign-in by one-time code sent to a phone (手机号 + 验证码), and the member's own profile.

Sends are limited per destination region, per number, per network address (counting only numbers
that never signed in, with a challenge before a hard stop) and by an hourly budget for the whole
installation; see :func:`phone_code_send`. Five wrong codes lock the number for a while.
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
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from groupbuy import clock
from groupbuy.errors import DomainError

from .. import throttle
from ..inputs import refuse_unstorable
from ..models import ConsentRecord, PhoneCode, User
from ..phones import normalize_phone, phone_region
from ..providers.sms import get_sms_provider
from .challenge import signin_challenge_check
from .consent import privacy_consent_record

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


class ChallengeRequired(DomainError):
    """Answer a challenge (``services.challenge``) to send this code."""


class SMSUnavailable(DomainError):
    """The limits that guard texting cannot be checked (Redis down): nothing is sent."""


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


def _unavailable() -> SMSUnavailable:
    return SMSUnavailable(
        _("The SMS service is temporarily unavailable. Please try again later."), code="sms_unavailable"
    )


def _check_region(phone: str) -> None:
    allowed = getattr(settings, "SMS_ALLOWED_REGIONS", ["CN"])
    if phone_region(phone) not in allowed:
        raise InvalidPhone(_("Sign-in codes can only be sent to mainland China mobile numbers."), code="region")


def _sent_from_key(phone: str) -> str:
    return f"{throttle.PREFIX}sent_from:{phone}"


class _Claims:
    """The limit units one send has claimed so far; handed back together when the send is refused."""

    def __init__(self) -> None:
        self.held: list[tuple[throttle.Limit, str]] = []

    def take(self, limit: throttle.Limit, subject: str) -> bool:
        if throttle.claim(limit, subject):
            self.held.append((limit, subject))
            return True
        return False

    def refund_all(self) -> None:
        for limit, subject in reversed(self.held):
            throttle.refund(limit, subject)
        self.held.clear()


def _claim_send(*, phone: str, ip: str | None, challenge_token: str, challenge_answer: str) -> _Claims:
    """Count this send against every limit before anything is stored or sent (see the module docstring).

    Each limit is claimed (counted first, atomically) and the claims are handed back if any later
    check refuses, so a refused send costs nothing and 30 parallel sends to one number send exactly one.
    """
    claims = _Claims()
    try:
        _check_not_locked(phone)
        minute, hour, day = throttle.send_limits_per_phone()
        if not claims.take(minute, phone):
            raise TooManyRequests(_("A code was just sent. Wait a minute before asking for another."), code="throttled")
        if not claims.take(hour, phone):
            raise TooManyRequests(
                _("Too many codes were sent to this number. Try again in an hour."), code="throttled_phone"
            )
        if not claims.take(day, phone):
            raise TooManyRequests(
                _("Too many codes were sent to this number today. Try again tomorrow."), code="throttled_day"
            )
        if ip and _is_new_pending(phone=phone, ip=ip):
            # Only numbers that have not signed in since count for the network (a resend to the same
            # number does not): an estate's Wi-Fi where everyone completes sign-in never reaches these.
            if not claims.take(throttle.send_cap_per_ip(), ip):
                raise TooManyRequests(
                    _("Too many codes were requested from this network. Try again later."), code="throttled_ip"
                )
            if not claims.take(throttle.send_limit_per_ip(), ip):
                if not challenge_token:
                    raise ChallengeRequired(
                        _("Many codes were requested from this network. Answer the question to continue."),
                        code="challenge",
                    )
                if not signin_challenge_check(token=challenge_token, answer=challenge_answer):
                    raise ChallengeRequired(
                        _("The answer is not correct. Try the new question."), code="challenge_wrong"
                    )
                # Solved: this send goes through without a unit of the challenge-free allowance.
        if not claims.take(throttle.sms_budget(), "all"):
            logger.warning("the hourly sign-in SMS budget is spent; refusing sends")
            raise TooManyRequests(
                _("Too many sign-in codes are being sent right now. Try again in a few minutes."), code="budget"
            )
    except DomainError:
        claims.refund_all()
        raise
    if ip:
        cache.set(_sent_from_key(phone), ip, timeout=throttle.send_cap_per_ip().seconds)
    return claims


def _is_new_pending(*, phone: str, ip: str) -> bool:
    return cache.get(_sent_from_key(phone)) != ip


def _forget_pending(phone: str) -> None:
    """The number signed in: it stops counting against the network it asked from."""
    ip = cache.get(_sent_from_key(phone))
    if ip and cache.delete(_sent_from_key(phone)):
        for limit in (throttle.send_cap_per_ip(), throttle.send_limit_per_ip()):
            if throttle.count(limit, ip) > 0:
                throttle.refund(limit, ip)


def phone_code_send(
    *, phone: str, ip: str | None = None, challenge_token: str = "", challenge_answer: str = ""
) -> SentCode:
    """Create a one-time sign-in code for ``phone`` and text it once the transaction commits.

    Limits (all counted atomically before anything is stored or sent, handed back when refused):

    * destination: only regions in ``settings.SMS_ALLOWED_REGIONS`` (default mainland China, ``["CN"]``),
      so premium-rate numbers abroad cannot be used for toll fraud (:class:`InvalidPhone`, code ``region``);
    * per number: 1 a minute, 5 an hour, 10 a day (:class:`TooManyRequests`), and none while the
      number is locked out after wrong codes (:class:`PhoneLocked`);
    * per network address, counting only numbers that have not completed sign-in since: past 20 in an
      hour a solved challenge is needed for each further number (:class:`ChallengeRequired`, see
      ``services.challenge``), past 100 the address is refused. A community signing in from one estate
      Wi-Fi or a carrier NAT before a live completes its sign-ins, so it never reaches either, however
      many members it has; an attacker rotating numbers it does not own is asked every time and
      stopped at 100;
    * for the installation: ``SIGNIN_SMS_HOUR`` texts an hour (default 3,000), the bill's ceiling
      whatever the number of addresses an attacker has.

    The limits live in Redis. Without it the send is refused with :class:`SMSUnavailable` ("短信服务暂时
    不可用") and nothing is sent: a DB fallback would be a second, rarely run set of counters guarding
    the bill, and an outage of Redis is short and visible (/readyz).
    """
    phone = _normalize(phone)
    _check_region(phone)
    try:
        claims = _claim_send(phone=phone, ip=ip, challenge_token=challenge_token, challenge_answer=challenge_answer)
    except (throttle.Unavailable, RedisError):
        logger.exception("sign-in limits unreachable; refusing to send a code")
        raise _unavailable() from None
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    now = clock.now()
    minutes = int(CODE_TTL.total_seconds() // 60)
    message = _("Your Groupbuy sign-in code is %(code)s. It expires in %(minutes)s minutes.") % {
        "code": code,
        "minutes": minutes,
    }
    try:
        with transaction.atomic():
            record = PhoneCode.objects.create(
                phone=phone, code_hash=_hash_code(phone=phone, code=code), created_at=now, expires_at=now + CODE_TTL
            )
            transaction.on_commit(partial(_send_sms_rollback_unsafe, phone=phone, message=message))
    except Exception:
        claims.refund_all()
        raise
    return SentCode(phone=phone, code=code, expires_at=record.expires_at)


def phone_code_verify(*, phone: str, code: str, consent: bool = False) -> User:
    """Check ``code`` against the newest code sent to ``phone`` and return the member it signs in.

    The first successful sign-in creates the member (role member); ``consent`` records that the
    privacy notice was accepted. A refused code changes nothing except its wrong-attempt counter and
    the number's failure count: five wrong codes lock the number (sends and checks) for 15 minutes.
    """
    phone = _normalize(phone)
    try:
        _check_not_locked(phone)
    except RedisError:
        logger.exception("sign-in limits unreachable; refusing to check a code")
        raise _unavailable() from None
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
            try:
                _count_failure(phone)
            except RedisError:
                logger.exception("could not count a wrong sign-in code")
        raise error
    try:
        throttle.reset(throttle.failure_limit(), phone)
        _forget_pending(phone)
    except (throttle.Unavailable, RedisError):
        logger.exception("could not clear the sign-in counters of a number")
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
                user = User.objects.create_user(phone=phone, role=User.Role.MEMBER)
        except IntegrityError:
            # Signed up in a parallel request a moment ago.
            user = User.objects.get(phone=phone)
    if consent:
        # The notice's version accepted here is kept (a record per acceptance, not per sign-in).
        privacy_consent_record(user=user, source=ConsentRecord.Source.SIGNIN, now=now)
    return user


def member_profile_update(*, user: User, nickname: str) -> User:
    """Change the name other members see in jielong lists."""
    refuse_unstorable(nickname)
    nickname = (nickname or "").strip()
    if not nickname:
        raise ProfileInvalid(_("Enter a nickname."))
    if len(nickname) > User._meta.get_field("nickname").max_length:
        raise ProfileInvalid(_("The nickname is too long."))
    user.nickname = nickname
    user.save(update_fields=["nickname"])
    return user
