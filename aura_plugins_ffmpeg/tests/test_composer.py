"""Real renders with the bundled ffmpeg at tiny sizes: every assertion is on decoded frames, samples or files."""

from __future__ import annotations

import hashlib
import itertools
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import anyio
import av
import numpy as np
import psutil
import pyloudnorm
import pytest
import soundfile
from loguru import logger
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from aura_core import (
    AssemblyRequest,
    Narration,
    Picture,
    ProviderError,
    ProviderSettings,
    RenderSpec,
    Scene,
    Segment,
    SegmentRequest,
    SoundtrackRequest,
    Speech,
    UserError,
    WordTiming,
)
from aura_core.testing import probe_entry_point
from aura_plugins_ffmpeg import FfmpegComposer, allocator, audio, binary, encoders, segment
from aura_plugins_ffmpeg.plugin import aura_register_providers

W, H, FPS = 160, 90, 10
Frames = list[NDArray[np.int16]]


def picture(
    folder: Path, name: str, color: tuple[int, int, int], width: int = 320, height: int = 180
) -> Picture:
    """A textured picture (a colour with a grid of white dots), so motion shows in every frame."""
    image = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(image)
    for row in range(0, height, 24):
        for col in range(0, width, 24):
            draw.ellipse((col + 4, row + 4, col + 14, row + 14), fill=(250, 250, 250))
    path = folder / f"{name}.png"
    image.save(path)
    return Picture(path, width, height, "test", "CC0")


def tone(folder: Path, name: str, seconds: float, freq: float = 440.0, amp: float = 0.1) -> Speech:
    """A sine WAV of exactly ``seconds`` at 22.05 kHz, standing in for a voice."""
    rate = 22050
    t = np.arange(round(seconds * rate)) / rate
    path = folder / f"{name}.wav"
    soundfile.write(path, amp * np.sin(2 * np.pi * freq * t), rate)
    return Speech(path, seconds, rate, ())


def frames_of(path: Path) -> Frames:
    """Every decoded video frame of ``path`` as int16 RGB arrays."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def audio_of(path: Path) -> tuple[NDArray[np.float64], int]:
    """The decoded audio of ``path`` as (samples, channels) floats, and its rate."""
    with av.open(str(path)) as container:
        rate = container.streams.audio[0].sample_rate
        chunks = [f.to_ndarray() for f in container.decode(audio=0)]
    return np.concatenate(chunks, axis=1).T.astype(np.float64), rate


def diff(a: NDArray[np.int16], b: NDArray[np.int16]) -> float:
    """Mean absolute difference of two frames, in 8-bit levels."""
    return float(np.abs(a - b).mean())


def timeline(
    folder: Path,
    speeches: Sequence[Speech],
    pictures: Sequence[Picture | None],
    render: RenderSpec,
    pause: float = 0.6,
) -> list[SegmentRequest]:
    """Segment requests laid end to end: each slot is its speech plus ``pause``."""
    requests = []
    start = 0.0
    for i, speech in enumerate(speeches):
        scene = Scene(
            i, f"h{i}", f"scene {i} says hello", "", start, speech.duration + pause, speech.duration
        )
        requests.append(
            SegmentRequest(
                scene=scene,
                speech=speech,
                picture=pictures[i],
                next_picture=pictures[i + 1] if i + 1 < len(pictures) else None,
                render=render,
                out_path=folder / f"seg{i}.mp4",
                scene_count=len(speeches),
            )
        )
        start += scene.duration
    return requests


async def render_all(composer: FfmpegComposer, requests: Sequence[SegmentRequest]) -> tuple[Segment, ...]:
    """Render every segment, in order."""
    return tuple([await composer.render_scene(r) for r in requests])


def narration(requests: Sequence[SegmentRequest]) -> tuple[Narration, ...]:
    """Each scene's speech at its scene's start."""
    return tuple(Narration(r.speech, r.scene.start, r.scene.narration) for r in requests)


def packet_hashes(path: Path) -> list[str]:
    """The hash of every video packet of ``path``: equal hashes mean the bytes were copied."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [hashlib.sha1(bytes(p)).hexdigest() for p in container.demux(stream) if p.size]


@pytest.mark.anyio
async def test_ken_burns_moves_every_frame_smoothly(tmp_path: Path) -> None:
    """First and last frame of a scene differ clearly; consecutive frames differ a little and evenly.

    Integer-rounded motion (zoompan, crop offsets) shows as frozen frames followed by jumps;
    here no step is below a third of the median step nor above three times it.
    """
    render = RenderSpec(width=W, height=H, fps=FPS, transition="none", captions="off")
    pics = [picture(tmp_path, "a", (150, 40, 40)), picture(tmp_path, "b", (40, 40, 150))]
    requests = timeline(tmp_path, [tone(tmp_path, "s0", 1.4), tone(tmp_path, "s1", 0.4)], pics, render)
    segment = await FfmpegComposer().render_scene(requests[0])
    frames = frames_of(segment.path)
    assert len(frames) == 20
    steps = [diff(a, b) for a, b in itertools.pairwise(frames)]
    median = float(np.median(steps))
    assert diff(frames[0], frames[-1]) > 8 * median > 0
    assert min(steps) > median / 3
    assert max(steps) < median * 3


