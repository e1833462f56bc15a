"""The soundtrack streamed as the scenes are placed (``FfmpegComposer.stream_soundtrack``).

One ffmpeg process mixes, levels, limits, measures and encodes the timeline as it grows (one
encoder: no chunks joined, so nothing to click at a scene's start), so what is left once the last
voice is in is that scene's samples and the file's end. Each scene's narration is levelled to the
target on its own as it comes (``audio.speech_levelling``: voices differ from scene to scene by a
few LU), so the loudness of the first ``GAIN_AFTER`` seconds of the mix is that of the whole, and
the one gain that brings the mix to the target is fixed from them. The finished soundtrack is
measured in the same process, after that gain and the limiter; when it lands more than
``TOLERANCE`` from the target or over the true-peak ceiling, it is mixed and levelled again in one
piece (``soundtrack.mix``), exactly as without streaming.
"""

from __future__ import annotations

import math
import os
import queue
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import ffmpeg
from loguru import logger

from aura_core import Narration, ProviderError, Soundtrack, SoundtrackRequest, SoundtrackStart
from aura_plugins_ffmpeg import audio, binary, soundtrack
from aura_plugins_ffmpeg.probe import probe

#: Seconds of timeline measured before the gain is fixed and the encoder starts: with each scene's
#: narration levelled on its own, a few seconds of speech measure as the whole does (EBU R128 gates
#: 400 ms blocks every 100 ms: 47 of them), and the encoder starts early enough to keep up.
GAIN_AFTER = 5.0
#: How far (LU) the streamed soundtrack may measure from the target before it is levelled again.
#: EBU R128 allows ±0.5 LU around the target for a file; 0.3 leaves 0.2 for the AAC encode and
#: another meter's reading (ebur128 prints 0.1 LU steps, meters differ by up to about 0.1 LU).
TOLERANCE = 0.3

_Command = tuple[Narration, float, audio.Levelling | None] | float | None


