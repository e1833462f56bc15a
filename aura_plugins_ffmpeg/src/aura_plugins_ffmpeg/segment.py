"""The filter graph of one scene segment: the picture in motion, then the transition into the next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ffmpeg
from attrs import frozen

from aura_core import SegmentRequest
from aura_plugins_ffmpeg.encoders import Encoder
from aura_plugins_ffmpeg.motion import hold, ken_burns, move_for, still, transition_name

#: Length of the fade to black that ends the last scene, in seconds (at most a quarter of it).
FADE_OUT = 0.5


def has_next(request: SegmentRequest) -> bool:
    """Whether a scene follows this one (its picture may be None: it then gets a generated background)."""
    return request.next_picture is not None or request.scene.index + 1 < request.scene_count


@frozen
class SegmentPlan:
    """Frame arithmetic of one segment: its frames, and the frames its transition takes."""

    frames: int
    transition_frames: int
    transition: str | None

    @classmethod
    def of(cls, request: SegmentRequest) -> SegmentPlan:
        """Frames from the timeline: ``round(end * fps) - round(start * fps)``, so segments never drift."""
        fps = request.render.fps
        scene = request.scene
        frames = max(1, round((scene.start + scene.duration) * fps) - round(scene.start * fps))
        name = transition_name(request.render.transition, scene.index) if has_next(request) else None
        wanted = round(request.render.transition_duration * fps) if name else 0
        # The transition never takes more than half the slot, so the scene is always seen on its own.
        overlap = min(wanted, frames // 2)
        return cls(frames=frames, transition_frames=overlap, transition=name if overlap > 0 else None)


def _stream_for(picture: Path | None, index: int, request: SegmentRequest) -> Any:
    render = request.render
    return still(picture, index, render.width, render.height, render.fps)


def build(
    request: SegmentRequest, plan: SegmentPlan, encoder: Encoder, zoom: float, smooth: bool, threads: int = 0
) -> Any:
    """The ffmpeg-python output node that writes the segment to ``request.out_path``."""
    render = request.render
    fps, width, height = render.fps, render.width, render.height
    index = request.scene.index
    picture = request.picture.path if request.picture is not None else None
    motion = ken_burns(
        hold(_stream_for(picture, index, request), plan.frames, fps),
        move_for(index, zoom),
        width,
        height,
        plan.frames,
        smooth,
    )
    if plan.transition is not None:
        nxt = request.next_picture.path if request.next_picture is not None else None
        # The next scene's first frame: its picture where its own move starts, held still.
        first = ken_burns(
            _stream_for(nxt, index + 1, request), move_for(index + 1, zoom), width, height, None, smooth
        )
        first = hold(first, plan.transition_frames, fps)
        offset = (plan.frames - plan.transition_frames) / fps
        video = ffmpeg.filter(
            [motion, first],
            "xfade",
            transition=plan.transition,
            duration=f"{plan.transition_frames / fps:.6f}",
            offset=f"{offset:.6f}",
        )
    elif has_next(request):
        video = motion
    else:
        fade = min(round(FADE_OUT * fps), plan.frames // 4)
        video = (
            motion.filter("fade", type="out", start_frame=plan.frames - fade, nb_frames=fade)
            if fade
            else motion
        )
    for chain in encoder.filters:
        name, _, arg = chain.partition("=")
        video = video.filter(name, arg) if arg else video.filter(name)
    kwargs: dict[str, Any] = {
        "frames:v": plan.frames,
        "r": fps,
        "g": fps * 2,
        "video_track_timescale": fps * 1000,
        "f": "mp4",
        "an": None,
    }
    if not encoder.hardware:
        kwargs["pix_fmt"] = "yuv420p"
    kwargs.update(encoder_kwargs(encoder))
    if threads:
        kwargs["threads"] = threads
    return ffmpeg.output(video, str(request.out_path), **kwargs)


def encoder_kwargs(encoder: Encoder) -> dict[str, str]:
    """The encoder's ``-option value`` pairs as ffmpeg-python output keywords."""
    args = encoder.args
    return {args[i].lstrip("-"): args[i + 1] for i in range(0, len(args), 2)}