@pytest.mark.anyio
async def test_neighbouring_scenes_move_differently(tmp_path: Path) -> None:
    """Scene 0 zooms in and scene 1 zooms out: the same picture moves in different directions."""
    render = RenderSpec(width=W, height=H, fps=FPS, transition="none", captions="off")
    pic = picture(tmp_path, "same", (90, 90, 90))
    requests = timeline(tmp_path, [tone(tmp_path, f"s{i}", 1.0) for i in range(3)], [pic, pic, pic], render)
    segments = await render_all(FfmpegComposer(), requests[:2])
    first, second = frames_of(segments[0].path), frames_of(segments[1].path)
    # Scene 0 starts unzoomed (at the picture's full frame); scene 1 ends there.
    assert diff(first[0], second[-1]) < diff(first[0], first[-1]) / 3
    assert diff(first[-1], second[0]) > 5


@pytest.mark.anyio
async def test_crossfade_blends_both_scenes_and_meets_the_next_segment(tmp_path: Path) -> None:
    """The last 0.5 s of a segment mix into the next picture, reaching the next segment's first frame."""
    render = RenderSpec(width=W, height=H, fps=FPS, transition="crossfade", transition_duration=0.5)
    pics = [picture(tmp_path, "red", (200, 20, 20)), picture(tmp_path, "blue", (20, 20, 200))]
    requests = timeline(tmp_path, [tone(tmp_path, "s0", 1.4), tone(tmp_path, "s1", 1.0)], pics, render)
    segments = await render_all(FfmpegComposer(), requests)
    first, second = frames_of(segments[0].path), frames_of(segments[1].path)
    assert len(first) == 20 and len(second) == 16

    def red_blue(frame: NDArray[np.int16]) -> tuple[float, float]:
        return float(frame[..., 0].mean()), float(frame[..., 2].mean())

    red_alone, blue_alone = red_blue(first[10]), red_blue(second[5])
    middle = red_blue(first[17])  # the middle of the 5 transition frames 15..19
    assert red_alone[0] > middle[0] + 30 and middle[0] > blue_alone[0] + 30
    assert blue_alone[1] > middle[1] + 30 and middle[1] > red_alone[1] + 30
    # The scene is shown alone until the transition starts: nothing is shortened.
    assert red_blue(first[14])[1] < red_alone[1] + 5
    # The cut to the next segment is one more step of the blend, no bigger than the steps inside it.
    seam = diff(first[-1], second[0])
    assert seam < 1.5 * diff(first[-3], first[-2])
    assert seam < diff(first[10], second[0]) / 3


@pytest.mark.anyio
async def test_crossfade_blended_in_python_matches_xfade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crossfade is blended in Python (xfade would convert every frame to 4:4:4 and back):
    its frames are xfade's ``fade`` frames to within a few levels, each a clear step of the blend."""
    render = RenderSpec(width=W, height=H, fps=FPS, transition="crossfade", transition_duration=0.5)
    pics = [picture(tmp_path, "red", (200, 20, 20)), picture(tmp_path, "blue", (20, 20, 200))]
    request = timeline(tmp_path, [tone(tmp_path, "s0", 1.4), tone(tmp_path, "s1", 1.0)], pics, render)[0]
    blended = frames_of((await FfmpegComposer().render_scene(request)).path)
    monkeypatch.setattr(segment, "CROSSFADE", "none of them")  # every transition through xfade
    through_xfade = frames_of((await FfmpegComposer().render_scene(request)).path)
    assert len(blended) == len(through_xfade) == 20
    gaps = [diff(a, b) for a, b in zip(blended, through_xfade, strict=True)]
    # Before the transition only the encoder's lookahead differs; in it, xfade's chroma round trip
    # (4:2:0 to 4:4:4 and back) softens colour edges by a level or two. A blend off by one step
    # of its weight would be off by a whole step, over 20 levels here.
    assert max(gaps[:15]) < 1.5
    assert max(gaps[15:]) < 4.0
    assert min(diff(blended[k], blended[k + 1]) for k in range(15, 19)) > 20


