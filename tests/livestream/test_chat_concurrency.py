"""The comment rate limit under real concurrency: parallel comments of one member against PostgreSQL."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings

from livestream import chat
from livestream.models import Comment, LiveSession
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20


@override_settings(LIVE_COMMENT_RATE=(5, 10))
def test_twenty_parallel_comments_store_at_most_the_limit():
    community = factories.community()
    session = factories.live_session(status=LiveSession.Status.LIVE, starts_in=timedelta(minutes=-5))
    session.communities.set([community])
    member = factories.member()
    factories.membership(user=member, community=community)
    start = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def post(n: int) -> None:
        try:
            start.wait()
            try:
                chat.comment_post(session=session, user=member, text=f"第{n}条")
                outcome = "stored"
            except chat.CommentRefused:
                outcome = "refused"
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes).count("stored") == 5
    assert outcomes.count("refused") == THREADS - 5
    assert Comment.objects.filter(session=session, user=member).count() == 5
