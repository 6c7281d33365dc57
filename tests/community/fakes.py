"""Fake SMS gateways for the sign-in limit tests (thread-safe: racing requests share them)."""

import threading
import time

from community.providers.sms import SMSProvider

_lock = threading.Lock()
sent: list[tuple[str, str]] = []


class RecordingSMSProvider(SMSProvider):
    def send(self, *, phone: str, message: str) -> None:
        with _lock:
            sent.append((phone, message))


class SlowSMSProvider(RecordingSMSProvider):
    """A gateway that takes a second to answer, like the one the race was found with."""

    def send(self, *, phone: str, message: str) -> None:
        time.sleep(1)
        super().send(phone=phone, message=message)