@pytest.mark.anyio
async def test_each_picture_is_decoded_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scene k's picture serves two segments (its own, and the transition of the one before):
    rendered two at a time, as the runner does, each picture is still decoded and upsampled once."""
    render = RenderSpec(width=W, height=H, fps=FPS, transition="crossfade", transition_duration=0.3)
    colours = [(200, 20, 20), (20, 200, 20), (20, 20, 200), (200, 200, 20)]
    pics = [picture(tmp_path, f"p{i}", c) for i, c in enumerate(colours)]
    requests = timeline(tmp_path, [tone(tmp_path, f"s{i}", 0.6) for i in range(4)], pics, render)
    decoded: list[int] = []
    load_still = segment.load_still

    async def counting(exe: str, picture: Path | None, index: int, *args: object) -> object:
        decoded.append(index)
        return await load_still(exe, picture, index, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(segment, "load_still", counting)
    composer = FfmpegComposer()
    limiter = anyio.CapacityLimiter(composer.concurrency)
    done: list[Segment] = []

    async def one(request: SegmentRequest) -> None:
        async with limiter:
            done.append(await composer.render_scene(request))

    async with anyio.create_task_group() as group:
        for request in requests:
            group.start_soon(one, request)
    assert sorted(decoded) == [0, 1, 2, 3]
    assert len(composer.stills) == 0  # every still was used by both its segments, then dropped
    assert sorted(len(frames_of(s.path)) for s in done) == [12] * 4


@pytest.mark.anyio
async def test_mixed_transitions_differ_by_scene(tmp_path: Path) -> None:
    """``mixed`` uses a different xfade per scene: a slide's mid frame is not a fade's mid frame."""
    pics = [picture(tmp_path, "red", (200, 20, 20)), picture(tmp_path, "blue", (20, 20, 200))]
    mids = []
    for transition in ("crossfade", "slideleft"):
        render = RenderSpec(width=W, height=H, fps=FPS, transition=transition, transition_duration=0.5)
        request = timeline(tmp_path, [tone(tmp_path, "s0", 1.4), tone(tmp_path, "s1", 1.0)], pics, render)[0]
        segment = await FfmpegComposer().render_scene(request)
        mids.append(frames_of(segment.path)[17])
    assert diff(mids[0], mids[1]) > 20


@pytest.mark.anyio
async def test_scene_without_picture_gets_a_background(tmp_path: Path) -> None:
    """``picture=None`` renders a generated gradient: a real video stream, neither black nor flat."""
    render = RenderSpec(width=W, height=H, fps=FPS)
    requests = timeline(tmp_path, [tone(tmp_path, "s0", 0.8)], [None], render)
    frames = frames_of((await FfmpegComposer().render_scene(requests[0])).path)
    assert len(frames) == 14
    assert frames[0].mean() > 40
    assert frames[0].std() > 5


@pytest.mark.anyio
async def test_assembly_copies_segments_and_lays_narration_at_scene_starts(tmp_path: Path) -> None:
    """Segments with fractional starts join to the timeline's exact length without re-encoding;
    each scene's tone starts at its scene start and stops after its speech; loudness is on target."""
    render = RenderSpec(width=W, height=H, fps=FPS, captions="off", loudness=-20.0)
    pics = [
        picture(tmp_path, f"p{i}", c) for i, c in enumerate([(200, 20, 20), (20, 200, 20), (20, 20, 200)])
    ]
    speeches = [
        tone(tmp_path, f"s{i}", d, freq=300 + 200 * i, amp=0.05) for i, d in enumerate([0.93, 1.17, 0.71])
    ]
    requests = timeline(tmp_path, speeches, pics, render, pause=0.47)
    composer = FfmpegComposer()
    segments = await render_all(composer, requests)
    end = requests[-1].scene.start + requests[-1].scene.duration
    assert sum(len(frames_of(s.path)) for s in segments) == round(end * FPS)
    video = await composer.assemble(
        AssemblyRequest(segments, narration(requests), None, "off", render, tmp_path / "out.mp4")
    )
    assert abs(video.duration - end) <= 0.1
    assert (video.width, video.height, video.fps) == (W, H, FPS)
    joined = packet_hashes(video.path)
    assert joined == [h for s in segments for h in packet_hashes(s.path)]
    assert video.thumbnail_path is not None and Image.open(video.thumbnail_path).size == (W, H)
    samples, rate = audio_of(video.path)
    mono = samples.mean(axis=1)

    def rms(t0: float, t1: float) -> float:
        return float(np.sqrt(np.mean(mono[int(t0 * rate) : int(t1 * rate)] ** 2)))

    for request in requests[1:]:
        start, speech = request.scene.start, request.speech.duration
        assert rms(start - 0.2, start - 0.05) < rms(start + 0.05, start + 0.2) / 20
        assert rms(start + speech + 0.05, start + speech + 0.3) < rms(start + 0.05, start + 0.2) / 20
    loudness = pyloudnorm.Meter(rate).integrated_loudness(samples)
    assert abs(loudness - -20.0) <= 1.0


@pytest.mark.anyio
async def test_scenes_sharing_one_speech_file_each_get_it_at_their_start(tmp_path: Path) -> None:
    """Two scenes with the same narration share one stored speech (one ``Speech``, one path):
    assembly succeeds and the tone sounds at both scene starts, silent in both pauses."""
    render = RenderSpec(width=W, height=H, fps=FPS, captions="off")
    shared = tone(tmp_path, "same", 0.8, freq=500, amp=0.1)
    pics = [picture(tmp_path, "p0", (200, 20, 20)), picture(tmp_path, "p1", (20, 20, 200))]
    requests = timeline(tmp_path, [shared, shared], pics, render, pause=0.6)
    composer = FfmpegComposer()
    segments = await render_all(composer, requests)
    video = await composer.assemble(
        AssemblyRequest(segments, narration(requests), None, "off", render, tmp_path / "out.mp4")
    )
    assert abs(video.duration - 2.8) <= 0.1
    mono, rate = audio_of(video.path)
    mono = mono.mean(axis=1)

    def rms(t0: float, t1: float) -> float:
        return float(np.sqrt(np.mean(mono[int(t0 * rate) : int(t1 * rate)] ** 2)))

    for start in (0.0, 1.4):
        speaking = rms(start + 0.1, start + 0.7)
        assert speaking > 0.01
        assert rms(start + 0.9, start + 1.3) < speaking / 20


