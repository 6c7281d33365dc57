"""The peak finder on synthetic engagement with known peaks, and its invariants on arbitrary engagement."""

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from highlights import peaks
from highlights.peaks import Engagement, Explanation, Kind, Window

HOUR = 3600


def background(duration: int, *, seed: int = 7) -> dict[str, list[float]]:
    """A steady room: a comment every few seconds, a question now and then, ~200 online with small drifts."""
    rng = random.Random(seed)
    comments = [1.0 if rng.random() < 0.3 else 0.0 for _ in range(duration)]
    questions = [1.0 if rng.random() < 0.03 else 0.0 for _ in range(duration)]
    online, level = [], 200.0
    for _ in range(duration):
        level += rng.choice((-1, 0, 0, 1))
        online.append(level)
    return {
        "comments": comments,
        "questions": questions,
        "online": online,
        "orders": [0.0] * duration,
        "entries": [0.0] * duration,
    }


def burst(series: list[float], at: int, *, per_second: float, seconds: int = 5) -> None:
    """``per_second`` events in each of ``seconds`` seconds centred on ``at``."""
    for t in range(at - seconds // 2, at - seconds // 2 + seconds):
        series[t] += per_second


def test_known_peaks_are_found_where_they_are_and_cut_into_their_windows():
    # Given an hour of a steady room with four known moments: an order rush, a question storm, a
    # wave of members arriving, and a comment storm.
    rooms = background(HOUR)
    burst(rooms["orders"], 600, per_second=3)
    burst(rooms["questions"], 1500, per_second=4)
    burst(rooms["entries"], 2400, per_second=3)
    burst(rooms["comments"], 3100, per_second=8)
    engagement = Engagement(duration_s=HOUR, **rooms)

    # When the peaks are found
    found = peaks.find_peaks(engagement)

    # Then exactly those four, each at its centre second
    assert [p.at_s for p in found] == [600, 1500, 2400, 3100]
    # and the windows are the pre/post-roll around them
    windows = peaks.peak_windows(engagement)
    assert [(w.start_s, w.end_s, w.peak_s) for w in windows] == [
        (580.0, 610.0, 600.0),
        (1480.0, 1510.0, 1500.0),
        (2380.0, 2410.0, 2400.0),
        (3080.0, 3110.0, 3100.0),
    ]
    assert all(w.kind == Kind.PEAK for w in windows)


def test_orders_weigh_more_than_comments():
    # Given the same number of orders and comments in two bursts
    rooms = background(HOUR)
    burst(rooms["orders"], 900, per_second=2)
    burst(rooms["comments"], 2000, per_second=2)
    engagement = Engagement(duration_s=HOUR, **rooms)
    # Then the order burst is the higher peak
    by_second = {p.at_s: p.height for p in peaks.find_peaks(engagement)}
    assert by_second[900] > by_second[2000] * 4


def test_a_steady_room_has_no_peaks():
    engagement = Engagement(duration_s=HOUR, **background(HOUR))
    assert peaks.find_peaks(engagement) == []
    assert peaks.plan_clips(engagement) == []


def test_a_bump_below_the_floor_is_not_a_peak():
    rooms = background(HOUR)
    # Two more comments over five seconds: the smoothed score rises by 0.4 a second, under the floor.
    burst(rooms["comments"], 1200, per_second=0.4)
    assert peaks.find_peaks(Engagement(duration_s=HOUR, **rooms)) == []


def test_peaks_closer_than_the_spacing_keep_the_higher_one():
    rooms = background(HOUR)
    burst(rooms["orders"], 1000, per_second=2)
    burst(rooms["orders"], 1000 + peaks.MIN_SPACING_S - 10, per_second=4)
    found = peaks.find_peaks(Engagement(duration_s=HOUR, **rooms))
    assert [p.at_s for p in found] == [1050]


def test_near_windows_are_merged_and_capped_around_the_higher_peak():
    # Given three peaks 25 s apart (each window is 30 s, so they touch) with the middle one highest
    duration = 600
    orders = [0.0] * duration
    for at, rate in ((200, 2), (225, 4), (250, 2)):
        burst(orders, at, per_second=rate, seconds=3)
    engagement = Engagement(duration_s=duration, orders=orders)
    given = [peaks.Peak(200, 5.0), peaks.Peak(225, 10.0), peaks.Peak(250, 5.0), peaks.Peak(400, 3.0)]

    windows = peaks.peak_windows(engagement, peaks=given)

    # Then the first three become one window 180 → 260 (80 s), capped to 60 s around 225 (40 s before, 20 after)
    assert [(w.start_s, w.end_s, w.peak_s) for w in windows] == [(185.0, 245.0, 225.0), (380.0, 410.0, 400.0)]
    assert windows[0].duration_s == peaks.MAX_CLIP_S


def test_windows_stay_inside_the_recording():
    orders = [0.0] * 300
    burst(orders, 3, per_second=5)
    burst(orders, 296, per_second=5)
    windows = peaks.peak_windows(Engagement(duration_s=300, orders=orders))
    assert [(w.start_s, w.end_s) for w in windows] == [(0.0, 13.0), (276.0, 300.0)]


def test_product_explanations_and_the_launch_are_fixed_clips():
    # Given a room with one order rush inside the launch window and one elsewhere
    rooms = background(HOUR)
    burst(rooms["orders"], 3010, per_second=5)
    burst(rooms["comments"], 1800, per_second=8)
    engagement = Engagement(duration_s=HOUR, **rooms)
    explanations = [
        Explanation(start_s=300, end_s=330, label="上海青"),  # 30 s: whole
        Explanation(start_s=900, end_s=1500, label="土鸡蛋"),  # 10 minutes: capped from the pin
        Explanation(start_s=2000, end_s=2001, label="误点"),  # a second: no clip
    ]

    clips = peaks.plan_clips(engagement, explanations=explanations, launch_s=3000)

    assert [(c.kind, c.start_s, c.end_s, c.label) for c in clips] == [
        (Kind.PRODUCT, 300.0, 330.0, "上海青"),
        (Kind.PRODUCT, 900.0, 960.0, "土鸡蛋"),
        (Kind.PEAK, 1780.0, 1810.0, ""),
        # the order rush at 3010 is inside the launch clip: no second clip of it
        (Kind.LAUNCH, 2985.0, 3030.0, ""),
    ]
    assert clips[-1].peak_s == 3000.0


def test_a_launch_outside_the_recording_has_no_clip():
    engagement = Engagement(duration_s=100)
    assert peaks.fixed_windows(engagement, launch_s=100) == []
    assert peaks.fixed_windows(engagement, launch_s=-1) == []


def test_series_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match="orders has 3 seconds"):
        Engagement(duration_s=4, orders=[0, 0, 0])


