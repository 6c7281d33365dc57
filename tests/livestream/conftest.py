import pytest


@pytest.fixture(autouse=True)
def _fresh_comment_rate_counters():
    """The per-member comment rate lives in Redis, which the test database does not roll back."""
    from livestream import chat

    chat.rate_clear_all()
    yield
    chat.rate_clear_all()