@pytest.mark.anyio
async def test_unreadable_speech_file_fails_assembly_with_provider_error(tmp_path: Path) -> None:
    """A speech file that is not audio fails the assembly with a permanent ``ProviderError`` naming
    it, and leaves no video behind."""
    render = RenderSpec(width=W, height=H, fps=FPS, captions="off")
    requests = timeline(tmp_path, [tone(tmp_path, "s0", 0.6)], [picture(tmp_path, "p0", (9, 9, 9))], render)
    segments = await render_all(FfmpegComposer(), requests)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not a wave file at all" * 10)
    speech = Speech(broken, 0.6, 22050, ())
    out = tmp_path / "out.mp4"
    with pytest.raises(ProviderError, match=r"broken\.wav") as raised:
        await FfmpegComposer().assemble(
            AssemblyRequest(segments, (Narration(speech, 0.0, "x"),), None, "off", render, out)
        )
    assert not raised.value.transient
    assert not out.exists()


EBUR128_SUMMARY = """[Parsed_ebur128_0 @ 0x1] Summary:

  Integrated loudness:
    I:         -19.5 LUFS
    Threshold: -29.6 LUFS

  Loudness range:
    LRA:         6.3 LU
    Threshold: -39.7 LUFS
    LRA low:   -24.4 LUFS
    LRA high:  -18.1 LUFS

  True peak:
    Peak:       -8.2 dBFS
"""


@pytest.mark.anyio
async def test_broken_segment_fails_assembly_with_provider_error_and_leaves_nothing(tmp_path: Path) -> None:
    """A segment file that is not video: ffmpeg's concat skips it, and the check of the joined video
    catches the missing frames under the full-length soundtrack, quoting ffmpeg about the file.
    The error is a permanent ``ProviderError`` (not an exception group); no video, no thumbnail."""
    render = RenderSpec(width=W, height=H, fps=FPS, captions="off")
    pics = [picture(tmp_path, "p0", (90, 20, 20)), picture(tmp_path, "p1", (20, 20, 90))]
    requests = timeline(tmp_path, [tone(tmp_path, "s0", 1.0), tone(tmp_path, "s1", 1.0)], pics, render)
    segments = await render_all(FfmpegComposer(), requests)
    segments[1].path.write_bytes(b"not a video" * 100)
    out = tmp_path / "out.mp4"
    with pytest.raises(ProviderError, match=r"(?s)16 video frames, expected 32.*seg1\.mp4") as raised:
        await FfmpegComposer().assemble(
            AssemblyRequest(segments, narration(requests), None, "off", render, out)
        )
    assert not raised.value.transient
    assert not out.exists()
    assert not out.with_suffix(".png").exists()


