"""The operator's review: rename, trim (inside the recording, within the cap — refused with a message and
nothing changed otherwise), publish, attach to a campaign page and to a warm-up round of the next session."""

import os
from datetime import timedelta

import pytest

from groupbuy import clock, events
from highlights import events as highlights_events
from highlights import generation, services, tasks
from highlights.cutter import probe_duration
from highlights.models import Clip
from highlights.services import ClipRefused
from livestream.models import LiveSession, WarmupRound
from tests import factories
from tests.highlights.scenario import ended_live

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(media_root, short_video):
    live = ended_live(video=short_video, seconds=12)
    clip = Clip.objects.create(
        session=live.session,
        recording=live.recording,
        kind="peak",
        title="精彩时刻 00:05",
        start_s=2,
        end_s=8,
        peak_s=5,
    )
    generation.clips_cut(clips=[clip])
    live.clip = Clip.objects.get(pk=clip.pk)
    return live


def snapshot(clip):
    clip = Clip.objects.get(pk=clip.pk)
    return (clip.title, clip.start_s, clip.end_s, clip.render_state, clip.video.name, clip.status, clip.campaign_id)


def test_rename(live):
    services.clip_rename(by=live.operator, clip_id=live.clip.pk, title="  老李讲上海青 ")
    assert Clip.objects.get(pk=live.clip.pk).title == "老李讲上海青"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        pytest.param("-1", "5", "片段必须在录像范围内（0 至 12.0 秒）。", id="before-the-recording"),
        pytest.param("5", "12.5", "片段必须在录像范围内（0 至 12.0 秒）。", id="past-the-end"),
        pytest.param("4", "5", "片段至少 3 秒。", id="too-short"),
        pytest.param("6", "2", "片段至少 3 秒。", id="ends-before-it-starts"),
        pytest.param("abc", "5", "开始必须是秒数。", id="not-a-number"),
        pytest.param("nan", "5", "开始必须是秒数。", id="nan"),
    ],
)
def test_a_bad_trim_is_refused_with_a_message_and_nothing_changes(live, start, end, message):
    before = snapshot(live.clip)
    with pytest.raises(ClipRefused) as refused:
        services.clip_trim(by=live.operator, clip_id=live.clip.pk, start_s=start, end_s=end)
    assert refused.value.message == message
    assert snapshot(live.clip) == before


def test_a_clip_longer_than_the_cap_is_refused(media_root, live_video):
    live = ended_live(video=live_video, seconds=120)
    clip = Clip.objects.create(
        session=live.session, recording=live.recording, kind="peak", title="x", start_s=10, end_s=40, peak_s=20
    )
    with pytest.raises(ClipRefused) as refused:
        services.clip_trim(by=live.operator, clip_id=clip.pk, start_s="10", end_s="70.5")
    assert refused.value.message == "片段最长 60 秒。"
    assert (Clip.objects.get(pk=clip.pk).start_s, Clip.objects.get(pk=clip.pk).end_s) == (10, 40)


def test_a_trim_recuts_the_clip_at_its_new_window(live, django_capture_on_commit_callbacks):
    old_video = live.clip.video.path
    with django_capture_on_commit_callbacks() as callbacks:
        services.clip_trim(by=live.operator, clip_id=live.clip.pk, start_s="3.5", end_s="9")
    clip = Clip.objects.get(pk=live.clip.pk)
    assert (clip.start_s, clip.end_s, clip.peak_s, clip.render_state) == (3.5, 9, 5, Clip.RenderState.PENDING)
    assert [(c.func, c.args) for c in callbacks if hasattr(c, "args")][-1:] == [(tasks.cut_clip.delay, (clip.pk,))]

    tasks.cut_clip(clip.pk)  # what the worker runs

    clip.refresh_from_db()
    assert clip.render_state == Clip.RenderState.READY
    assert clip.video.name.endswith("-3500-9000.mp4")
    assert abs(probe_duration(clip.video.path) - 5.5) <= 0.5
    assert not os.path.exists(old_video)  # the old cut is gone


def test_publish_needs_the_video(live):
    Clip.objects.filter(pk=live.clip.pk).update(render_state=Clip.RenderState.PENDING)
    with pytest.raises(ClipRefused, match="视频剪辑完成后才能发布该片段。"):
        services.clip_publish(by=live.operator, clip_id=live.clip.pk)
    assert Clip.objects.get(pk=live.clip.pk).status == Clip.Status.DRAFT


def test_only_operators_review(live):
    with pytest.raises(ClipRefused, match="只有运营人员可以审核片段。"):
        services.clip_publish(by=factories.host(), clip_id=live.clip.pk)


