import pytest


@pytest.fixture(autouse=True)
def _fresh_comment_rate_counters():
    """The per-member comment rate lives in Redis, which the test database does not roll back."""
    from livestream import chat

    chat.rate_clear_all()
    yield
    chat.rate_clear_all()


@pytest.fixture
def recording_sms(settings):
    """Texts go to tests.sms_fakes.RecordingSMSProvider; yields the list of what was sent."""
    from tests import sms_fakes as fakes

    settings.SMS_PROVIDER = "tests.sms_fakes.RecordingSMSProvider"
    fakes.sent.clear()
    yield fakes.sent
    fakes.sent.clear()