def audio_packet_hashes(path: Path) -> list[str]:
    """The hash of every audio packet of ``path``."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [hashlib.sha1(bytes(p)).hexdigest() for p in container.demux(stream) if p.size]


@pytest.mark.anyio
async def test_soundtrack_mixed_ahead_is_copied_into_the_video_and_equals_the_one_assembly_mixes(
    tmp_path: Path,
) -> None:
    """``mix_soundtrack`` writes an AAC soundtrack as long as the timeline; ``assemble`` given it
    copies its packets byte for byte, and without it mixes exactly the same sound itself."""
    render = RenderSpec(width=W, height=H, fps=FPS, captions="off")
    pics = [picture(tmp_path, "p0", (90, 20, 20)), picture(tmp_path, "p1", (20, 20, 90))]
    speeches = [tone(tmp_path, f"s{i}", 0.9, freq=300 + 300 * i) for i in range(2)]
    requests = timeline(tmp_path, speeches, pics, render)
    composer = FfmpegComposer()
    segments = await render_all(composer, requests)
    end = requests[-1].scene.start + requests[-1].scene.duration
    made = await composer.mix_soundtrack(
        SoundtrackRequest(narration(requests), None, render, end, tmp_path / "sound.m4a")
    )
    assert abs(made.duration - end) <= 0.05
    given = await composer.assemble(
        AssemblyRequest(segments, narration(requests), None, "off", render, tmp_path / "a.mp4", made)
    )
    mixed = await composer.assemble(
        AssemblyRequest(segments, narration(requests), None, "off", render, tmp_path / "b.mp4")
    )
    assert audio_packet_hashes(given.path) == audio_packet_hashes(made.path)
    assert audio_packet_hashes(mixed.path) == audio_packet_hashes(made.path)
    assert packet_hashes(given.path) == packet_hashes(mixed.path)


def test_loudness_summary_is_parsed_and_the_limiter_is_used_only_over_the_peak_ceiling() -> None:
    """ebur128's summary gives the four measurements; the gain reaches the target, and a limiter is
    needed only when that gain would take the true peak over -1.5 dBTP."""
    measured = audio.parse_measurement("noise before\n" + EBUR128_SUMMARY)
    assert measured == audio.Loudness(integrated=-19.5, threshold=-29.6, lra=6.3, true_peak=-8.2)
    assert measured.gain(-14.0) == pytest.approx(5.5)
    assert not measured.needs_limiter(-14.0)  # peak -8.2 + 5.5 = -2.7 dBTP
    assert measured.needs_limiter(-10.0)  # peak would reach -0.7 dBTP
    levelling = audio.Levelling.of(measured, -10.0)
    assert levelling == audio.Levelling(gain=pytest.approx(9.5), limit=True)
    assert levelling.corrected(-10.6, -10.0).gain == pytest.approx(10.1)
    assert audio.parse_integrated(EBUR128_SUMMARY.split("True peak")[0]) == -19.5
    silent = EBUR128_SUMMARY.replace("-19.5 LUFS", "-70.0 LUFS")
    assert audio.parse_measurement(silent) is None
    assert audio.parse_measurement("no summary at all") is None


@pytest.mark.anyio
async def test_peaky_narration_is_normalised_dynamically_to_target_under_the_ceiling(tmp_path: Path) -> None:
    """Speech with sharp peaks cannot take a constant gain to -14 LUFS without clipping: the
    limiter holds the peaks under the ceiling and the loudness still lands within 1 LU."""
    rate = 22050
    rng = np.random.default_rng(7)
    t = np.arange(4 * rate) / rate
    syllables = (np.sin(2 * np.pi * 4 * t) > 0.3).astype(float)
    voice = 0.05 * syllables * np.sin(2 * np.pi * 220 * t) + 0.002 * rng.normal(size=t.size)
    voice[rate // 4 :: rate // 2] = 0.6  # plosive clicks: peaks no constant gain to -14 LUFS survives
    path = tmp_path / "peaky.wav"
    soundfile.write(path, voice, rate)
    speech = Speech(path, 4.0, rate, ())
    render = RenderSpec(width=W, height=H, fps=FPS, captions="off")
    requests = timeline(tmp_path, [speech], [picture(tmp_path, "p0", (60, 60, 60))], render, pause=0.5)
    segments = await render_all(FfmpegComposer(), requests)
    video = await FfmpegComposer().assemble(
        AssemblyRequest(segments, narration(requests), None, "off", render, tmp_path / "out.mp4")
    )
    samples, out_rate = audio_of(video.path)
    assert abs(pyloudnorm.Meter(out_rate).integrated_loudness(samples) - -14.0) <= 0.3
    assert 20 * np.log10(np.abs(samples).max()) <= -1.0


@pytest.mark.anyio
async def test_music_is_ducked_under_narration_and_loudness_is_on_target(tmp_path: Path) -> None:
    """A music bed (a 110 Hz tone) is quieter while the voice (1 kHz) speaks than in the pause,
    and the mix measures -14 LUFS within 1 LU."""
    render = RenderSpec(width=W, height=H, fps=FPS, captions="off", music_volume=0.5)
    music = tone(tmp_path, "music", 1.3, freq=110, amp=0.5).path
    pics = [picture(tmp_path, "p0", (90, 60, 30)), picture(tmp_path, "p1", (30, 60, 90))]
    speeches = [tone(tmp_path, f"s{i}", 1.5, freq=1000, amp=0.3) for i in range(2)]
    requests = timeline(tmp_path, speeches, pics, render, pause=1.5)
    composer = FfmpegComposer()
    segments = await render_all(composer, requests)
    video = await composer.assemble(
        AssemblyRequest(segments, narration(requests), music, "off", render, tmp_path / "out.mp4")
    )
    samples, rate = audio_of(video.path)
    assert abs(pyloudnorm.Meter(rate).integrated_loudness(samples) - -14.0) <= 1.0
    mono = samples.mean(axis=1)

    def bed_level(t0: float) -> float:
        window = mono[int(t0 * rate) : int((t0 + 0.5) * rate)]
        spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
        freqs = np.fft.rfftfreq(len(window), 1 / rate)
        return float(spectrum[(freqs > 100) & (freqs < 120)].max())

    during, pause = bed_level(0.8), bed_level(2.3)
    assert pause > during * 2


@pytest.mark.anyio
async def test_burned_captions_show_during_speech_and_highlight_each_word(tmp_path: Path) -> None:
    """Caption pixels appear in the lower band while the scene speaks and not in its pause;
    the yellow highlighted word moves right as the words are said; the captions are burned into
    the segment, so assembly copies its packets unchanged; SRT and VTT sidecars are written."""
    pic = picture(tmp_path, "dark", (30, 30, 60))
    speech = tone(tmp_path, "s0", 1.8)
    words = (WordTiming("one", 0.0, 0.5), WordTiming("two", 0.6, 1.1), WordTiming("three", 1.2, 1.8))
    speech = Speech(speech.path, speech.duration, speech.sample_rate, words)
    composer = FfmpegComposer()
    videos, segments = {}, {}
    for mode in ("off", "burn"):
        render = RenderSpec(width=320, height=180, fps=FPS, captions=mode)  # type: ignore[arg-type]
        folder = tmp_path / mode
        folder.mkdir()
        requests = timeline(folder, [speech], [pic], render, pause=1.2)
        segments[mode] = await render_all(composer, requests)
        videos[mode] = await composer.assemble(
            AssemblyRequest(segments[mode], narration(requests), None, mode, render, tmp_path / f"{mode}.mp4")
        )
    plain, burned = frames_of(videos["off"].path), frames_of(videos["burn"].path)
    assert packet_hashes(videos["burn"].path) == packet_hashes(segments["burn"][0].path)
    assert not list((tmp_path / "burn").glob("*.ass")), "the per-segment caption file is cleaned up"
    band = slice(120, 180)

    def caption_pixels(i: int) -> float:
        return float((np.abs(burned[i][band] - plain[i][band]).max(axis=2) > 80).mean())

    assert all(caption_pixels(i) > 0.01 for i in (2, 8, 15))
    assert all(caption_pixels(i) < 0.001 for i in (21, 25))

    def yellow_x(i: int) -> float:
        f = burned[i][band]
        mask = (f[..., 0] > 180) & (f[..., 1] > 180) & (f[..., 2] < 90)
        assert mask.sum() > 10
        return float(np.nonzero(mask)[1].mean())

    assert yellow_x(2) < yellow_x(8) < yellow_x(15)
    srt = tmp_path / "burn.srt"
    assert videos["burn"].captions_path == srt
    assert "one two three" in srt.read_text() and "00:00:01,800" in srt.read_text()
    assert (tmp_path / "burn.vtt").read_text().startswith("WEBVTT")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("codec", "suffix", "name"), [("h265", ".mp4", "hevc"), ("vp9", ".webm", "vp9"), ("av1", ".mp4", "av1")]
)
async def test_other_codecs_render_and_assemble(tmp_path: Path, codec: str, suffix: str, name: str) -> None:
    """H.265 and AV1 (SVT-AV1) land in an MP4, VP9 in a WebM next to the asked path; each probes with
    the right codec."""
    render = RenderSpec(width=W, height=H, fps=FPS, codec=codec, quality="draft", captions="off")  # type: ignore[arg-type]
    requests = timeline(tmp_path, [tone(tmp_path, "s0", 0.6)], [picture(tmp_path, "p", (60, 90, 30))], render)
    composer = FfmpegComposer()
    segments = await render_all(composer, requests)
    video = await composer.assemble(
        AssemblyRequest(segments, narration(requests), None, "off", render, tmp_path / "out.mp4")
    )
    assert video.path.suffix == suffix and video.path.is_file()
    with av.open(str(video.path)) as container:
        assert container.streams.video[0].codec_context.codec.canonical_name == name
        assert len(container.streams.audio) == 1


@pytest.fixture
def warnings_seen() -> Iterator[list[str]]:
    """Loguru warnings emitted during the test."""
    seen: list[str] = []
    sink = logger.add(lambda message: seen.append(str(message)), level="WARNING")
    yield seen
    logger.remove(sink)


@pytest.mark.anyio
async def test_missing_hardware_encoder_falls_back_to_software(
    tmp_path: Path, warnings_seen: list[str]
) -> None:
    """``hwaccel = "nvenc"`` on a machine without an NVIDIA GPU warns and still renders with libx264."""
    composer = FfmpegComposer().configure(ProviderSettings({"hwaccel": "nvenc"}))
    render = RenderSpec(width=W, height=H, fps=FPS)
    requests = timeline(tmp_path, [tone(tmp_path, "s0", 0.5)], [picture(tmp_path, "p", (60, 90, 30))], render)
    segment = await composer.render_scene(requests[0])
    with av.open(str(segment.path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    assert any("h264_nvenc" in w and "libx264" in w for w in warnings_seen)


@pytest.mark.anyio
async def test_ffmpeg_failure_raises_provider_error_with_stderr_tail(tmp_path: Path) -> None:
    """A picture that is not an image fails permanently, quoting ffmpeg's own words; no partial file."""
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png at all" * 64)
    render = RenderSpec(width=W, height=H, fps=FPS)
    requests = timeline(tmp_path, [tone(tmp_path, "s0", 0.5)], [Picture(bad, 10, 10, "x", "x")], render)
    with pytest.raises(ProviderError) as caught:
        await FfmpegComposer().render_scene(requests[0])
    assert not caught.value.transient
    assert "Invalid data found when processing input" in caught.value.message
    assert not requests[0].out_path.exists()


