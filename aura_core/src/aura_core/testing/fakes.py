"""Fake providers of every kind with scriptable latency, failures and output.

They write real files (a WAV tone, a PNG gradient, a moving MP4 clip, small segment and video files) so
the core's store, validators and resume logic work on them exactly as on real providers. Use them to test
the core or an app; never as the thing under test.
"""

from __future__ import annotations

import array
import math
import random
import struct
import sys
import time
import wave
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from attrs import define, evolve, field

from aura_core.contract import (
    AssemblyRequest,
    Availability,
    Clip,
    ImageRequest,
    Narration,
    Picture,
    SceneDraft,
    ScriptRequest,
    Segment,
    SegmentRequest,
    Soundtrack,
    SoundtrackRequest,
    SoundtrackStart,
    Speech,
    SpeechRequest,
    Video,
    Visual,
    WordTiming,
)
from aura_core.errors import ProviderError
from aura_core.filework import write_in_thread
from aura_core.media import probe_clip
from aura_core.wordcount import count_words

_TOPIC_WORDS = (
    "light",
    "water",
    "signal",
    "pattern",
    "memory",
    "motion",
    "energy",
    "colour",
    "distance",
    "rhythm",
)


@define
class Faults:
    """When a fake fails: ``rate`` of calls at random (seeded), or the call numbers in ``calls`` (1-based).

    ``transient`` picks the error kind; ``hang`` makes failing calls hang instead (for timeouts);
    ``retry_after`` is put on transient errors.
    """

    rate: float = 0.0
    calls: frozenset[int] = frozenset()
    transient: bool = True
    hang: bool = False
    retry_after: float | None = None
    seed: int = 0
    _rng: random.Random = field(init=False)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    async def maybe_fail(self, name: str, call_number: int) -> None:
        """Fail (or hang) this call when the plan says so."""
        hit = call_number in self.calls or (self.rate > 0 and self._rng.random() < self.rate)
        if not hit:
            return
        if self.hang:
            await anyio.sleep_forever()
        raise ProviderError(
            f"{name}: injected failure on call {call_number}",
            transient=self.transient,
            retry_after=self.retry_after,
        )


@define
class _Fake:
    name: str = "fake"
    latency: float = 0.0
    faults: Faults = field(factory=Faults)
    concurrency: int = 4
    auto: bool = True
    calls: int = 0
    available: bool = True
    #: a file that gets one line per finished call, appended (so counts add up across processes)
    call_log: str | Path | None = None

    async def _enter(self) -> None:
        self.calls += 1
        number = self.calls
        if self.latency:
            await anyio.sleep(self.latency)
        await self.faults.maybe_fail(self.name, number)

    def _finished(self, line: str) -> None:
        if self.call_log is not None:
            with Path(self.call_log).open("a", encoding="utf-8") as log:
                log.write(line + "\n")

    async def check(self) -> Availability:
        """Fakes are available unless told otherwise."""
        return Availability(self.available, "" if self.available else f"{self.name} switched off")

    def fingerprint(self) -> str:
        """Fakes make the same output for the same request."""
        return f"fake:{self.name}"


@define
class FakeScriptWriter(_Fake):
    """kind ``llm``: writes ``scene_count`` scenes of even length, one every ``latency`` seconds."""

    kind: str = "llm"

    async def write_script(self, request: ScriptRequest) -> AsyncIterator[SceneDraft]:
        """Yield the scenes in order, each after ``latency`` seconds."""
        self.calls += 1
        number = self.calls
        per_scene = max(3, round(request.word_target / request.scene_count))
        for index in range(request.scene_count):
            if self.latency:
                await anyio.sleep(self.latency)
            if index == request.scene_count // 2:
                await self.faults.maybe_fail(self.name, number)
            words = [_TOPIC_WORDS[(index + i) % len(_TOPIC_WORDS)] for i in range(per_scene)]
            narration = f"{request.brief.topic}: " + " ".join(words) + "."
            yield SceneDraft(
                heading=f"Scene {index + 1}", narration=narration, visual_prompt=f"{words[0]} over {words[1]}"
            )
        self._finished("script")


