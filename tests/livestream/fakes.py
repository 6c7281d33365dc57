"""A recording SMS provider for warm-up tests (thread-safe: racing workers share it)."""

import threading

from community.providers.sms import SMSProvider

_lock = threading.Lock()
sent: list[tuple[str, str]] = []


class RecordingSMSProvider(SMSProvider):
    def send(self, *, phone: str, message: str) -> None:
        with _lock:
            sent.append((phone, message))


class FailingSMSProvider(SMSProvider):
    def send(self, *, phone: str, message: str) -> None:
        from community.providers.sms import SMSDeliveryError

        raise SMSDeliveryError("gateway down")


class TimingOutSMSProvider(SMSProvider):
    """A gateway that hangs up: not an SMSDeliveryError, an error of the connection itself."""

    def send(self, *, phone: str, message: str) -> None:
        raise TimeoutError("gateway timed out")