@pytest.mark.anyio
async def test_music_that_is_not_audio_fails_with_ffmpegs_own_reason_first(tmp_path: Path) -> None:
    """A music file of random bytes: the message's first line (the one a run reports) is ffmpeg's
    reason, "Invalid data found when processing input", and no stream listing is quoted."""
    song = tmp_path / "song.mp3"
    song.write_bytes(np.random.default_rng(7).bytes(4000))
    voice = tone(tmp_path, "s0", 0.5)
    render = RenderSpec(width=W, height=H, fps=FPS, music=song)
    request = SoundtrackRequest((Narration(voice, 0.0, "hi"),), song, render, 1.0, tmp_path / "mix.m4a")
    with pytest.raises(ProviderError) as caught:
        await FfmpegComposer().mix_soundtrack(request)
    first, *rest = caught.value.message.splitlines()
    assert "Invalid data found when processing input" in first
    assert any(str(song) in line for line in rest)
    assert "Guessed Channel Layout" not in caught.value.message and "Stream #" not in caught.value.message
    assert not request.out_path.exists()


def ffmpeg_children() -> list[psutil.Process]:
    """Live ffmpeg processes started by this test process."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "ffmpeg" in child.name() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.mark.anyio
async def test_cancellation_kills_ffmpeg_and_removes_the_partial_file(tmp_path: Path) -> None:
    """Cancelling a long render leaves no ffmpeg child behind and no half-written segment."""
    render = RenderSpec(width=W, height=H, fps=FPS, quality="max")
    requests = timeline(
        tmp_path, [tone(tmp_path, "s0", 600.0)], [picture(tmp_path, "p", (60, 90, 30))], render
    )
    seen: list[psutil.Process] = []
    async with anyio.create_task_group() as group:
        group.start_soon(FfmpegComposer().render_scene, requests[0])
        while not seen:
            await anyio.sleep(0.05)
            seen = ffmpeg_children()
        group.cancel_scope.cancel()
    assert ffmpeg_children() == []
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in seen)
    assert not requests[0].out_path.exists()


@pytest.mark.anyio
async def test_an_unreadable_next_picture_fails_the_segment_cleanly(tmp_path: Path) -> None:
    """The next picture is decoded while the segment already encodes: when it cannot be, the
    segment fails with a ``ProviderError`` naming it, no ffmpeg is left running, no file is left,
    and the composer keeps no still for it."""
    render = RenderSpec(width=W, height=H, fps=FPS, transition="crossfade", transition_duration=0.5)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture at all")
    pics = [picture(tmp_path, "red", (200, 20, 20)), Picture(broken, W, H, "test", "CC0")]
    request = timeline(tmp_path, [tone(tmp_path, "s0", 1.4), tone(tmp_path, "s1", 1.0)], pics, render)[0]
    composer = FfmpegComposer()
    with anyio.fail_after(30), pytest.raises(ProviderError, match="decode the picture of scene 2"):
        await composer.render_scene(request)
    assert ffmpeg_children() == []
    assert not request.out_path.exists()
    assert len(composer.stills) == 0


def test_configure_checks_settings() -> None:
    """Unknown keys and bad values are user errors naming the key; good ones change the fingerprint."""
    composer = FfmpegComposer()
    with pytest.raises(UserError, match="colour"):
        composer.configure(ProviderSettings({"colour": "red"}))
    with pytest.raises(UserError, match="hwaccel"):
        composer.configure(ProviderSettings({"hwaccel": "gpu-please"}))
    with pytest.raises(UserError, match="threads"):
        composer.configure(ProviderSettings({"threads": -1}))
    tuned = composer.configure(ProviderSettings({"zoom": 1.3, "threads": 1}))
    assert (tuned.zoom, tuned.threads) == (1.3, 1)
    assert tuned.fingerprint() != composer.fingerprint()
    assert composer.fingerprint().startswith("ffmpeg version")


def test_check_render_names_an_unknown_transition_and_music_that_is_not_audio(tmp_path: Path) -> None:
    """Known transitions and real audio pass; ``wipe`` gets one line with the names near it; random bytes
    get ffmpeg's reason and a picture is named as holding no audio."""
    composer = FfmpegComposer()
    for transition in ("crossfade", "mixed", "none", "wipeleft", "fade"):
        assert composer.check_render(RenderSpec(transition=transition)) == []
    song = tone(tmp_path, "song", 0.3).path
    assert composer.check_render(RenderSpec(music=song)) == []
    (problem,) = composer.check_render(RenderSpec(transition="wipe"))
    assert problem.startswith(
        'render.transition: unknown transition "wipe"; expected one of crossfade, mixed, none'
    )
    assert "did you mean wipe" in problem
    garbage = tmp_path / "song.mp3"
    garbage.write_bytes(np.random.default_rng(7).bytes(4000))
    assert composer.check_render(RenderSpec(music=garbage)) == [
        f"render.music: {garbage} is not audio ffmpeg can read (Invalid data found when processing input)"
    ]
    still = picture(tmp_path, "still", (10, 20, 30)).path
    assert composer.check_render(RenderSpec(music=still)) == [f"render.music: {still} has no audio stream"]


