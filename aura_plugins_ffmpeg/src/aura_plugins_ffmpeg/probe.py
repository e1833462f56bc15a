"""Measuring media files with PyAV (the bundled ffmpeg has no ffprobe)."""

from __future__ import annotations

from pathlib import Path

from attrs import frozen


@frozen
class Probe:
    """What a media file holds, as measured."""

    duration: float
    width: int
    height: int
    fps: float
    video_codec: str | None
    audio_codec: str | None
    video_frames: int


def probe(path: Path) -> Probe:
    """Measure ``path`` (blocking: call it in a worker thread)."""
    import av  # imported here: ``import aura_plugins_ffmpeg.plugin`` stays cheap

    with av.open(str(path)) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = float(container.duration) / av.time_base if container.duration else 0.0
        if video is not None:
            rate = video.average_rate or video.guessed_rate
            return Probe(
                duration=duration,
                width=video.codec_context.width,
                height=video.codec_context.height,
                fps=float(rate) if rate else 0.0,
                video_codec=video.codec_context.name,
                audio_codec=audio.codec_context.name if audio is not None else None,
                video_frames=int(video.frames),
            )
        return Probe(duration, 0, 0, 0.0, None, audio.codec_context.name if audio is not None else None, 0)


def audio_problem(path: Path) -> str | None:
    """Why ``path`` is not audio ffmpeg can read (its reason in brackets), or None when its first
    audio frame decodes (blocking, and quick: it stops at that frame; call it in a worker thread)."""
    import av  # imported here: ``import aura_plugins_ffmpeg.plugin`` stays cheap

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return f"{path} has no audio stream"
            if next(container.decode(audio=0), None) is None:
                return f"{path} holds no audio that decodes"
    except av.error.FFmpegError as error:
        return f"{path} is not audio ffmpeg can read ({error.strerror or error})"
    except OSError as error:
        return f"{path} cannot be read ({error.strerror or error})"
    return None
