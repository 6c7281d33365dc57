from celery import shared_task


@shared_task(acks_late=True)
def generate_clips(recording_id: int) -> int:
    """A recording is ready: plan its clips (once) and cut them. Safe to run twice."""
    from .generation import recording_clips_generate

    return recording_clips_generate(recording_id=recording_id)


@shared_task(acks_late=True)
def cut_clip(clip_id: int) -> int:
    """Cut one clip again after a trim (a no-op when its files are already there)."""
    from .generation import clips_cut
    from .models import Clip

    clips = list(Clip.objects.filter(pk=clip_id, render_state=Clip.RenderState.PENDING))
    return clips_cut(clips=clips) if clips else 0


@shared_task(acks_late=True)
def sweep() -> int:
    """Ready recordings without clips and clips whose cutting was lost (behind the recording_ready subscriber)."""
    from .generation import sweep as run_sweep

    return run_sweep()