@pytest.mark.anyio
async def test_check_runs_the_binary_and_plugin_registers_the_composer() -> None:
    """``check()`` reports the ffmpeg version; the plugin hook registers one composer named ffmpeg."""
    availability = await FfmpegComposer().check()
    assert availability.ok and "ffmpeg version" in availability.detail
    broken = await FfmpegComposer(ffmpeg="/nonexistent/ffmpeg").check()
    assert not broken.ok
    registered: list[object] = []
    aura_register_providers(registered.append)
    assert [(p.kind, p.name, p.concurrency) for p in registered] == [("composer", "ffmpeg", 2)]  # type: ignore[attr-defined]


def test_importing_the_plugin_loads_no_media_library() -> None:
    """Loading the ``ffmpeg`` entry point and registering its composer (what ``aura plugins`` does) loads
    neither PyAV, pysubs2, Pillow nor numpy: they are imported when a segment or a video is made."""
    probe = probe_entry_point("ffmpeg", ("av", "pysubs2", "PIL", "numpy"))
    assert probe.providers == [("composer", "ffmpeg")]
    assert probe.heavy == []


@pytest.mark.anyio
async def test_auto_hwaccel_skips_trials_when_no_device_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Linux, ``hwaccel = "auto"`` spawns no hardware trial for a family whose device files are
    missing, and tries one whose device exists (the trial, not the device, decides)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("device files are checked on Linux only")
    present = tmp_path / "renderD128"
    present.touch()
    devices = {f: (str(tmp_path / "missing"),) for f in encoders.HW_FAMILIES}
    monkeypatch.setattr(encoders, "_LINUX_DEVICES", devices)
    monkeypatch.setattr(encoders, "_chosen", {})
    tried: list[str] = []

    def trial(exe: str, encoder: encoders.Encoder) -> tuple[bool, str]:
        tried.append(encoder.name)
        return False, "no device"

    monkeypatch.setattr(encoders, "_trial", trial)
    exe = FfmpegComposer().exe
    assert (await encoders.choose(exe, "h264", "standard", "auto")).name == "libx264"
    assert tried == []
    monkeypatch.setattr(encoders, "_LINUX_DEVICES", {**devices, "vaapi": (str(present),)})
    monkeypatch.setattr(encoders, "_chosen", {})
    assert (await encoders.choose(exe, "h264", "standard", "auto")).name == "libx264"
    assert tried == ["h264_vaapi"]