class StreamedSoundtrack:
    """One soundtrack being streamed: ``add`` each placed scene, then ``finish`` (``SoundtrackStream``)."""

    def __init__(self, start: SoundtrackStart, *, exe: str, threads: int, work: Path) -> None:
        """A stream writing ``start.out_path``, with its scratch files in ``work``."""
        self.start = start
        self.exe = exe
        self.threads = threads
        self.work = work
        self.music_file = start.music if start.music is not None else start.render.music
        self.music = audio.with_music(self.music_file, start.render.music_volume)
        self.target = start.render.loudness
        #: The scenes as added, and as levelled (each with how its narration is levelled).
        self.placed: list[tuple[Narration, float]] = []
        self.levelled: list[tuple[Narration, float, audio.Levelling | None]] = []
        #: How each speech is levelled, by its file (``audio.speech_levelling``), for ``soundtrack.mix`` too.
        self.levellings: dict[Path, audio.Levelling | None] = {}
        self._scenes_in, self._scenes = anyio.create_memory_object_stream[tuple[Narration, float]](math.inf)
        #: The commands of the encoder's feeder thread: a levelled scene, the timeline's end, or None (stop).
        self._commands: queue.SimpleQueue[_Command] = queue.SimpleQueue()
        self._stopped = False
        self._one_piece = False  # finish came before the gain was fixed: nothing is streamed
        self._gain_wanted = anyio.Event()
        self._levelled_all = anyio.Event()
        self._encoded = anyio.Event()
        self._levelling: audio.Levelling | None = None
        self._stderr: str | None = None
        self._failure: str | None = None
        self._scope: anyio.CancelScope | None = None

    # -- what the runner calls ----------------------------------------------------------------

    async def add(self, narration: Narration, end: float) -> None:
        """Scene placed: ``narration`` at its start, its slot ending at ``end`` seconds. Never waits
        for the audio work; a scene out of order turns the stream off (``finish`` then mixes in one piece)."""
        before = self.placed[-1][1] if self.placed else 0.0
        if audio.samples(narration.start) < audio.samples(before):
            self._fail(f"scene at {narration.start:.3f} s placed before the end of the last one")
        self.placed.append((narration, end))
        self._scenes_in.send_nowait((narration, end))

    async def finish(self, request: SoundtrackRequest) -> Soundtrack:
        """The soundtrack of ``request`` at ``request.out_path``: the streamed one when ``request`` is
        the timeline streamed and it measures on target, else mixed and levelled in one piece."""
        self._scenes_in.close()
        await self._levelled_all.wait()
        if self._gain_wanted.is_set() and self._failure is None:
            problem = self._differs(request)
            if problem is None:
                self._commands.put(request.duration)
                await self._encoded.wait()
                problem = self._failure or self._off_target()
            if problem is None:
                os.replace(self.start.out_path, request.out_path)
                return await _probed(request.out_path)
            logger.info("ffmpeg: the streamed soundtrack is mixed again in one piece: {}", problem)
        else:
            self._one_piece = True
            self._gain_wanted.set()  # wakes the encoding task, which then ends
            if self._failure is not None:
                logger.info("ffmpeg: the soundtrack is mixed in one piece: {}", self._failure)
        self.stop()
        return await soundtrack.mix(request, exe=self.exe, threads=self.threads, levelled=self.levellings)

    def stop(self) -> None:
        """Stop the work (the encoder's file is removed) and let the feeder thread go."""
        self._stopped = True
        self._commands.put(None)
        self._scenes_in.close()
        if self._scope is not None:
            self._scope.cancel()

    # -- the work beside the runner -----------------------------------------------------------

    async def run(self) -> None:
        """Level each scene's narration as it comes, and encode once ``GAIN_AFTER`` seconds are in."""
        with anyio.CancelScope() as self._scope:
            async with anyio.create_task_group() as group:
                group.start_soon(self._level)
                group.start_soon(self._encode)

    async def _level(self) -> None:
        """Measure each scene's speech (once per file) and hand the scene, with the gain that brings
        it to the target, to the encoder."""
        try:
            async with self._scenes:
                async for narration, end in self._scenes:
                    path = narration.speech.path
                    if path not in self.levellings:
                        self.levellings[path] = await anyio.to_thread.run_sync(
                            audio.speech_levelling, path, self.target
                        )
                    levelling = self.levellings[path]
                    self.levelled.append((narration, end, levelling))
                    self._commands.put((narration, end, levelling))
                    if self._writable(end) >= GAIN_AFTER:
                        self._gain_wanted.set()
        except Exception as error:  # noqa: BLE001 - finish mixes in one piece and says why
            self._fail(str(error))
        finally:
            self._levelled_all.set()

    async def _encode(self) -> None:
        """Once the gain is wanted: fix it from the loudness of the scenes levelled so far, then
        encode the timeline as it comes until ``finish`` gives its end."""
        try:
            await self._gain_wanted.wait()
            if self._one_piece or self._failure is not None:
                return
            self._levelling = await self._measure_start()
            levelled = audio.level(
                audio.soundtrack(self.music_file, self.start.render.music_volume),
                audio.Levelling(self._levelling.gain if self._levelling else 0.0, limit=True),
            )
            measured = levelled.filter("ebur128", peak="true", framelog="quiet")
            out = self.start.out_path
            codec = soundtrack.OPUS if soundtrack.is_webm(out) else soundtrack.AAC
            graph = ffmpeg.output(measured, str(out), **codec)
            self._stderr = await binary.run(
                binary.command(self.exe, graph.compile(), loglevel="info", threads=self.threads),
                what="encode the streamed soundtrack",
                feed=self._feed(),
                partial=[out],
            )
        except Exception as error:  # noqa: BLE001 - finish mixes in one piece and says why
            self._fail(str(error))
        finally:
            self._encoded.set()

    async def _measure_start(self) -> audio.Levelling | None:
        """The levelling that brings the timeline levelled so far to the target (the limiter's cost
        measured on it when it needs one)."""
        track = audio.Track(self.music)
        for narration, end, levelling in list(self.levelled):
            track.place(narration, end, levelling)
        wav = self.work / "start.wav"
        graph = audio.measure_graph(audio.soundtrack(self.music_file, self.start.render.music_volume), wav)
        stderr = await binary.run(
            binary.command(self.exe, graph.compile(), loglevel="info", threads=self.threads),
            what="measure the soundtrack's start",
            feed=_closing(track),
        )
        found = await soundtrack.levelling_of(self.exe, wav, audio.parse_measurement(stderr), self.target)
        wav.unlink(missing_ok=True)
        return found

    def _feed(self) -> Iterator[bytes]:
        """The encoder's stdin (in ``binary.run``'s worker thread): the track, written as far as it
        is known after each command, to its end once ``finish`` gives it."""
        track = audio.Track(self.music)
        try:
            while not self._stopped:
                command = self._commands.get()
                if command is None or self._stopped:
                    return
                if isinstance(command, tuple):
                    track.place(*command)
                else:
                    track.close(command)
                yield from track.chunks()
                if not isinstance(command, tuple):
                    return
        finally:
            track.finish_speech()

    # -- checks -------------------------------------------------------------------------------

    def _writable(self, end: float) -> float:
        """Seconds of the timeline the track can write once it reaches ``end`` (see ``Track.ready``)."""
        if not self.music:
            return end
        return end - audio.MUSIC_FADE if end >= 4 * audio.MUSIC_FADE else 0.0

    def _fail(self, why: str) -> None:
        if self._failure is None:
            self._failure = why

    def _differs(self, request: SoundtrackRequest) -> str | None:
        """Why ``request`` is not the timeline streamed, or None when it is."""
        streamed = [(n.speech.path, audio.samples(n.start)) for n, _ in self.placed]
        ordered = sorted(request.narration, key=lambda n: n.start)
        asked = [(n.speech.path, audio.samples(n.start)) for n in ordered]
        end = self.placed[-1][1] if self.placed else 0.0
        if asked != streamed or audio.samples(request.duration) != audio.samples(end):
            return "the request is not the timeline streamed"
        if request.music != self.start.music or request.render != self.start.render:
            return "the request's music or render settings are not those streamed"
        return None

    def _off_target(self) -> str | None:
        """Why the encoded soundtrack is not kept (off target, over the ceiling), or None."""
        if self._stderr is None:
            return "the encoder did not run"
        measured = audio.parse_measurement(self._stderr)
        if measured is None:
            return None if self._levelling is None else "the streamed soundtrack measures silent"
        if abs(measured.integrated - self.target) > TOLERANCE:
            return f"it measures {measured.integrated} LUFS, target {self.target} ± {TOLERANCE} LU"
        if measured.true_peak > audio.TRUE_PEAK:
            return f"its true peak is {measured.true_peak} dBTP, over {audio.TRUE_PEAK}"
        logger.debug(
            "ffmpeg: the streamed soundtrack measures {} LUFS, true peak {} dBTP",
            measured.integrated,
            measured.true_peak,
        )
        return None


