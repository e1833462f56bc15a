"""The soundtrack streamed as the scenes are placed, and each scene's narration levelled on its own:
real ffmpeg renders, every assertion on decoded samples or files."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import av
import numpy as np
import psutil
import pyloudnorm
import pytest
import soundfile
from attrs import evolve
from numpy.typing import NDArray

from aura_core import Narration, RenderSpec, Soundtrack, SoundtrackRequest, SoundtrackStart, Speech
from aura_plugins_ffmpeg import FfmpegComposer, audio, binary, soundtrack

RATE = 48000
TARGET = -16.0


def tone(folder: Path, name: str, seconds: float, freq: float, amp: float) -> Speech:
    """A sine WAV of ``seconds`` at 22.05 kHz standing in for a voice."""
    rate = 22050
    t = np.arange(round(seconds * rate)) / rate
    path = folder / f"{name}.wav"
    soundfile.write(path, amp * np.sin(2 * np.pi * freq * t), rate)
    return Speech(path, seconds, rate, ())


def scenes(
    folder: Path, amps: Sequence[float], speech: float = 2.2, slot: float = 2.8
) -> list[tuple[Narration, float]]:
    """One tone scene per amplitude (2 kHz, so a sample out of place shows), each ``slot`` seconds
    long: (narration at its start, its slot's end)."""
    placed = []
    for i, amp in enumerate(amps):
        speech_file = tone(folder, f"s{i}", speech, 2000.0 + 250 * i, amp)
        placed.append((Narration(speech_file, i * slot, f"scene {i}"), (i + 1) * slot))
    return placed


def music(folder: Path) -> Path:
    """A 110 Hz sine bed, 1.3 s long (looped under the video)."""
    return tone(folder, "music", 1.3, 110.0, 0.5).path


def decoded(path: Path) -> NDArray[np.float64]:
    """The decoded audio of ``path`` as (samples, channels) floats at 48 kHz."""
    with av.open(str(path)) as container:
        assert container.streams.audio[0].sample_rate == RATE
        chunks = [f.to_ndarray() for f in container.decode(audio=0)]
    return np.concatenate(chunks, axis=1).T.astype(np.float64)


def loudness(samples: NDArray[np.float64]) -> float:
    return float(pyloudnorm.Meter(RATE).integrated_loudness(samples))


class Spy:
    """``binary.run`` and ``soundtrack.mix`` as the composer calls them, noted with the time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs: list[tuple[str, float]] = []
        self.one_piece = 0
        run, mix = binary.run, soundtrack.mix

        async def spied_run(*args: Any, what: str, **kwargs: Any) -> str:
            self.runs.append((what, time.monotonic()))
            return await run(*args, what=what, **kwargs)

        async def spied_mix(*args: Any, **kwargs: Any) -> Soundtrack:
            self.one_piece += 1
            return await mix(*args, **kwargs)

        monkeypatch.setattr(binary, "run", spied_run)
        monkeypatch.setattr(soundtrack, "mix", spied_mix)

    def started(self, what: str) -> float:
        return next(at for name, at in self.runs if name == what)


async def stream(
    composer: FfmpegComposer,
    placed: Sequence[tuple[Narration, float]],
    render: RenderSpec,
    out: Path,
    bed: Path | None = None,
    pause: float = 0.3,
) -> tuple[Soundtrack, SoundtrackRequest, float]:
    """Stream ``placed`` one scene every ``pause`` seconds, then finish; returns the soundtrack,
    its request and when the last scene was added."""
    start = SoundtrackStart(bed, render, out.with_name("streaming" + out.suffix))
    request = SoundtrackRequest(tuple(n for n, _ in placed), bed, render, placed[-1][1], out)
    async with composer.stream_soundtrack(start) as open_stream:
        for narration, end in placed:
            await anyio.sleep(pause)
            await open_stream.add(narration, end)
            last = time.monotonic()
        made = await open_stream.finish(request)
    assert not start.out_path.exists()
    return made, request, last


def test_the_track_written_scene_by_scene_is_the_track_written_at_once(tmp_path: Path) -> None:
    """With music, the track placed a scene at a time (written as far as it can be each time) is
    byte for byte the track of the whole timeline: the last MUSIC_FADE seconds wait for the end,
    nothing is written before the timeline reaches four fades; each speech is levelled."""
    placed = scenes(tmp_path, [0.1, 0.3, 0.2, 0.05], speech=1.7, slot=2.5)
    total = placed[-1][1]
    levellings = {n.speech.path: audio.speech_levelling(n.speech.path, TARGET) for n, _ in placed}
    whole = b"".join(audio.Track.of([n for n, _ in placed], total, True, levellings).chunks())
    assert len(whole) == 8 * audio.samples(total)
    growing = audio.Track(music=True)
    pieces = []
    for narration, end in placed:
        growing.place(narration, end, levellings[narration.speech.path])
        pieces.append(b"".join(growing.chunks()))
        ready = 0 if end < 4 * audio.MUSIC_FADE else audio.samples(end - audio.MUSIC_FADE)
        assert growing.at == ready
    growing.close(total)
    pieces.append(b"".join(growing.chunks()))
    assert b"".join(pieces) == whole
    both = np.frombuffer(whole, np.float32).reshape(-1, 2)
    gain = both[:, 1]
    fade = audio.samples(audio.MUSIC_FADE)
    assert gain[0] == 0 and gain[fade // 2] == pytest.approx(0.5, abs=1e-4) and gain[fade] == 1
    assert gain[-1] == pytest.approx(1 / fade) and gain[-fade // 2] == pytest.approx(0.5, abs=1e-4)


@pytest.mark.anyio
async def test_streamed_soundtrack_is_on_target_exact_in_length_and_equals_the_one_piece_mix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scenes of very different loudness under a music bed, added one at a time: the encoder starts
    before the last scene is in, the streamed soundtrack is kept (no mix in one piece), measures
    the target within 0.5 LU, lasts the timeline to the sample, and equals the soundtrack mixed in
    one piece sample for sample (up to its gain and the AAC noise), also at each scene's start."""
    spy = Spy(monkeypatch)
    render = RenderSpec(width=64, height=36, fps=10, captions="off", loudness=TARGET, music_volume=0.5)
    bed = music(tmp_path)
    placed = scenes(tmp_path, [0.3, 0.05, 0.2, 0.1, 0.25, 0.15])
    out = tmp_path / "streamed.m4a"
    made, request, last = await stream(FfmpegComposer(), placed, render, out, bed, pause=0.5)
    assert spy.started("encode the streamed soundtrack") < last
    assert spy.one_piece == 0
    # The MP4 says how long it is to the sample (its edit list); decoding gives the last AAC frame whole.
    assert made.duration == pytest.approx(request.duration, abs=1 / RATE)
    total = audio.samples(request.duration)
    streamed_samples = decoded(made.path)[:total]
    assert len(streamed_samples) == total
    assert abs(loudness(streamed_samples) - TARGET) <= 0.5
    alone = await soundtrack.mix(
        evolve(request, out_path=tmp_path / "one.m4a"), exe=binary.locate(None), threads=0
    )
    assert alone.duration == made.duration
    one_piece = decoded(alone.path)[:total]
    flat = streamed_samples.ravel()
    scale = float(np.dot(flat, one_piece.ravel()) / np.dot(flat, flat))
    residual = np.abs(streamed_samples * scale - one_piece).max(axis=1)
    assert abs(20 * np.log10(scale)) <= 0.3
    assert residual.max() < 0.02
    for narration, _end in placed[1:]:
        join = audio.samples(narration.start)
        assert residual[join - 2400 : join + 2400].max() < 0.02


@pytest.mark.anyio
async def test_each_scene_s_narration_is_levelled_on_its_own(tmp_path: Path) -> None:
    """Two voices 20 dB apart (a TTS voice varies by a few LU from scene to scene): in the
    soundtrack mixed in one piece, each scene measures within 1 LU of the other, and the whole on
    target; a speech that needs more than the limiter's headroom is limited under the ceiling."""
    render = RenderSpec(width=64, height=36, fps=10, captions="off", loudness=TARGET)
    placed = scenes(tmp_path, [0.03, 0.3, 0.9], speech=3.0, slot=3.5)
    request = SoundtrackRequest(tuple(n for n, _ in placed), None, render, placed[-1][1], tmp_path / "a.m4a")
    made = await soundtrack.mix(request, exe=binary.locate(None), threads=0)
    samples = decoded(made.path)[: audio.samples(request.duration)]
    each = [loudness(samples[audio.samples(n.start) : audio.samples(n.start + 3.0)]) for n, _ in placed]
    assert max(each) - min(each) <= 1.0
    assert abs(loudness(samples) - TARGET) <= 0.5
    assert 20 * np.log10(np.abs(samples).max()) <= audio.TRUE_PEAK


@pytest.mark.anyio
async def test_a_streamed_soundtrack_off_target_is_mixed_again_in_one_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first scene is near silence (raised by no more than NARRATION_GAIN_LIMIT), so the gain
    taken from it is far too high for the scenes after: the streamed soundtrack measures off
    target, is dropped, and the soundtrack mixed in one piece is on target and as long."""
    spy = Spy(monkeypatch)
    render = RenderSpec(width=64, height=36, fps=10, captions="off", loudness=TARGET)
    placed = scenes(tmp_path, [0.002, 0.2, 0.2, 0.2], speech=5.5, slot=6.0)
    made, request, _last = await stream(FfmpegComposer(), placed, render, tmp_path / "s.m4a", pause=0.5)
    assert spy.started("encode the streamed soundtrack") > 0
    assert spy.one_piece == 1
    assert made.path == request.out_path and made.duration == pytest.approx(request.duration, abs=1 / RATE)
    samples = decoded(made.path)[: audio.samples(request.duration)]
    assert abs(loudness(samples) - TARGET) <= 0.5


def ffmpeg_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "ffmpeg" in p.name()]


@pytest.mark.anyio
async def test_leaving_a_stream_without_finish_stops_ffmpeg_and_leaves_no_file(tmp_path: Path) -> None:
    """An error raised while the stream encodes comes out as itself (not in an exception group),
    the encoder is stopped and its half-written file and scratch folder are gone."""
    render = RenderSpec(width=64, height=36, fps=10, captions="off", loudness=TARGET)
    placed = scenes(tmp_path, [0.1, 0.1, 0.1, 0.1])
    start = SoundtrackStart(None, render, tmp_path / "half.m4a")

    async def fail_while_encoding() -> None:
        async with FfmpegComposer().stream_soundtrack(start) as open_stream:
            for narration, end in placed:
                await open_stream.add(narration, end)
            with anyio.fail_after(30):
                while not start.out_path.exists():
                    await anyio.sleep(0.05)
            raise LookupError("the run failed")

    with pytest.raises(LookupError, match="the run failed"):
        await fail_while_encoding()
    assert not start.out_path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"s{i}.wav" for i in range(4)]
    assert ffmpeg_children() == []


@pytest.mark.anyio
async def test_streamed_webm_soundtrack_is_opus_on_target_and_as_long(tmp_path: Path) -> None:
    """For VP9 the stream writes Opus in WebM: on target, as long as the timeline to the sample."""
    render = RenderSpec(width=64, height=36, fps=10, captions="off", loudness=TARGET, codec="vp9")
    placed = scenes(tmp_path, [0.2, 0.1, 0.3, 0.2])
    made, request, _last = await stream(FfmpegComposer(), placed, render, tmp_path / "s.webm")
    with av.open(str(made.path)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
    samples = decoded(made.path)
    assert len(samples) == audio.samples(request.duration)
    assert abs(loudness(samples) - TARGET) <= 0.5