def test_freed_memory_is_kept_for_the_next_frame() -> None:
    """On glibc the thresholds are set (once: the answer is cached); elsewhere nothing is touched."""
    assert allocator.keep_freed_memory() is allocator.is_glibc()
    assert allocator.keep_freed_memory.cache_info().currsize == 1
    if sys.platform == "linux":
        import platform

        assert allocator.is_glibc() == (platform.libc_ver()[0] == "glibc")


def passthrough(exe: str) -> list[str]:
    """ffmpeg copying raw bytes from its stdin to its stdout (as 8 kHz unsigned 8-bit sound)."""
    raw = ["-f", "u8", "-ar", "8000", "-ac", "1"]
    return [exe, "-hide_banner", "-nostdin", "-loglevel", "error", *raw, "-i", "pipe:", *raw, "pipe:"]


@pytest.mark.anyio
async def test_stdout_is_read_whole_into_its_buffer_and_the_excess_counted() -> None:
    exe = binary.locate(None)
    data = bytes(range(256)) * 4096  # 1 MiB: more than one pipe's worth
    exact, short = binary.Filled(len(data)), binary.Filled(1000)
    await binary.run(passthrough(exe), what="copy", feed=iter([data]), stdout=exact)
    await binary.run(passthrough(exe), what="copy", feed=iter([data]), stdout=short)
    assert exact.length == len(data) and bytes(exact.data) == data
    assert short.length == len(data) and bytes(short.data) == data[:1000]


@pytest.mark.anyio
@pytest.mark.parametrize("delay", [0.0, 0.02, 0.3])
async def test_a_cancelled_call_leaves_no_pipe_open(delay: float) -> None:
    """Whenever the call is cancelled (even before its threads could start), both pipes' ends on
    our side are closed and ffmpeg is gone."""
    exe = binary.locate(None)
    me = psutil.Process()
    await binary.run(passthrough(exe), what="copy", feed=iter([b"warm"]), stdout=binary.Filled(4))
    before = me.num_fds()

    def forever() -> Iterator[bytes]:
        while True:
            yield bytes(65536)

    with anyio.move_on_after(delay) as scope:
        await binary.run(passthrough(exe), what="copy", feed=forever(), stdout=binary.Filled(100))
    assert scope.cancelled_caught
    with anyio.fail_after(5):
        while me.num_fds() != before:  # an abandoned reader or writer closes its end as ffmpeg dies
            await anyio.sleep(0.01)
    assert ffmpeg_children() == []


def test_a_pipe_end_is_closed_once_by_whoever_takes_it() -> None:
    """The thread that reads or writes an end takes it and closes it; ``run`` closes one that no
    thread took (its task was cancelled before it started), and leaves a taken one alone."""
    import os

    read_end, write_end = os.pipe()
    taken, untaken = binary._End(read_end), binary._End(write_end)
    assert taken.take() and not taken.take()
    taken.close_unused()
    os.fstat(read_end)  # still open: its taker closes it
    untaken.close_unused()
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(write_end)
    assert not untaken.take()
    os.close(read_end)
