from celery import shared_task

from . import recordings


@shared_task(acks_late=True)
def remux_recording(recording_id: int) -> None:
    """Turn a finished recording into a seekable MP4 (idempotent: a ready one is left alone)."""
    recordings.recording_remux(recording_id=recording_id)


@shared_task(acks_late=True)
def sweep_recordings() -> None:
    """Periodic: re-queue lost remuxes, adopt FLV files whose callback was lost, expire old recordings."""
    recordings.sweep()
