"""Assembling the video: segments joined by the concat demuxer (copied), soundtrack, caption sidecars,
thumbnail, checks. Burned captions are already in the segments (see ``segment``)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import anyio
import ffmpeg

from aura_core import AssemblyRequest, ProviderError, SoundtrackRequest, Video
from aura_plugins_ffmpeg import binary, captions, soundtrack
from aura_plugins_ffmpeg.probe import Probe, probe
from aura_plugins_ffmpeg.soundtrack import is_webm

#: How far the finished video's duration may be from the timeline's end, in seconds.
DURATION_TOLERANCE = 0.1


def output_path(request: AssemblyRequest) -> Path:
    """Where the video goes: ``out_path``, except that VP9 goes in a WebM next to it."""
    out = request.out_path
    if request.render.codec == "vp9" and out.suffix.lower() not in (".webm", ".mkv"):
        return out.with_suffix(".webm")
    return out


def timeline_end(request: AssemblyRequest) -> float:
    """The end of the last segment's slot: the length the video must have."""
    return max(s.start + s.duration for s in request.segments)


def _concat_list(request: AssemblyRequest, folder: Path) -> Path:
    listing = folder / "segments.txt"
    lines = []
    for segment in sorted(request.segments, key=lambda s: s.index):
        escaped = str(segment.path.resolve()).replace("'", "'\\''")
        lines.append(f"file '{escaped}'")
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return listing


async def assemble(
    request: AssemblyRequest, *, exe: str, threads: int, work_dir: Path | None = None
) -> Video:
    """Write the finished video for ``request`` and return it as probed."""
    if not request.segments:
        raise ProviderError("assembly needs at least one segment", transient=False)
    render = request.render
    out = output_path(request)
    out.parent.mkdir(parents=True, exist_ok=True)
    total = timeline_end(request)
    webm = out.suffix.lower() == ".webm"
    mode = request.captions
    cue_list = captions.cues(request.narration) if mode != "off" else []
    captions_path: Path | None = None
    if mode != "off":
        captions_path, _vtt = captions.write_sidecars(cue_list, out)

    with tempfile.TemporaryDirectory(prefix="aura-ffmpeg-", dir=work_dir) as tmp:
        folder = Path(tmp)
        made = request.soundtrack
        if made is None or is_webm(made.path) != webm:
            # Not mixed before (or for another container): mix it now.
            suffix = ".webm" if webm else ".m4a"
            made = await soundtrack.mix(
                SoundtrackRequest(
                    request.narration, request.music, render, total, folder / f"soundtrack{suffix}"
                ),
                exe=exe,
                threads=threads,
            )
        # Join the segments and the soundtrack, both copied byte for byte.
        listing = _concat_list(request, folder)
        # auto_convert=0: the packets are copied byte for byte (no Annex B round trip).
        video: Any = ffmpeg.input(str(listing), f="concat", safe=0, auto_convert=0).video
        sound = ffmpeg.input(str(made.path)).audio
        # Captions are burned into the segments: video and sound are both copied.
        kwargs: dict[str, Any] = {"t": f"{total:.6f}", "c:v": "copy", "c:a": "copy"}
        kwargs.update({"f": "webm"} if webm else {"movflags": "+faststart", "f": "mp4"})
        final = ffmpeg.output(video, sound, str(out), **kwargs)
        args = binary.command(exe, final.compile(), threads=threads)
        thumbnail = out.with_suffix(".png")
        # The thumbnail comes from the segment that holds its moment (the video copies it), while
        # the video is written.
        done: list[str] = []

        async def write_video() -> None:
            done.append(await binary.run(args, what="assemble the video", partial=[out]))

        async def grab_thumbnail() -> None:
            await _grab_thumbnail(exe, request, total, thumbnail)

        try:
            await binary.together(write_video, grab_thumbnail)
        except BaseException:
            thumbnail.unlink(missing_ok=True)
            raise
        stderr = done[0]

    measured_video = await anyio.to_thread.run_sync(probe, out)
    try:
        _validate(measured_video, request, total, stderr)
    except ProviderError:
        out.unlink(missing_ok=True)
        thumbnail.unlink(missing_ok=True)
        raise
    return Video(
        path=out,
        duration=measured_video.duration,
        width=measured_video.width,
        height=measured_video.height,
        fps=measured_video.fps,
        size_bytes=out.stat().st_size,
        captions_path=captions_path,
        thumbnail_path=thumbnail,
    )


#: The PNG thumbnail's zlib compression level.
THUMBNAIL_COMPRESSION = 3


async def _grab_thumbnail(exe: str, request: AssemblyRequest, total: float, thumbnail: Path) -> None:
    """Write the frame at a third of the video (at most 2 s in) to ``thumbnail`` from its segment."""
    moment = min(total / 3, 2.0)
    ordered = sorted(request.segments, key=lambda s: s.start)
    segment = next((s for s in ordered if s.start <= moment < s.start + s.duration), ordered[-1])
    offset = min(max(moment - segment.start, 0.0), max(segment.duration - 1 / segment.fps, 0.0))
    # zlib level 3: about 40 % less CPU than the default level for a file about 10 % larger.
    grab = ffmpeg.input(str(segment.path), ss=f"{offset:.3f}").output(
        str(thumbnail), vframes=1, compression_level=THUMBNAIL_COMPRESSION
    )
    await binary.run(binary.command(exe, grab.compile()), what="grab the thumbnail", partial=[thumbnail])


def _validate(found: Probe, request: AssemblyRequest, total: float, stderr: str) -> None:
    render = request.render
    problems = []
    if found.video_codec is None:
        problems.append("no video stream")
    if found.audio_codec is None:
        problems.append("no audio stream")
    if (found.width, found.height) != (render.width, render.height):
        problems.append(f"size {found.width}x{found.height}, expected {render.width}x{render.height}")
    if abs(found.fps - render.fps) > 0.01:
        problems.append(f"{found.fps:g} fps, expected {render.fps}")
    if abs(found.duration - total) > DURATION_TOLERANCE:
        problems.append(f"duration {found.duration:.3f} s, expected {total:.3f} s")
    # Every segment's frames are in the video (a segment ffmpeg could not read would leave the
    # video short under a full-length soundtrack). WebM does not count its frames: 0 is unknown.
    frames = sum(round(s.duration * s.fps) for s in request.segments)
    if found.video_frames and found.video_frames != frames:
        problems.append(f"{found.video_frames} video frames, expected {frames}")
    if problems:
        raise ProviderError(
            f"the assembled video is wrong ({'; '.join(problems)}); "
            f"ffmpeg said: {binary.tail(stderr) or '(nothing)'}",
            transient=False,
        )
