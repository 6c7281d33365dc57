"""Where the highlights (精彩片段) are: engagement peaks and the fixed moments of a live, as clip windows.

Pure functions over a per-second engagement series (no Django, no database): the timeline reader
(``highlights/timeline.py``) builds the series from what the platform records, the cutter
(``highlights/cutter.py``) turns the windows into files.

The recipe, each step a named constant below:

1. a score per second: orders weigh most, then members entering the room, questions, comments, and
   a rise in the online count;
2. smoothed by a centred moving average (one burst of chat should not beat a sustained minute);
3. compared with a rolling baseline (a centred rolling median, so the peak itself hardly lifts it);
4. peaks: local maxima of the smoothed score above the baseline by at least ``PEAK_FLOOR`` and at
   least ``NOISE_K`` times the room's usual deviation from it (a busy room's chatter is no peak), taken
   highest first, at least ``MIN_SPACING_S`` apart, at most ``MAX_PEAK_CLIPS`` of them;
5. a window around each (``PRE_ROLL_S`` before, ``POST_ROLL_S`` after), near windows merged, every
   window capped at ``MAX_CLIP_S`` around its best peak;
6. plus deterministic windows: each product explanation (pin → unpin, capped from the pin) and the
   jielong launch; a peak window mostly inside one of those is dropped as a duplicate.

Seconds are counted from the start of the recording.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence

# --- score weights (per event, per second) ---------------------------------------------------------
ORDER_WEIGHT = 5.0  # a jielong order (接龙) placed
ENTRY_WEIGHT = 3.0  # a member entering the room
QUESTION_WEIGHT = 2.0  # a question (提问)
COMMENT_WEIGHT = 1.0  # a comment
ONLINE_RISE_WEIGHT = 0.5  # per member the online count rose by

# --- peak finding ----------------------------------------------------------------------------------
SMOOTH_S = 5  # width of the centred moving average (odd)
BASELINE_S = 181  # width of the centred rolling median the score is compared with (odd)
PEAK_FLOOR = 1.0  # a peak stands at least this far above the baseline (one comment a second, say)
NOISE_K = 8.0  # … and at least this many times the room's usual wobble (rolling median absolute deviation)
MIN_SPACING_S = 60  # two peaks are at least this far apart; the higher one wins
MAX_PEAK_CLIPS = 10  # at most this many engagement clips per recording

# --- windows ---------------------------------------------------------------------------------------
PRE_ROLL_S = 20  # the clip starts this long before the peak (what led up to it)
POST_ROLL_S = 10  # and ends this long after it
MERGE_GAP_S = 5  # windows closer than this become one
MAX_CLIP_S = 60  # no clip is longer (also the operator's trim limit)
MIN_CLIP_S = 3  # shorter clips are not worth a file (a product pinned for a second)
LAUNCH_PRE_ROLL_S = 15  # the jielong launch clip: the host's call to join …
LAUNCH_POST_ROLL_S = 30  # … and the first joins


class Kind:
    PEAK = "peak"
    PRODUCT = "product"
    LAUNCH = "launch"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Engagement:
    """Counts per second of the recording; every series has ``duration_s`` entries."""

    duration_s: int
    orders: Sequence[float] = ()
    entries: Sequence[float] = ()
    questions: Sequence[float] = ()
    comments: Sequence[float] = ()
    online: Sequence[float] = ()  # members online in that second (absolute, not a count of events)

    def __post_init__(self) -> None:
        for field in ("orders", "entries", "questions", "comments", "online"):
            series = getattr(self, field)
            if series and len(series) != self.duration_s:
                raise ValueError(f"{field} has {len(series)} seconds, expected {self.duration_s}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Explanation:
    """A product explanation (讲解): pinned at ``start_s``, unpinned (or the next pin) at ``end_s``."""

    start_s: float
    end_s: float
    label: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Window:
    """A clip to cut: ``[start_s, end_s)`` in recording seconds; ``peak_s`` is where its thumbnail is taken."""

    kind: str
    start_s: float
    end_s: float
    peak_s: float
    score: float = 0.0
    label: str = ""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


# --- the score -------------------------------------------------------------------------------------


def score(engagement: Engagement) -> list[float]:
    """The weighted engagement of each second."""
    n = engagement.duration_s
    out = [0.0] * n
    for series, weight in (
        (engagement.orders, ORDER_WEIGHT),
        (engagement.entries, ENTRY_WEIGHT),
        (engagement.questions, QUESTION_WEIGHT),
        (engagement.comments, COMMENT_WEIGHT),
    ):
        for t, value in enumerate(series):
            out[t] += weight * value
    online = engagement.online
    for t in range(1, len(online)):
        rise = online[t] - online[t - 1]
        if rise > 0:
            out[t] += ONLINE_RISE_WEIGHT * rise
    return out


def smooth(values: Sequence[float], width: int = SMOOTH_S) -> list[float]:
    """Centred moving average; near the ends the window is the part that exists."""
    half = width // 2
    prefix = [0.0]
    for v in values:
        prefix.append(prefix[-1] + v)
    n = len(values)
    out = []
    for t in range(n):
        lo, hi = max(0, t - half), min(n, t + half + 1)
        out.append((prefix[hi] - prefix[lo]) / (hi - lo))
    return out


def rolling_median(values: Sequence[float], width: int = BASELINE_S) -> list[float]:
    """Centred rolling median (a sorted window kept with bisect: fine for hours at one-second steps)."""
    half = width // 2
    n = len(values)
    window: list[float] = []
    out = []
    lo = hi = 0  # the window holds values[lo:hi]
    for t in range(n):
        want_lo, want_hi = max(0, t - half), min(n, t + half + 1)
        while hi < want_hi:
            bisect.insort(window, values[hi])
            hi += 1
        while lo < want_lo:
            del window[bisect.bisect_left(window, values[lo])]
            lo += 1
        m = len(window)
        out.append(window[m // 2] if m % 2 else (window[m // 2 - 1] + window[m // 2]) / 2)
    return out


# --- peaks and windows ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Peak:
    at_s: int
    height: float  # smoothed score above the baseline


def find_peaks(
    engagement: Engagement,
    *,
    floor: float = PEAK_FLOOR,
    min_spacing_s: int = MIN_SPACING_S,
    limit: int = MAX_PEAK_CLIPS,
) -> list[Peak]:
    """The highest local maxima above baseline + floor (and the noise), ``min_spacing_s`` apart, in time order."""
    smoothed = smooth(score(engagement))
    baseline = rolling_median(smoothed)
    noise = rolling_median([abs(s - b) for s, b in zip(smoothed, baseline, strict=True)])
    n = len(smoothed)
    candidates = []
    for t in range(n):
        height = smoothed[t] - baseline[t]
        if height < floor or height < NOISE_K * noise[t]:
            continue
        left = smoothed[t - 1] if t > 0 else float("-inf")
        right = smoothed[t + 1] if t + 1 < n else float("-inf")
        # A plateau counts once, at its first second.
        if smoothed[t] > left and smoothed[t] >= right:
            candidates.append(Peak(t, height))
    # Highest first; ties go to the earlier second, so the result does not depend on the order of equals.
    candidates.sort(key=lambda p: (-p.height, p.at_s))
    chosen: list[Peak] = []
    for peak in candidates:
        if len(chosen) >= limit:
            break
        if all(abs(peak.at_s - c.at_s) >= min_spacing_s for c in chosen):
            chosen.append(peak)
    return sorted(chosen, key=lambda p: p.at_s)


def _cap(start: float, end: float, peak: float, cap: float) -> tuple[float, float]:
    """Shorten ``[start, end)`` to ``cap`` seconds around ``peak``, keeping the pre/post-roll proportion."""
    if end - start <= cap:
        return start, end
    lo = peak - cap * PRE_ROLL_S / (PRE_ROLL_S + POST_ROLL_S)
    lo = min(max(lo, start), end - cap)
    return lo, lo + cap


def peak_windows(engagement: Engagement, *, peaks: Sequence[Peak] | None = None) -> list[Window]:
    """A window around each peak, near ones merged (keeping the higher peak), each capped."""
    duration = engagement.duration_s
    if peaks is None:
        peaks = find_peaks(engagement)
    merged: list[tuple[float, float, Peak]] = []
    for peak in sorted(peaks, key=lambda p: p.at_s):
        start = max(0.0, float(peak.at_s - PRE_ROLL_S))
        end = min(float(duration), float(peak.at_s + POST_ROLL_S))
        if merged and start - merged[-1][1] <= MERGE_GAP_S:
            prev_start, prev_end, prev_peak = merged[-1]
            best = prev_peak if prev_peak.height >= peak.height else peak
            merged[-1] = (prev_start, max(prev_end, end), best)
        else:
            merged.append((start, end, peak))
    windows = []
    for start, end, peak in merged:
        start, end = _cap(start, end, peak.at_s, MAX_CLIP_S)
        if end - start >= MIN_CLIP_S:
            windows.append(
                Window(kind=Kind.PEAK, start_s=start, end_s=end, peak_s=float(peak.at_s), score=round(peak.height, 3))
            )
    return windows


def _best_second(smoothed: Sequence[float], start: float, end: float) -> float:
    lo, hi = int(start), max(int(start) + 1, int(end))
    best = max(range(lo, min(hi, len(smoothed))), key=lambda t: (smoothed[t], -t), default=lo)
    return float(best)


def fixed_windows(
    engagement: Engagement, *, explanations: Sequence[Explanation] = (), launch_s: float | None = None
) -> list[Window]:
    """The deterministic clips: each product explanation from its pin (capped) and the jielong launch."""
    duration = float(engagement.duration_s)
    smoothed = smooth(score(engagement)) if duration else []
    windows = []
    for explanation in explanations:
        start = max(0.0, float(explanation.start_s))
        end = min(duration, float(explanation.end_s), start + MAX_CLIP_S)
        if end - start < MIN_CLIP_S:
            continue
        windows.append(
            Window(
                kind=Kind.PRODUCT,
                start_s=start,
                end_s=end,
                # The thumbnail: the liveliest second of the first part of the explanation.
                peak_s=_best_second(smoothed, start, end) if smoothed else start,
                label=explanation.label,
            )
        )
    if launch_s is not None and 0 <= launch_s < duration:
        start = max(0.0, launch_s - LAUNCH_PRE_ROLL_S)
        end = min(duration, launch_s + LAUNCH_POST_ROLL_S)
        if end - start >= MIN_CLIP_S:
            windows.append(Window(kind=Kind.LAUNCH, start_s=start, end_s=end, peak_s=float(launch_s)))
    return windows


def _overlap(a: Window, b: Window) -> float:
    return max(0.0, min(a.end_s, b.end_s) - max(a.start_s, b.start_s))


def plan_clips(
    engagement: Engagement, *, explanations: Sequence[Explanation] = (), launch_s: float | None = None
) -> list[Window]:
    """Every clip of a recording, in time order: the fixed ones and the peaks they do not already cover."""
    fixed = fixed_windows(engagement, explanations=explanations, launch_s=launch_s)
    peaks = [
        window
        for window in peak_windows(engagement)
        if all(_overlap(window, other) <= window.duration_s / 2 for other in fixed)
    ]
    return sorted([*fixed, *peaks], key=lambda w: (w.start_s, w.kind))
