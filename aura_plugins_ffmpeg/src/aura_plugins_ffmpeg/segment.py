"""One scene segment: the picture in motion (or the clip playing), the transition into the next scene,
burned captions.

Two steps per segment of a picture:

1. ffmpeg decodes each picture once per run, cover-fits it and upsamples it 4x
   (``motion.upsampled``; the segment before, whose transition ends on it, shares it through
   ``stills.StillCache``);
2. Python samples every frame of the move from that still (``motion.Sampler``, a batch of
   frames at a time into reused canvases), blends a crossfade's frames with the next scene's
   first frame, and pipes raw yuv420p frames into one ffmpeg that adds any other transition,
   the fade out, the captions and encodes.

A clip (``aura_core.Clip``) is decoded, conformed and cover-fitted by the ffmpeg that encodes the
segment (``footage.Footage``), with no frame through Python; a transition into or out of a clip goes
through ``xfade``, with the incoming clip playing (``footage``'s docstring says how the two segments
share it).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import ffmpeg
from attrs import frozen

from aura_core import Clip, Narration, ProviderError, SegmentRequest, Visual
from aura_plugins_ffmpeg import allocator, binary, captions
from aura_plugins_ffmpeg.encoders import Encoder
from aura_plugins_ffmpeg.footage import Footage, clip_length
from aura_plugins_ffmpeg.motion import (
    Canvas,
    Mix,
    Move,
    Plane,
    Sampler,
    batch_size,
    hold,
    move_for,
    still,
    supersampling,
    transition_name,
    upsampled,
    window,
)
from aura_plugins_ffmpeg.stills import StillCache, StillKey

#: Length of the fade to black that ends the last scene, in seconds (at most a quarter of it).
FADE_OUT = 0.5
#: File names inside a segment's work folder (ffmpeg runs there: no filter-graph escaping of paths).
NEXT_FRAME = "next.yuv"
CAPTIONS = "captions.ass"
FONTS = "fonts"
#: The xfade transition blended in Python (Pillow) instead: xfade works in 4:4:4, so each of its
#: frames costs two chroma conversions (about 12 ms a 720p frame, against under 1 ms blended).
CROSSFADE = "fade"


def has_next(request: SegmentRequest) -> bool:
    """Whether a scene follows this one (its picture may be None: it then gets a generated background)."""
    return request.next_picture is not None or request.scene.index + 1 < request.scene_count


def wanted_frames(request: SegmentRequest, index: int) -> int:
    """The frames the transition from scene ``index`` into the next one is asked to take
    (``render.transition_duration``; 0 for a hard cut), before ``SegmentPlan`` shortens it to half
    its scene's slot: what a clip in the next scene gives that transition (``footage``)."""
    if index < 0 or transition_name(request.render.transition, index) is None:
        return 0
    return round(request.render.transition_duration * request.render.fps)