def test_rolling_median_matches_the_definition():
    rng = random.Random(3)
    values = [float(rng.randint(0, 9)) for _ in range(50)]
    width = 7
    got = peaks.rolling_median(values, width)
    for t, value in enumerate(got):
        window = sorted(values[max(0, t - 3) : t + 4])
        m = len(window)
        assert value == (window[m // 2] if m % 2 else (window[m // 2 - 1] + window[m // 2]) / 2)


# --- invariants on arbitrary engagement ------------------------------------------------------------

counts = st.lists(st.integers(min_value=0, max_value=6), min_size=30, max_size=900)


@st.composite
def engagements(draw):
    comments = draw(counts)
    n = len(comments)
    sparse = st.lists(st.sampled_from([0, 0, 0, 0, 1, 3]), min_size=n, max_size=n)
    return Engagement(
        duration_s=n,
        comments=comments,
        orders=draw(sparse),
        entries=draw(sparse),
        questions=draw(sparse),
        online=draw(st.lists(st.integers(min_value=0, max_value=300), min_size=n, max_size=n)),
    )


@settings(max_examples=150, deadline=None)
@given(engagement=engagements(), launch=st.none() | st.integers(min_value=-5, max_value=1000))
def test_every_clip_is_inside_the_recording_and_within_the_cap(engagement: Engagement, launch):
    explanations = [Explanation(start_s=s, end_s=s + 90, label="x") for s in range(0, engagement.duration_s, 200)]
    clips = peaks.plan_clips(engagement, explanations=explanations, launch_s=launch)
    for clip in clips:
        assert 0 <= clip.start_s < clip.end_s <= engagement.duration_s
        assert peaks.MIN_CLIP_S <= clip.duration_s <= peaks.MAX_CLIP_S
        assert clip.start_s <= clip.peak_s <= clip.end_s
    # Deterministic: the same engagement gives the same clips
    assert clips == peaks.plan_clips(engagement, explanations=explanations, launch_s=launch)


@settings(max_examples=150, deadline=None)
@given(engagement=engagements())
def test_peaks_are_spaced_bounded_and_above_the_floor(engagement: Engagement):
    found = peaks.find_peaks(engagement)
    assert len(found) <= peaks.MAX_PEAK_CLIPS
    assert all(p.height >= peaks.PEAK_FLOOR for p in found)
    seconds = [p.at_s for p in found]
    assert seconds == sorted(seconds)
    assert all(b - a >= peaks.MIN_SPACING_S for a, b in itertools.pairwise(seconds))


@settings(max_examples=150, deadline=None)
@given(engagement=engagements())
def test_peak_windows_do_not_overlap(engagement: Engagement):
    windows: list[Window] = peaks.peak_windows(engagement)
    assert all(a.end_s < b.start_s for a, b in itertools.pairwise(windows))


@given(level=st.integers(min_value=0, max_value=50), n=st.integers(min_value=1, max_value=400))
def test_a_constant_room_has_no_peaks(level: int, n: int):
    assert peaks.find_peaks(Engagement(duration_s=n, comments=[level] * n, online=[level] * n)) == []
