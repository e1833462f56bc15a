"""Measuring a moving clip on disk: its size as shown, its length and its frame rate (``probe_clip``).

An illustrator that returns a ``Clip`` describes the file as it is, not as it was asked for: this is the
one way the core and its plugins measure one. PyAV is imported on first use, so ``import aura_core``
stays light: it comes with ``aura-core[media]`` (PyAV 14.1 or later, which reads the display rotation).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aura_core.contract import Clip
from aura_core.errors import ProviderError

if TYPE_CHECKING:
    import av.container
    import av.video.stream

#: File name endings read as moving clips (the folder provider's, and what a stock plugin writes).
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv"})

#: Seconds before a clip's end from which its last packets are read, to tell a truncated file.
_TAIL = 2.0


class ClipProbeError(ProviderError):
    """A file that is not a whole moving clip (garbled, truncated, a still, no video at all): a permanent
    ``ProviderError`` whose message is one line naming the file and saying why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


def probe_clip(
    path: Path,
    *,
    source: str,
    license: str,
    author: str = "",
    link: str = "",
    start: float = 0.0,
) -> Clip:
    """The ``Clip`` of the video file at ``path``, measured: width and height as shown (a phone's
    rotation applied), duration in seconds, average frames per second; ``source``, ``license``,
    ``author``, ``link`` and the in-point ``start`` as given.

    Only the header, the first frame and the last two seconds of packets are read, so a long clip is
    measured quickly; a file whose packets stop before the length its header gives is truncated.
    Blocking: call it through ``anyio.to_thread.run_sync``. Raises ``ClipProbeError`` for a file that is
    not a whole moving clip, ``ValueError`` for a ``start`` outside the clip.
    """
    import av  # imported here: ``import aura_core`` does not need PyAV

    if not path.is_file():
        raise ClipProbeError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ClipProbeError(f"{path}: the file is empty (0 bytes)")
    try:
        with av.open(str(path), mode="r") as container:
            measured = _measure(container, path)
    except av.error.FFmpegError as error:
        raise ClipProbeError(f"{path}: not a video that can be read ({error.strerror or error})") from None
    width, height, duration, fps = measured
    if not 0 <= start < duration:
        raise ValueError(f"start {start:g} s is outside the clip {path} ({duration:.3f} s long)")
    return Clip(
        path=path,
        width=width,
        height=height,
        duration=duration,
        fps=fps,
        source=source,
        license=license,
        start=start,
        author=author,
        link=link,
    )


def _measure(container: av.container.InputContainer, path: Path) -> tuple[int, int, float, float]:
    """(width, height as shown, duration, fps) of the first video stream; ``ClipProbeError`` when it is not a whole clip."""
    if not container.streams.video:
        kinds: list[str] = sorted({stream.type for stream in container.streams}) or ["nothing"]
        raise ClipProbeError(f"{path}: no video stream (it holds {', '.join(kinds)})")
    stream = container.streams.video[0]
    duration = _duration(container, stream)
    if duration is None or duration <= 0:
        raise ClipProbeError(f"{path}: not a moving clip (it has no duration: a still picture?)")
    fps = _rate(stream, duration)
    if fps <= 0:
        raise ClipProbeError(f"{path}: its frame rate is unknown")
    first = next(container.decode(stream), None)
    if first is None:
        raise ClipProbeError(f"{path}: no frame of it decodes")
    width, height = first.width, first.height
    if first.rotation % 180 == 90:  # a phone's portrait clip, stored on its side (its display matrix)
        width, height = height, width
    end = _last_packet_end(container, stream, duration)
    if end < duration - max(0.25, 3.0 / fps):
        raise ClipProbeError(
            f"{path}: truncated: its video stops at {end:.2f} s of the {duration:.2f} s its header gives"
        )
    return width, height, duration, fps


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    """The stream's length from its header, else the container's; None when neither says."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        import av

        return container.duration / av.time_base
    return None


def _rate(stream: av.video.stream.VideoStream, duration: float) -> float:
    """The average frame rate (frames over length for a variable-rate file), else the guessed one."""
    for rate in (stream.average_rate, stream.guessed_rate):
        if rate:
            return float(rate)
    return stream.frames / duration if stream.frames else 0.0


def _last_packet_end(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, duration: float
) -> float:
    """Where the stream's packets really end, in seconds from its start: the last ``_TAIL`` seconds are read."""
    assert stream.time_base is not None
    origin = stream.start_time or 0
    target = origin + int(max(0.0, duration - _TAIL) / stream.time_base)
    try:
        container.seek(target, stream=stream, backward=True)
    except Exception:  # noqa: BLE001 - a container that cannot seek is read from its start instead
        container.seek(0)
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is None:
            continue
        stop = packet.pts + (packet.duration or 0) - origin
        end = max(end, float(stop * stream.time_base))
    return end
