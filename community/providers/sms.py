"""Sending text messages (短信).

``settings.SMS_PROVIDER`` names the class to use. Locally that is :class:`ConsoleSMSProvider`, which only
logs; production points it at a gateway, e.g. :class:`HttpSMSProvider`.

Providers are called after the transaction that created the message commits, never while holding
row locks, and may raise :class:`SMSDeliveryError`; callers log it rather than fail the request.
"""

from __future__ import annotations

import json
import logging
import os
import re
import urllib.error
import urllib.request

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from community.phones import mask_phone

logger = logging.getLogger(__name__)


class SMSDeliveryError(Exception):
    """The gateway refused the message or could not be reached."""


class SMSProvider:
    """Send one text message to one E.164 number."""

    def send(self, *, phone: str, message: str) -> None:
        raise NotImplementedError


# Runs of four or more digits in a message: sign-in codes (and anything else a log reader must not reuse).
_DIGIT_RUNS = re.compile(r"\d{4,}")


def redact(message: str) -> str:
    """The message as a log may show it: digit runs (codes) replaced by asterisks."""
    return _DIGIT_RUNS.sub(lambda m: "*" * len(m.group()), message)


class ConsoleSMSProvider(SMSProvider):
    """Logs that a message would have been sent, instead of sending it (development and demo).

    The log shows the masked number and the message with its codes redacted: a log reader must not be
    able to sign in as the member. Locally the sign-in page shows the code instead (``SMS_SHOW_CODE``).
    Production refuses to start with this provider unless ``SMS_CONSOLE_ALLOWED`` says it is a trial.
    """

    def send(self, *, phone: str, message: str) -> None:
        logger.info("SMS to %s (not sent: console provider): %s", mask_phone(phone), redact(message))


class HttpSMSProvider(SMSProvider):
    """POSTs ``{"phone": "+86…", "message": "…"}`` as JSON to a gateway.

    Configure with the environment: ``SMS_HTTP_URL`` (the endpoint) and ``SMS_HTTP_TOKEN`` (sent as
    ``Authorization: Bearer …``). Any 2xx answer counts as accepted. Most Chinese SMS vendors need a
    small relay in front of them (signature, template id), which is what this endpoint is meant to be.
    """

    timeout_seconds = 5

    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        self.url = url or os.environ.get("SMS_HTTP_URL", "")
        self.token = token or os.environ.get("SMS_HTTP_TOKEN", "")
        if not self.url:
            raise ImproperlyConfigured("HttpSMSProvider needs SMS_HTTP_URL.")

    def send(self, *, phone: str, message: str) -> None:
        body = json.dumps({"phone": phone, "message": message}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST")
        request.add_header("Content-Type", "application/json; charset=utf-8")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                status = response.status
        except (urllib.error.URLError, TimeoutError) as exc:
            raise SMSDeliveryError(f"SMS gateway unreachable for {mask_phone(phone)}: {exc}") from exc
        if not 200 <= status < 300:
            raise SMSDeliveryError(f"SMS gateway answered {status} for {mask_phone(phone)}")


def get_sms_provider() -> SMSProvider:
    return import_string(settings.SMS_PROVIDER)()