def write_tone_wav(path: Path, seconds: float, rate: int = 16000, frequency: float = 200.0) -> None:
    """A mono 16-bit WAV tone of ``seconds`` (one period computed, then repeated)."""
    frames = int(seconds * rate)
    period = max(2, round(rate / frequency))
    cycle = array.array("h", (int(8000 * math.sin(2 * math.pi * i / period)) for i in range(period)))
    samples = (cycle * (frames // period + 1))[:frames]
    if sys.byteorder == "big":
        samples.byteswap()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())


@define
class FakeVoice(_Fake):
    """kind ``tts``: a tone as long as the text takes at ``words_per_minute``, with word timings."""

    kind: str = "tts"
    words_per_minute: float = 150.0
    sample_rate: int = 8000

    async def synthesize(self, request: SpeechRequest) -> Speech:
        """Write the tone to ``out_path``."""
        if not request.text.strip():
            raise ProviderError(f"{self.name}: nothing to say (empty text)", transient=False)
        await self._enter()
        words = request.text.split()
        seconds = max(
            0.5,
            count_words(request.text, request.language) / (self.words_per_minute * request.voice.rate) * 60.0,
        )
        write_tone_wav(request.out_path, seconds, self.sample_rate)
        step = seconds / max(len(words), 1)
        timings = tuple(
            WordTiming(w, round(i * step, 4), round((i + 1) * step, 4)) for i, w in enumerate(words)
        )
        self._finished(f"voice\t{request.text}")
        return Speech(
            path=request.out_path,
            duration=round(int(seconds * self.sample_rate) / self.sample_rate, 6),
            sample_rate=self.sample_rate,
            words=timings,
        )


def write_gradient_png(path: Path, width: int, height: int, seed: int) -> None:
    """A ``width`` x ``height`` RGB gradient PNG, coloured by ``seed`` (stdlib only)."""
    r0, g0, b0 = (seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256
    rows = []
    for y in range(height):
        shade = y * 255 // max(height - 1, 1)
        row = bytes(
            (r0 + shade) % 256 if c == 0 else (g0 + x) % 256 if c == 1 else b0
            for x in range(width)
            for c in range(3)
        )
        rows.append(b"\x00" + row)
    raw = zlib.compress(b"".join(rows), 6)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    )


@define
class FakeIllustrator(_Fake):
    """kind ``image``: a gradient PNG at the requested size."""

    kind: str = "image"

    async def generate(self, request: ImageRequest) -> Picture:
        """Write the gradient to ``out_path``."""
        return await _gradient(self, request)


async def _gradient(fake: _Fake, request: ImageRequest) -> Picture:
    """The fake illustrators' picture: a gradient PNG at ``out_path``."""
    if request.width < 1 or request.height < 1:
        raise ProviderError(f"{fake.name}: cannot draw {request.width}x{request.height}", transient=False)
    await fake._enter()
    write_gradient_png(request.out_path, request.width, request.height, request.seed)
    fake._finished(f"image\t{request.prompt}\t{request.seed}")
    return Picture(
        path=request.out_path, width=request.width, height=request.height, source=fake.name, license="CC0"
    )


def write_test_clip(
    path: Path, width: int, height: int, seconds: float, fps: int = 10, seed: int = 0
) -> None:
    """A silent MP4 clip of a gradient sliding sideways, ``seconds`` long (whole frames, at least one)
    at ``fps``, ``width`` x ``height`` (even numbers), coloured by ``seed``; H.264 when PyAV has it, else
    MPEG-4 Part 2. Needs PyAV (``aura-core[media]``)."""
    import av  # imported here: ``import aura_core.testing`` does not need PyAV

    frames = max(1, math.ceil(seconds * fps - 1e-6))
    r0, g0, b0 = (seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256
    reds = bytes((r0 + x) % 256 for x in range(width + 4 * frames))
    with av.open(str(path), mode="w", format="mp4") as container:
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        stream = container.add_stream(codec, rate=fps)
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for number in range(frames):
            row = bytearray(width * 3)
            row[0::3] = reds[4 * number : 4 * number + width]
            picture = bytearray()
            for y in range(height):
                row[1::3] = bytes([(g0 + y * 255 // max(height - 1, 1)) % 256]) * width
                row[2::3] = bytes([b0]) * width
                picture += row
            frame = av.VideoFrame(width, height, "rgb24")
            plane = frame.planes[0]
            if plane.line_size == width * 3:
                plane.update(bytes(picture))
            else:  # rows padded to the plane's alignment
                pad = bytes(plane.line_size - width * 3)
                plane.update(
                    b"".join(picture[y * width * 3 : (y + 1) * width * 3] + pad for y in range(height))
                )
            frame.pts = number
            container.mux(stream.encode(frame.reformat(format="yuv420p")))
        container.mux(stream.encode(None))


@define
class FakeClipIllustrator(_Fake):
    """kind ``image`` that makes moving clips (``clips = True``): for a request that takes clips, an MP4 of
    a sliding gradient beside ``out_path``, as long as ``request.duration`` (``seconds`` when it is 0),
    measured with ``probe_clip``; a gradient PNG for any other. Needs PyAV (``aura-core[media]``)."""

    kind: str = "image"
    clips: bool = True
    seconds: float = 2.0
    fps: int = 10

    async def generate(self, request: ImageRequest) -> Visual:
        """Write a clip beside ``out_path`` when the request takes clips, else a picture at it."""
        if not request.clips:
            return await _gradient(self, request)
        if request.width < 2 or request.height < 2:
            raise ProviderError(f"{self.name}: cannot film {request.width}x{request.height}", transient=False)
        await self._enter()
        # even sizes: yuv420p halves them
        width, height = request.width - request.width % 2, request.height - request.height % 2
        seconds = request.duration if request.duration > 0 else self.seconds
        out = request.out_path.with_suffix(".mp4")

        def film(path: Path) -> Clip:
            write_test_clip(path, width, height, seconds, self.fps, request.seed)
            return probe_clip(path, source=self.name, license="CC0", author="aura tests", link="")

        clip = await write_in_thread(out, film)
        self._finished(f"clip\t{request.prompt}\t{request.seed}")
        return evolve(clip, path=out)


@define
class FakeComposer(_Fake):
    """kind ``composer``: writes small stand-in files that record what they stand for (not real video).

    ``clips=True`` says it takes moving clips (a ``Clip`` is recorded by its file name, as a picture is)."""

    kind: str = "composer"
    render_latency: float = 0.0
    clips: bool = False

    async def render_scene(self, request: SegmentRequest) -> Segment:
        """Write a file describing the segment."""
        await self._enter()
        if self.render_latency:
            await anyio.sleep(self.render_latency)
        for visual in (request.picture, request.next_picture):
            if isinstance(visual, Clip) and not self.clips:
                raise ProviderError(
                    f"{self.name}: takes no moving clips, got {visual.path.name}", transient=False
                )
        picture = request.picture.path.name if request.picture else "background"
        request.out_path.write_text(
            f"segment {request.scene.index} {request.scene.duration:.3f}s {picture}\n"
        )
        render = request.render
        self._finished(f"segment\t{request.scene.index}")
        return Segment(
            path=request.out_path,
            index=request.scene.index,
            start=request.scene.start,
            duration=request.scene.duration,
            width=render.width,
            height=render.height,
            fps=render.fps,
        )

    async def assemble(self, request: AssemblyRequest) -> Video:
        """Concatenate the segment files into one file."""
        if not request.segments:
            raise ProviderError(f"{self.name}: nothing to assemble (no segments)", transient=False)
        await self._enter()
        parts = [s.path.read_text() for s in request.segments]
        if request.soundtrack is not None:
            parts.append(request.soundtrack.path.read_text())
        request.out_path.write_text("".join(parts))
        duration = sum(s.duration for s in request.segments)
        render = request.render
        self._finished("assemble")
        return Video(
            path=request.out_path,
            duration=duration,
            width=render.width,
            height=render.height,
            fps=float(render.fps),
            size_bytes=request.out_path.stat().st_size,
        )


@define
class FakeMixingComposer(FakeComposer):
    """A ``FakeComposer`` that also mixes soundtracks on its own (``SoundtrackMixer``): a text file
    naming each narration's start, which ``assemble`` appends to the video file."""

    async def mix_soundtrack(self, request: SoundtrackRequest) -> Soundtrack:
        """Write a file describing the soundtrack."""
        await self._enter()
        starts = " ".join(f"{n.start:.3f}" for n in request.narration)
        request.out_path.write_text(f"soundtrack {request.duration:.3f}s at {starts}\n")
        self._finished("soundtrack")
        return Soundtrack(path=request.out_path, duration=request.duration)


@define
class FakeSoundtrackStream:
    """One stream of a ``FakeStreamingComposer``: the scenes added, the request finished, whether
    its context was left. While open it writes a line per scene to ``start.out_path`` (a half file,
    which leaving the context without ``finish`` removes)."""

    composer: FakeMixingComposer
    start: SoundtrackStart
    added: list[tuple[Narration, float]] = field(factory=list)
    #: when the first scene was added (``time.monotonic``, as events' ``at``)
    first_added_at: float | None = None
    finished: SoundtrackRequest | None = None
    closed: bool = False

    async def add(self, narration: Narration, end: float) -> None:
        """Note the scene (and write its line)."""
        if self.first_added_at is None:
            self.first_added_at = time.monotonic()
        self.added.append((narration, end))
        with self.start.out_path.open("a", encoding="utf-8") as half:
            half.write(f"scene at {narration.start:.3f} to {end:.3f}\n")

    async def finish(self, request: SoundtrackRequest) -> Soundtrack:
        """The soundtrack ``mix_soundtrack`` makes of ``request`` (one composer call)."""
        self.finished = request
        return await self.composer.mix_soundtrack(request)


@define
class FakeStreamingComposer(FakeMixingComposer):
    """A ``FakeMixingComposer`` that also streams soundtracks (``SoundtrackStreamer``): each stream
    is kept in ``streams``; its result is the file ``mix_soundtrack`` writes."""

    streams: list[FakeSoundtrackStream] = field(factory=list)

    @asynccontextmanager
    async def stream_soundtrack(self, start: SoundtrackStart) -> AsyncIterator[FakeSoundtrackStream]:
        """A stream noting what it is given; leaving it removes its half file."""
        stream = FakeSoundtrackStream(self, start)
        self.streams.append(stream)
        try:
            yield stream
        finally:
            stream.closed = True
            start.out_path.unlink(missing_ok=True)


def fake_providers(latency: float = 0.0) -> list[_Fake]:
    """One fake of every kind, named ``fake``."""
    return [
        FakeScriptWriter(latency=latency),
        FakeVoice(latency=latency),
        FakeIllustrator(latency=latency),
        FakeComposer(latency=latency),
    ]
