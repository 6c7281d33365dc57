"""Fake SMS gateways for tests (thread-safe: racing requests and workers share them). Point
``settings.SMS_PROVIDER`` at one of these classes; ``sent`` holds what the recording ones sent."""

import threading
import time

from community.providers.sms import SMSDeliveryError, SMSProvider

_lock = threading.Lock()
sent: list[tuple[str, str]] = []


class RecordingSMSProvider(SMSProvider):
    def send(self, *, phone: str, message: str) -> None:
        with _lock:
            sent.append((phone, message))


class SlowSMSProvider(RecordingSMSProvider):
    """A gateway that takes a second to answer, like the one the sign-in race was found with."""

    def send(self, *, phone: str, message: str) -> None:
        time.sleep(1)
        super().send(phone=phone, message=message)


class FailingSMSProvider(SMSProvider):
    def send(self, *, phone: str, message: str) -> None:
        raise SMSDeliveryError("gateway down")


class TimingOutSMSProvider(SMSProvider):
    """A gateway that hangs up: not an SMSDeliveryError, an error of the connection itself."""

    def send(self, *, phone: str, message: str) -> None:
        raise TimeoutError("gateway timed out")
