"""Two workers hear the same recording_ready (a redelivered task, the sweep at the same moment): the clips are
planned once."""

import threading

import pytest
from django.db import connection

from highlights import generation
from highlights.models import Clip, ClipPlan
from media.models import Chapter
from tests.highlights.scenario import ended_live

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_planning_makes_one_set_of_clips(media_root, short_video):
    live = ended_live(video=short_video, seconds=12)
    Chapter.objects.create(session=live.session, title="上海青", started_at=live.at(1), ended_at=live.at(6))
    Chapter.objects.create(session=live.session, title="土鸡蛋", started_at=live.at(6), ended_at=live.at(11))
    barrier = threading.Barrier(4)
    made: list[int] = []
    failures: list[BaseException] = []

    def plan():
        try:
            barrier.wait()
            made.append(len(generation.recording_clips_plan(recording_id=live.recording.pk)))
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=plan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    assert sorted(made) == [0, 0, 0, 2]
    assert ClipPlan.objects.filter(recording=live.recording).count() == 1
    assert sorted(Clip.objects.values_list("start_s", "end_s")) == [(1.0, 6.0), (6.0, 11.0)]
