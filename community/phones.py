"""Phone numbers: members are identified by an E.164 number; lists show it masked."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Return ``raw`` as E.164 (``+8613812345678``) or raise ``ValidationError``."""
    text = (raw or "").strip().replace(" ", "").replace("-", "")
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("Enter a valid mobile phone number."), code="invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid mobile phone number."), code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_region(e164: str) -> str:
    """The ISO region of an E.164 number (``+8613812345678`` → ``CN``; ``""`` if unknown)."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or ""
    except phonenumbers.NumberParseException:
        return ""


def mask_phone(e164: str | None) -> str:
    """``+8613812345678`` → ``138****5678``; other countries keep their code and last four."""
    if not e164:
        return ""
    if e164.startswith("+86") and len(e164) == 14:
        national = e164[3:]
        return f"{national[:3]}****{national[-4:]}"
    return f"{e164[:4]}****{e164[-4:]}"