def test_publish_attach_to_the_campaign_and_unpublish(live, django_capture_on_commit_callbacks):
    heard = []
    events.subscribe(events.ALL, heard.append)
    try:
        with pytest.raises(ClipRefused, match="请先发布该片段。"):
            services.clip_attach_campaign(by=live.operator, clip_id=live.clip.pk, campaign_id=live.campaign.pk)
        with django_capture_on_commit_callbacks(execute=True):
            services.clip_publish(by=live.operator, clip_id=live.clip.pk)
            services.clip_attach_campaign(by=live.operator, clip_id=live.clip.pk, campaign_id=live.campaign.pk)
        clip = Clip.objects.get(pk=live.clip.pk)
        assert (clip.status, clip.campaign_id) == (Clip.Status.PUBLISHED, live.campaign.pk)
        assert clip.published_at is not None

        other_brand = factories.brand("别家")
        foreign = factories.campaign(title="别家的接龙")
        foreign.brand = other_brand
        foreign.save(update_fields=["brand"])
        with pytest.raises(ClipRefused, match="请选择本品牌的一个接龙。"):
            services.clip_attach_campaign(by=live.operator, clip_id=clip.pk, campaign_id=foreign.pk)

        with django_capture_on_commit_callbacks(execute=True):
            services.clip_unpublish(by=live.operator, clip_id=clip.pk)
    finally:
        events.unsubscribe(events.ALL, heard.append)
    clip.refresh_from_db()
    assert (clip.status, clip.campaign_id, clip.published_at) == (Clip.Status.DRAFT, None, None)
    assert [type(e) for e in heard if e.name.startswith("highlights.")] == [
        highlights_events.ClipPublished,
        highlights_events.ClipAttached,
        highlights_events.ClipUnpublished,
    ]


def next_session_round(live, **extra):
    upcoming = factories.live_session(starts_in=timedelta(days=3), title="老李的第二场")
    return WarmupRound.objects.create(
        session=upcoming,
        kind=WarmupRound.Kind.STORY,
        send_at=clock.now() + timedelta(days=1),
        title="剧透：大棚里的上海青",
        **extra,
    )


def test_attach_to_a_warmup_round_of_the_next_session(live):
    round_ = next_session_round(live)
    services.clip_publish(by=live.operator, clip_id=live.clip.pk)

    services.clip_attach_warmup(by=live.operator, clip_id=live.clip.pk, round_id=round_.pk)

    round_.refresh_from_db()
    assert round_.teaser_video_url == f"/m/clips/{live.clip.pk}/"
    assert Clip.objects.get(pk=live.clip.pk).warmup_round_id == round_.pk

    # Unpublishing takes it out of the round that has not gone out
    services.clip_unpublish(by=live.operator, clip_id=live.clip.pk)
    round_.refresh_from_db()
    assert round_.teaser_video_url == ""
    assert Clip.objects.get(pk=live.clip.pk).warmup_round_id is None


def test_a_round_already_sent_or_of_an_earlier_session_is_refused(live):
    services.clip_publish(by=live.operator, clip_id=live.clip.pk)
    sent = next_session_round(live, status=WarmupRound.Status.EXPANDED)
    earlier = factories.live_session(starts_in=-timedelta(days=5), status=LiveSession.Status.SCHEDULED)
    old = WarmupRound.objects.create(
        session=earlier, kind=WarmupRound.Kind.STORY, send_at=clock.now() + timedelta(hours=1), title="旧"
    )
    for round_ in (sent, old):
        with pytest.raises(ClipRefused, match="请选择之后场次中尚未发出的一轮预热。"):
            services.clip_attach_warmup(by=live.operator, clip_id=live.clip.pk, round_id=round_.pk)
        round_.refresh_from_db()
        assert round_.teaser_video_url == ""


def test_a_failed_clip_is_cut_again_on_request(live, django_capture_on_commit_callbacks):
    Clip.objects.filter(pk=live.clip.pk).update(render_state=Clip.RenderState.FAILED, render_error="磁盘已满")
    with django_capture_on_commit_callbacks() as callbacks:
        services.clip_recut(by=live.operator, clip_id=live.clip.pk)
    clip = Clip.objects.get(pk=live.clip.pk)
    assert (clip.render_state, clip.render_error) == (Clip.RenderState.PENDING, "")
    assert [(c.func, c.args) for c in callbacks if hasattr(c, "args")] == [(tasks.cut_clip.delay, (clip.pk,))]
    tasks.cut_clip(clip.pk)
    assert Clip.objects.get(pk=clip.pk).render_state == Clip.RenderState.READY


def test_a_clip_that_did_not_fail_is_not_cut_again(live, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.clip_recut(by=live.operator, clip_id=live.clip.pk)
    assert callbacks == []
    assert Clip.objects.get(pk=live.clip.pk).render_state == Clip.RenderState.READY


def test_a_clip_of_an_expired_recording_cannot_be_trimmed(live):
    from media.models import Recording

    Recording.objects.filter(pk=live.recording.pk).update(status=Recording.Status.EXPIRED)
    before = snapshot(live.clip)
    with pytest.raises(ClipRefused, match="录像已不再保留，无法调整该片段。"):
        services.clip_trim(by=live.operator, clip_id=live.clip.pk, start_s="3", end_s="8")
    assert snapshot(live.clip) == before


def test_a_published_clip_without_a_thumbnail_still_opens_for_members(live, client):
    # given a published clip whose thumbnail file is missing (it failed to render, or was removed)
    services.clip_publish(by=live.operator, clip_id=live.clip.pk)
    Clip.objects.filter(pk=live.clip.pk).update(thumbnail="")

    # then its page plays the video with no poster instead of failing
    client.force_login(factories.member())
    page = client.get(f"/m/clips/{live.clip.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<video" in html and "poster=" not in html