@frozen
class SegmentPlan:
    """Frame arithmetic of one segment: its frames, the frames its transition takes, and whether its
    own visual and the next one are moving clips (``lead``: the frames of its own clip that the
    transition into it showed)."""

    frames: int
    transition_frames: int
    transition: str | None
    own_clip: bool = False
    next_clip: bool = False
    lead: int = 0

    @classmethod
    def of(cls, request: SegmentRequest) -> SegmentPlan:
        """Frames from the timeline: ``round(end * fps) - round(start * fps)``, so segments never drift."""
        fps = request.render.fps
        scene = request.scene
        frames = max(1, round((scene.start + scene.duration) * fps) - round(scene.start * fps))
        name = transition_name(request.render.transition, scene.index) if has_next(request) else None
        wanted = wanted_frames(request, scene.index) if name else 0
        # The transition never takes more than half the slot, so the scene is always seen on its own.
        overlap = min(wanted, frames // 2)
        return cls(
            frames=frames,
            transition_frames=overlap,
            transition=name if overlap > 0 else None,
            own_clip=isinstance(request.picture, Clip),
            next_clip=isinstance(request.next_picture, Clip),
            lead=wanted_frames(request, scene.index - 1),
        )

    @property
    def through_xfade(self) -> bool:
        """Whether the transition is made by ffmpeg's xfade: any but the crossfade between two pictures,
        which Python blends."""
        if self.transition is None:
            return False
        return self.transition != CROSSFADE or self.own_clip or self.next_clip

    @property
    def python_crossfade(self) -> bool:
        """Whether Python blends the crossfade into the next picture's first frame."""
        return self.transition is not None and not self.through_xfade

    @property
    def next_still(self) -> bool:
        """Whether the transition ends on the next scene's first still frame (the next visual is a
        picture, or none: its generated background)."""
        return self.transition is not None and not self.next_clip


async def load_still(
    exe: str, picture: Path | None, index: int, request: SegmentRequest, factor: int
) -> Sampler:
    """Decode, cover-fit and upsample scene ``index``'s picture (or background) once."""
    render = request.render
    graph = upsampled(
        still(picture.resolve() if picture else None, index, render.width, render.height, render.fps),
        render.width,
        render.height,
        factor,
    )
    # Read into one buffer of the exact size: no growth, no copy (the still is large at 1080p).
    raw = binary.Filled(Sampler.size(render.width, render.height, factor))
    await binary.run(
        binary.command(exe, graph.compile(), threads=1),
        what=f"decode the picture of scene {index + 1}",
        stdout=raw,
    )
    if raw.length != len(raw.data):
        raise ProviderError(
            f"the upsampled still of scene {index + 1} has {raw.length} bytes, expected {len(raw.data)}",
            transient=False,
        )
    return Sampler(raw.data, render.width, render.height, factor)


def motion_frames(
    sampler: Sampler, move: Move, frames: int, into: Callable[[], bytes] | None = None, overlap: int = 0
) -> Iterator[Plane]:
    """The planes of the ``frames`` raw frames of ``move`` (blocking: iterated in a worker thread).
    They are sampled a batch at a time (``batch_size``) into as many canvases, so each plane must
    be written out before the next is taken.

    With ``into`` (which gives the next scene's first frame, waiting for it if need be: it is
    asked for only when the transition starts), the last ``overlap`` frames crossfade into that
    frame as xfade's ``fade`` does: transition frame ``k`` weighs it ``k / overlap``, so the next
    segment's first frame is the blend's next step.
    """
    start = frames - overlap
    planes = None
    size = batch_size(sampler.width, sampler.height)
    canvases = [Canvas(sampler.width, sampler.height) for _ in range(min(size, frames))]
    for batch in range(0, frames, size):
        numbers = range(batch, min(frames, batch + size))
        sampler.frames([window(move, sampler.width, sampler.height, n / frames) for n in numbers], canvases)
        for n, canvas in zip(numbers, canvases, strict=False):
            if into is not None and overlap and n == start + 1:
                planes = Mix.planes_of(into(), sampler.width, sampler.height)
            yield from canvas.planes if planes is None else canvas.blended(Mix(planes, (n - start) / overlap))


class NextFrame:
    """The next scene's first frame, handed from the task that makes it to the thread that blends
    it in: ``put`` it (or ``close`` without one, on failure), ``get`` it (blocking until then)."""

    def __init__(self, index: int) -> None:
        """The first frame of scene ``index`` (0-based), not made yet."""
        self.index = index
        self._frame: bytes | None = None
        self._done = threading.Event()
        self.ready = anyio.Event()

    def put(self, frame: bytes) -> None:
        """Hand the frame over."""
        self._frame = frame

    def close(self) -> None:
        """Wake whoever waits, with the frame or without it."""
        self._done.set()
        self.ready.set()

    def get(self) -> bytes:
        """The frame (blocking until ``close``); raises when it could not be made."""
        self._done.wait()
        if self._frame is None:
            raise ProviderError(
                f"the first frame of scene {self.index + 1} could not be made", transient=False
            )
        return self._frame


def caption_file(request: SegmentRequest, folder: Path) -> bool:
    """Write the scene's captions (times relative to the segment) to ``folder``; False when none."""
    render = request.render
    if render.captions != "burn":
        return False
    # The segment starts at the frame nearest to the scene start; the speech at the scene start.
    offset = max(0.0, request.scene.start - round(request.scene.start * render.fps) / render.fps)
    cue_list = captions.cues([Narration(request.speech, offset, request.scene.narration)])
    if not cue_list:
        return False
    captions.write_ass(cue_list, folder / CAPTIONS, render.width, render.height)
    (folder / FONTS).symlink_to(captions.FONTS_DIR, target_is_directory=True)
    return True


def build(
    request: SegmentRequest,
    plan: SegmentPlan,
    encoder: Encoder,
    *,
    burn: bool,
    threads: int,
    own: Footage | None = None,
    incoming: Footage | None = None,
) -> Any:
    """The ffmpeg-python output node: raw frames on stdin, or the ``own`` clip (and the next scene's
    first frame in ``next.yuv``, or the ``incoming`` clip) to the encoded segment at ``request.out_path``."""
    render = request.render
    fps, width, height = render.fps, render.width, render.height
    raw = {"f": "rawvideo", "pix_fmt": "yuv420p", "s": f"{width}x{height}", "framerate": fps}
    if own is not None:
        video = own.stream(width, height, threads)
    else:
        video = ffmpeg.input("pipe:", **raw).video.filter("settb", f"1/{fps}").filter("setpts", "N")
    if plan.through_xfade:
        # Only the transition's frames go through xfade, which works in 4:4:4: the frames before it
        # reach the encoder as sampled (no chroma round trip, no conversion cost per frame).
        head_frames = plan.frames - plan.transition_frames
        parts = video.split()
        head = parts[0].trim(end_frame=head_frames)
        tail = parts[1].trim(start_frame=head_frames).setpts("N")
        if incoming is not None:
            first = incoming.stream(width, height, threads).filter("settb", f"1/{fps}")
        else:
            first = hold(ffmpeg.input(NEXT_FRAME, **raw).video, plan.transition_frames, fps)
        blended = ffmpeg.filter(
            [tail, first],
            "xfade",
            transition=plan.transition,
            duration=f"{plan.transition_frames / fps:.6f}",
            offset=0,
        ).filter("format", "yuv420p")
        video = ffmpeg.concat(head, blended, n=2, v=1, a=0)
    elif not has_next(request):
        fade = min(round(FADE_OUT * fps), plan.frames // 4)
        if fade:
            video = video.filter("fade", type="out", start_frame=plan.frames - fade, nb_frames=fade)
    if burn:
        video = video.filter("subtitles", CAPTIONS, fontsdir=FONTS)
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
    kwargs["threads"] = threads
    return ffmpeg.output(video, str(request.out_path.resolve()), **kwargs)


def encoder_threads(setting: int, concurrency: int) -> int:
    """Encoder threads per segment: the ``threads`` setting, else the cores shared by the segments
    rendering at once (at least 1), so they keep every core busy without oversubscribing them."""
    if setting:
        return setting
    return max(1, (os.cpu_count() or 1) // concurrency)


def first_frame(following: Sampler, index: int, zoom: float) -> bytes:
    """Scene ``index``'s first frame, raw yuv420p, sampled from its still exactly as its own segment
    samples it (blocking)."""
    canvas = Canvas(following.width, following.height)
    following.frames([window(move_for(index, zoom), following.width, following.height, 0.0)], [canvas])
    return b"".join(canvas.planes)


async def footage_of(request: SegmentRequest, plan: SegmentPlan) -> tuple[Footage | None, Footage | None]:
    """The parts of the clips the segment shows: its own scene's, and the next scene's in the
    transition (None where the visual is a picture, or the transition shows none); each clip is
    measured first, so a file that is not video fails here, naming it."""
    fps, index = request.render.fps, request.scene.index
    own: Footage | None = None
    incoming: Footage | None = None
    if isinstance(request.picture, Clip):
        length = await anyio.to_thread.run_sync(clip_length, request.picture, index)
        own = Footage.own(request.picture, length, fps, plan.lead, plan.frames)
    if isinstance(request.next_picture, Clip) and plan.transition is not None:
        length = await anyio.to_thread.run_sync(clip_length, request.next_picture, index + 1)
        lead = wanted_frames(request, index)
        incoming = Footage.incoming(request.next_picture, length, fps, lead, plan.transition_frames)
    return own, incoming


async def render(
    request: SegmentRequest,
    plan: SegmentPlan,
    encoder: Encoder,
    *,
    exe: str,
    zoom: float,
    threads: int,
    stills: StillCache,
) -> str:
    """Write the segment of ``request`` to ``request.out_path``; ``stills`` holds the upsampled
    pictures this run's segments share. Returns what the encoding ffmpeg said (its warnings)."""
    render = request.render
    index = request.scene.index
    factor = supersampling(render.width, render.height)
    out = request.out_path
    allocator.keep_freed_memory()  # the stills and blended frames freed are reused, not faulted in again
    own_clip, incoming = await footage_of(request, plan)
    folder = Path(tempfile.mkdtemp(prefix=f".{out.stem}-", dir=out.parent))
    said: list[str] = []
    try:
        following = NextFrame(index + 1)
        own_ready = anyio.Event()

        async def still_of(picture: Visual | None, at: int, *, own: bool, alone: bool = False) -> Sampler:
            """Scene ``at``'s still, from ``stills`` (decoded here if no other segment has or is)."""
            path = picture.path if picture is not None else None
            load = functools.partial(load_still, exe, path, at, request, factor)
            key = StillKey.of(
                path.resolve() if path else None, at, render.width, render.height, render.fps, factor
            )
            return await stills.get(key, load, own=own, alone=alone)

        async def load_next() -> None:
            try:
                if not plan.next_still:
                    return
                await own_ready.wait()  # the scene's own picture first: encoding waits for it
                still = await still_of(request.next_picture, index + 1, own=False)
                frame = await anyio.to_thread.run_sync(first_frame, still, index + 1, zoom)
                if plan.through_xfade:
                    await anyio.to_thread.run_sync((folder / NEXT_FRAME).write_bytes, frame)
                following.put(frame)
            finally:
                following.close()

        async def encode() -> None:
            frames: Iterator[Plane] | None = None
            if own_clip is None:
                # The segment before ends on this picture's first frame, unless there is none or no
                # transition.
                alone = index == 0 or render.transition == "none"
                sampler = await still_of(request.picture, index, own=True, alone=alone)
                frames = motion_frames(
                    sampler,
                    move_for(index, zoom),
                    plan.frames,
                    following.get if plan.python_crossfade else None,
                    plan.transition_frames if plan.python_crossfade else 0,
                )
            own_ready.set()
            if plan.through_xfade and plan.next_still:
                await following.ready.wait()  # ffmpeg reads the next frame's file when it starts
            burn = caption_file(request, folder)
            graph = build(request, plan, encoder, burn=burn, threads=threads, own=own_clip, incoming=incoming)
            args = binary.command(exe, graph.compile(), threads=1, global_args=encoder.global_args)
            said.append(
                await binary.run(
                    args, what=f"render scene {index + 1}", partial=[out], cwd=folder, feed=frames
                )
            )

        # Encoding starts once the scene's own picture is ready; the next one is only needed when the
        # crossfade starts, so it is decoded (or found decoded) after it, while the frames encode.
        await binary.together(load_next, encode)
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(shutil.rmtree, folder, True)
    return said[0]


def encoder_kwargs(encoder: Encoder) -> dict[str, str]:
    """The encoder's ``-option value`` pairs as ffmpeg-python output keywords."""
    args = encoder.args
    return {args[i].lstrip("-"): args[i + 1] for i in range(0, len(args), 2)}
