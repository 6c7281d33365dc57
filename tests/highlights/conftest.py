import pytest

from tests.highlights.scenario import make_video


@pytest.fixture(scope="session")
def short_video(tmp_path_factory):
    """Twelve seconds of testsrc2 + tone at 320x180 (made once per run)."""
    return make_video(tmp_path_factory.mktemp("video") / "short.mp4", seconds=12)


@pytest.fixture(scope="session")
def live_video(tmp_path_factory):
    """Two minutes at 320x180: long enough for a peak with its baseline, a product explanation and a launch."""
    return make_video(tmp_path_factory.mktemp("video") / "live.mp4", seconds=120, rate=10)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT
