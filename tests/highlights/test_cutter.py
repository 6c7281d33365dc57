"""The cutter on a real synthetic MP4: frame-exact durations (within half a second), a JPEG thumbnail each,
files replaced atomically, an existing file kept, one bad clip not stopping the others."""

import threading

from PIL import Image

from highlights import cutter
from highlights.cutter import Cut


def cut(tmp_path, name, start, end, at=None):
    return Cut(
        key=name,
        start_s=start,
        end_s=end,
        thumbnail_at_s=start if at is None else at,
        video=tmp_path / f"{name}.mp4",
        thumbnail=tmp_path / f"{name}.jpg",
    )


def test_clips_have_the_window_s_duration_and_a_thumbnail(tmp_path, short_video):
    cuts = [cut(tmp_path, "a", 0.0, 3.0), cut(tmp_path, "b", 2.37, 8.11, at=5.0), cut(tmp_path, "c", 9.5, 12.0)]

    results = cutter.cut_many(source=short_video, cuts=cuts, workers=2)

    assert [r.ok for r in results] == [True, True, True]
    for c in cuts:
        assert abs(cutter.probe_duration(c.video) - (c.end_s - c.start_s)) <= 0.5
        with Image.open(c.thumbnail) as picture:
            assert picture.format == "JPEG"
            assert picture.size == (320, 180)  # never upscaled past the source
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_a_clip_already_cut_is_kept(tmp_path, short_video):
    one = cut(tmp_path, "a", 1.0, 4.0)
    cutter.cut_many(source=short_video, cuts=[one])
    before = one.video.stat().st_mtime_ns, one.thumbnail.stat().st_mtime_ns
    cutter.cut_many(source=short_video, cuts=[one])
    assert (one.video.stat().st_mtime_ns, one.thumbnail.stat().st_mtime_ns) == before


def test_two_workers_cutting_the_same_clip_leave_one_whole_file(tmp_path, short_video):
    target = tmp_path / "same.mp4"
    threads = [
        threading.Thread(
            target=cutter.cut_clip, kwargs={"source": short_video, "start_s": 2, "end_s": 7, "target": target}
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert abs(cutter.probe_duration(target) - 5.0) <= 0.5
    assert [p.name for p in tmp_path.iterdir()] == ["same.mp4"]


def test_a_bad_clip_reports_its_reason_and_the_others_are_cut(tmp_path, short_video):
    results = cutter.cut_many(
        source=short_video, cuts=[cut(tmp_path, "bad", 5.0, 5.0), cut(tmp_path, "good", 1.0, 2.0)], workers=1
    )
    assert results[0].error == "片段的结束时间必须晚于开始时间。"
    assert results[1].ok
    assert not (tmp_path / "bad.mp4").exists()


def test_an_unreadable_source_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    [result] = cutter.cut_many(source=broken, cuts=[cut(tmp_path, "x", 0, 1)])
    assert result.error.startswith("ffmpeg 无法剪辑该片段")
    assert not (tmp_path / "x.mp4").exists()