def _closing(track: audio.Track) -> Iterator[bytes]:
    """What ``track`` can write now, its speech file closed after."""
    try:
        yield from track.chunks()
    finally:
        track.finish_speech()


async def _probed(path: Path) -> Soundtrack:
    """The soundtrack at ``path`` as probed (it must have an audio stream)."""
    found = await anyio.to_thread.run_sync(probe, path)
    if found.audio_codec is None:
        path.unlink(missing_ok=True)
        raise ProviderError(f"the soundtrack {path.name} has no audio stream", transient=False)
    return Soundtrack(path=path, duration=found.duration)


@asynccontextmanager
async def stream(start: SoundtrackStart, *, exe: str, threads: int) -> AsyncIterator[StreamedSoundtrack]:
    """A soundtrack streamed while the context is open; leaving it without a ``finish`` (or on an
    error or cancellation) stops ffmpeg and leaves no file behind."""
    out = start.out_path
    out.parent.mkdir(parents=True, exist_ok=True)
    raised: BaseException | None = None
    with tempfile.TemporaryDirectory(prefix=".aura-soundtrack-", dir=out.parent) as work:
        streamed = StreamedSoundtrack(start, exe=exe, threads=threads, work=Path(work))
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(streamed.run)
                try:
                    yield streamed
                except BaseException as error:  # noqa: BLE001 - raised as itself below, not in a group
                    raised = error
                finally:
                    streamed.stop()
                    group.cancel_scope.cancel()
        finally:
            out.unlink(missing_ok=True)
    if raised is not None:
        raise raised
