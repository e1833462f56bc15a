"""Moving clips through the composer, rendered with the bundled ffmpeg at tiny sizes.

Every test clip is made by ffmpeg and says which moment it shows: each frame is one flat colour whose
Y, U and V levels spell its own timestamp in 1/600 s (``CODE``), so a decoded output frame tells
exactly which source frame it came from, through scaling, cropping and the encoder's rounding.
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np
import psutil
import pytest
import soundfile
from numpy.typing import NDArray
from PIL import Image

from aura_core import (
    AssemblyRequest,
    Clip,
    Narration,
    Picture,
    ProviderError,
    RenderSpec,
    Scene,
    Segment,
    SegmentRequest,
    Speech,
)
from aura_plugins_ffmpeg import FfmpegComposer, binary
from aura_plugins_ffmpeg.footage import LOOKUP, Footage

W, H, FPS = 160, 90, 30
#: Ticks per second of the time code, and the levels of its three digits (Y, U, V in steps of 8).
TICKS = 600
Y_DIGITS, UV_DIGITS = 28, 25
#: How far a frame's spelled time may be from its timestamp: ffmpeg's ``geq`` rounds some times to the
#: tick beside (0.175 s spells 104/600); source frames are at least 10 ticks apart.
TOLERANCE = 1.5 / TICKS


def ffmpeg(*args: str) -> None:
    """Run the bundled ffmpeg quietly; fail the test on an error."""
    exe = binary.locate(None)
    subprocess.run([exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def coded_clip(
    folder: Path,
    name: str,
    *,
    rate: float | str = 25,
    seconds: float = 3.0,
    size: tuple[int, int] = (64, 36),
    offset: float = 0.0,
    sound: bool = False,
    faststart: bool = True,
) -> Clip:
    """An H.264 clip whose every frame is one flat colour spelling its own time plus ``offset`` (so
    clips can be told apart). ``rate="vfr"``: frames alternately 25 ms and 50 ms apart."""
    width, height = size
    ticks = f"round((T+{offset})*{TICKS})"
    code = (
        f"geq=lum='16+8*mod({ticks},{Y_DIGITS})'"
        f":cb='32+8*mod(floor({ticks}/{Y_DIGITS}),{UV_DIGITS})'"
        f":cr='32+8*floor({ticks}/{Y_DIGITS * UV_DIGITS})'"
    )
    base = 40 if rate == "vfr" else rate
    timing = "settb=1/1000,setpts='(floor(N/2)*0.075+mod(N,2)*0.025)/TB'," if rate == "vfr" else ""
    count = round(seconds / 0.0375) if rate == "vfr" else round(seconds * float(base))
    path = folder / f"{name}.mp4"
    args = ["-f", "lavfi", "-i", f"color=c=black:s={width}x{height}:r={base}"]
    if sound:
        args += ["-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=48000:duration={seconds}"]
    args += ["-vf", f"{timing}{code},format=yuv420p", "-frames:v", str(count), "-fps_mode", "passthrough"]
    args += ["-c:v", "libx264", "-qp", "0", "-g", "12", "-video_track_timescale", "12000"]
    args += ["-c:a", "aac"] if sound else []
    args += ["-movflags", "+faststart"] if faststart else []
    ffmpeg(*args, str(path))
    return Clip(path, width, height, seconds, 25.0, "test", "CC0")


def picture(folder: Path, name: str, color: tuple[int, int, int]) -> Picture:
    """A flat picture of ``color``."""
    path = folder / f"{name}.png"
    Image.new("RGB", (320, 180), color).save(path)
    return Picture(path, 320, 180, "test", "CC0")


def tone(folder: Path, name: str, seconds: float, freq: float) -> Speech:
    """A sine WAV of ``seconds`` at 22.05 kHz, standing in for a voice."""
    rate = 22050
    t = np.arange(round(seconds * rate)) / rate
    path = folder / f"{name}.wav"
    soundfile.write(path, 0.05 * np.sin(2 * np.pi * freq * t), rate)
    return Speech(path, seconds, rate, ())


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


def audio_of(path: Path) -> tuple[NDArray[np.float64], int]:
    """The decoded audio of ``path`` as (samples, channels) floats, and its rate."""
    with av.open(str(path)) as container:
        rate = container.streams.audio[0].sample_rate
        chunks = [f.to_ndarray() for f in container.decode(audio=0)]
    return np.concatenate(chunks, axis=1).T.astype(np.float64), rate


def decode_code(y: float, u: float, v: float) -> float:
    """The time (seconds) a frame's flat Y, U and V levels spell."""
    digits = round((y - 16) / 8), round((u - 32) / 8), round((v - 32) / 8)
    return (digits[0] + Y_DIGITS * digits[1] + Y_DIGITS * UV_DIGITS * digits[2]) / TICKS


def planes_of(path: Path) -> list[NDArray[np.float64]]:
    """Every frame of ``path`` as its Y, U and V planes (chroma at full size), shape (3, height, width)."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="yuv444p").astype(np.float64) for f in container.decode(video=0)]


def codes(path: Path, region: tuple[slice, slice] | None = None) -> list[float]:
    """The time each frame of ``path`` spells, read from the middle half of the frame (or ``region``)."""
    found = []
    for planes in planes_of(path):
        _, height, width = planes.shape
        rows, cols = region or (slice(height // 4, 3 * height // 4), slice(width // 4, 3 * width // 4))
        y, u, v = (float(plane[rows, cols].mean()) for plane in planes)
        found.append(decode_code(y, u, v))
    return found


def source_times(path: Path) -> list[float]:
    """The timestamps of a source clip's frames (seconds; the time each frame spells)."""
    with av.open(str(path)) as container:
        return [float(frame.time or 0.0) for frame in container.decode(video=0)]


def on_screen(times: Sequence[float], at: float) -> float:
    """The source frame the composer shows at ``at``: the last one starting at or before it, looked up
    ``footage.LOOKUP`` late (a timestamp rounded to whole milliseconds is not taken for the frame before)."""
    return max(t for t in times if t <= at + LOOKUP)


def requests_for(
    folder: Path,
    visuals: Sequence[Picture | Clip | None],
    durations: Sequence[float],
    render: RenderSpec,
) -> list[SegmentRequest]:
    """Segment requests laid end to end, one per visual, each slot ``durations[i]`` long."""
    requests = []
    start = 0.0
    for i, (visual, duration) in enumerate(zip(visuals, durations, strict=True)):
        speech = tone(folder, f"s{i}", duration * 0.6, freq=300 + 100 * i)
        scene = Scene(i, f"h{i}", f"scene {i}", "", start, duration, speech.duration)
        requests.append(
            SegmentRequest(
                scene=scene,
                speech=speech,
                picture=visual,
                next_picture=visuals[i + 1] if i + 1 < len(visuals) else None,
                render=render,
                out_path=folder / f"seg{i}.mp4",
                scene_count=len(visuals),
            )
        )
        start += duration
    return requests


def hard_cuts(fps: int = FPS, size: tuple[int, int] = (W, H)) -> RenderSpec:
    """A render without transitions or captions."""
    return RenderSpec(width=size[0], height=size[1], fps=fps, transition="none", captions="off")


def assert_slot_filled(segment: Segment, request: SegmentRequest) -> None:
    """The segment covers its scene's slot to within a frame, as the core checks it."""
    fps = request.render.fps
    assert abs(segment.duration - request.scene.duration) <= 1.5 / fps
    assert len(planes_of(segment.path)) == round(segment.duration * fps)


@pytest.mark.anyio
@pytest.mark.parametrize("rate", [24, 25, 30, 50, 60, "vfr"])
async def test_every_frame_is_the_source_frame_on_screen_at_its_time(
    tmp_path: Path, rate: float | str
) -> None:
    """A clip played from an in-point between two source frames into 30 fps: output frame n shows the
    source frame on screen at ``start + n / 30``, for 24, 25, 30, 50 and 60 fps and a variable-rate
    source; so no frame is frozen or dropped beyond what the rate change itself takes."""
    clip = coded_clip(tmp_path, f"c{rate}", rate=rate, seconds=3.0)
    clip = Clip(clip.path, 64, 36, 3.0, 25.0, "test", "CC0", start=0.713)
    request = requests_for(tmp_path, [clip], [1.5], hard_cuts())[0]
    segment = await FfmpegComposer().render_scene(request)
    assert_slot_filled(segment, request)
    found = codes(segment.path)
    source = source_times(clip.path)
    expected = [on_screen(source, 0.713 + n / FPS) for n in range(len(found) - 15)]
    # The last scene fades to black over its last 0.5 s: its frames before the fade are checked.
    assert found[: len(expected)] == pytest.approx(expected, abs=TOLERANCE)
    steps = [b - a for a, b in itertools.pairwise(found[: len(expected)])]
    if rate == 60:
        assert steps == pytest.approx([2 / 60] * len(steps), abs=TOLERANCE)  # every second frame, always
    if rate in (24, 25):
        assert min(steps) == pytest.approx(0.0, abs=1e-6)  # a frame held twice now and then
        assert max(steps) <= 1 / float(rate) + 1e-6  # and none skipped


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("source", "rotation", "frame"),
    [((36, 64), 0, (W, H)), ((64, 36), 0, (H, W)), ((64, 36), 90, (W, H))],
    ids=["portrait-in-landscape", "landscape-in-portrait", "phone-portrait-in-landscape"],
)
async def test_a_clip_of_the_other_orientation_fills_the_frame_cropped_to_its_middle(
    tmp_path: Path, source: tuple[int, int], rotation: int, frame: tuple[int, int]
) -> None:
    """The clip is scaled to cover the frame and cropped in the middle: no black bar, nothing stretched.
    The source shows three bands across its long side (a red quarter, a green half, a blue quarter):
    the frame takes the middle 32 % of it, all green; a stretched clip would show red and blue, a
    fitted one bars. A phone's portrait clip is stored landscape with a rotation to display it
    upright: it is turned first (unturned, its bands would cross the landscape frame)."""
    width, height = source
    path = tmp_path / "bands.mp4"
    long_side, axis = ("H", "Y") if height > width else ("W", "X")
    band = (
        f"geq=r='if(lt({axis},{long_side}/4),220,20)'"
        f":g='if(between({axis},{long_side}/4,3*{long_side}/4),220,20)'"
        f":b='if(gt({axis},3*{long_side}/4),220,20)'"
    )
    colour = f"color=c=black:s={width}x{height}:r=25:d=2"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        colour,
        "-vf",
        f"format=rgb24,{band},format=yuv420p",
        "-c:v",
        "libx264",
        str(path),
    )
    if rotation:
        turned = tmp_path / "turned.mp4"
        ffmpeg("-display_rotation", str(rotation), "-i", str(path), "-c", "copy", str(turned))
        path = turned
    clip = Clip(path, width, height, 2.0, 25.0, "test", "CC0")
    request = requests_for(tmp_path, [clip, None], [1.0, 1.0], hard_cuts(size=frame))[0]
    segment = await FfmpegComposer().render_scene(request)
    assert (segment.width, segment.height) == frame
    with av.open(str(segment.path)) as container:
        rgb = [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]
    for image in rgb:
        assert image.shape[:2] == (frame[1], frame[0])
        # Every row and column is lit (no bar) and green (the middle band, not squeezed bands).
        assert image[..., 1].min(axis=0).min() > 150 and image[..., 1].min(axis=1).min() > 150
        assert image[..., 0].max() < 80 and image[..., 2].max() < 80


@pytest.mark.anyio
async def test_captions_are_burned_over_a_clip(tmp_path: Path) -> None:
    """``captions = "burn"`` draws the narration over the playing clip (a dark grey brightening with
    time): white text in the bottom half of the frames during the speech, over a clip that moves."""
    path = tmp_path / "dark.mp4"
    colour = "color=c=black:s=160x90:r=25:d=3"
    ffmpeg(
        "-f", "lavfi", "-i", colour, "-vf", "geq=lum='16+30*T':cb=128:cr=128", "-c:v", "libx264", str(path)
    )
    clip = Clip(path, 160, 90, 3.0, 25.0, "test", "CC0")
    render = RenderSpec(width=W, height=H, fps=FPS, transition="none", captions="burn")
    request = requests_for(tmp_path, [clip], [2.0], render)[0]
    segment = await FfmpegComposer().render_scene(request)
    assert_slot_filled(segment, request)
    luma = [planes[0] for planes in planes_of(segment.path)]
    spoken = luma[: round(request.speech.duration * FPS) - 3]
    assert all(frame[H // 2 :].max() > 200 for frame in spoken)  # the text's white
    assert all(frame[: H // 4].max() < 100 for frame in spoken)  # the clip's grey above it
    assert luma[30][: H // 4].mean() > luma[0][: H // 4].mean() + 20  # which brightens as it plays


@pytest.mark.anyio
async def test_a_clip_shorter_than_its_slot_is_slowed_down_evenly_to_fill_it(tmp_path: Path) -> None:
    """A 1 s clip (from 0.2 s) in a 1.6 s slot plays its 0.8 s at half speed: every frame of the slot
    is there, the source times climb evenly from the in-point to the clip's end, none goes back."""
    clip = coded_clip(tmp_path, "short", rate=30, seconds=1.0)
    clip = Clip(clip.path, 64, 36, 1.0, 30.0, "test", "CC0", start=0.2)
    request = requests_for(tmp_path, [clip, None], [1.6, 1.0], hard_cuts())[0]
    segment = await FfmpegComposer().render_scene(request)
    assert_slot_filled(segment, request)
    found = codes(segment.path)
    source = source_times(clip.path)
    assert found == [on_screen(source, 0.2 + n / FPS * 0.5) for n in range(48)]
    assert found[0] == pytest.approx(0.2) and found[-1] == pytest.approx(source[-1])
    assert all(b - a in (0.0, pytest.approx(1 / 30)) for a, b in itertools.pairwise(found))


@pytest.mark.anyio
async def test_the_clips_sound_is_dropped(tmp_path: Path) -> None:
    """A clip with a loud 1 kHz tone: the segment has no audio stream, and the assembled video's sound
    is the narration alone (a 300 Hz tone), with nothing at 1 kHz."""
    clip = coded_clip(tmp_path, "loud", rate=25, seconds=2.0, sound=True)
    with av.open(str(clip.path)) as container:
        assert container.streams.audio  # the source does have sound
    render = hard_cuts()
    requests = requests_for(tmp_path, [clip], [1.5], render)
    composer = FfmpegComposer()
    segment = await composer.render_scene(requests[0])
    with av.open(str(segment.path)) as container:
        assert not container.streams.audio
    narration = (Narration(requests[0].speech, 0.0, "scene 0"),)
    video = await composer.assemble(
        AssemblyRequest((segment,), narration, None, "off", render, tmp_path / "v.mp4")
    )
    samples, rate = audio_of(video.path)
    spectrum = np.abs(np.fft.rfft(samples.mean(axis=1)))
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)

    def energy(f: float) -> float:
        return float(spectrum[(freqs > f - 20) & (freqs < f + 20)].sum())

    assert energy(300) > 100 * energy(1000)


def colour(time: float) -> NDArray[np.float64]:
    """The flat Y, U and V levels a coded clip shows at ``time`` (its offset included)."""
    ticks = round(time * TICKS)
    return np.array(
        [
            16 + 8 * (ticks % Y_DIGITS),
            32 + 8 * (ticks // Y_DIGITS % UV_DIGITS),
            32 + 8 * (ticks // (Y_DIGITS * UV_DIGITS)),
        ],
        dtype=np.float64,
    )


@pytest.mark.anyio
async def test_transitions_play_the_incoming_clip_and_the_next_segment_goes_on_from_there(
    tmp_path: Path,
) -> None:
    """Picture → clip → clip with a wipe: in each transition the incoming clip already moves (the part
    wiped in shows its frames just before its segment's first), and the next segment starts on the
    very next frame of the same motion, so the clip never freezes at the cut."""
    render = RenderSpec(
        width=W, height=H, fps=FPS, transition="wipeleft", transition_duration=0.5, captions="off"
    )
    first = coded_clip(tmp_path, "a", rate=25, seconds=3.0, offset=10.0)
    second = coded_clip(tmp_path, "b", rate=60, seconds=3.0, offset=20.0)
    second = Clip(second.path, 64, 36, 3.0, 60.0, "test", "CC0", start=0.4)
    visuals: list[Picture | Clip | None] = [picture(tmp_path, "p", (90, 90, 90)), first, second]
    requests = requests_for(tmp_path, visuals, [1.0, 1.2, 1.0], render)
    segments = [await FfmpegComposer().render_scene(r) for r in requests]
    for request, segment in zip(requests, segments, strict=True):
        assert_slot_filled(segment, request)
    # wipeleft reveals the incoming scene from the right edge on.
    right = (slice(H // 4, 3 * H // 4), slice(W - 6, W - 1))
    for k, (clip, offset, start) in enumerate([(first, 10.0, 0.0), (second, 20.0, 0.4)]):
        tail = codes(segments[k].path, right)[-14:]  # transition frames 1..14 of 15
        following = codes(segments[k + 1].path)[:5]
        times = [on_screen(source_times(clip.path), start + n / FPS) for n in range(20)]
        assert tail == pytest.approx([offset + t for t in times[1:15]], abs=TOLERANCE)
        assert following == pytest.approx([offset + t for t in times[15:20]], abs=TOLERANCE)


@pytest.mark.anyio
async def test_a_crossfade_between_clips_blends_both_as_they_play(tmp_path: Path) -> None:
    """Clip → clip → picture with 0.5 s crossfades: transition frame j of 15 is the outgoing clip's
    frame at its time blended with the incoming clip's frame at its own, weighing the incoming j / 15,
    and the next segment starts on the incoming clip's next frame (so neither freezes)."""
    render = RenderSpec(
        width=W, height=H, fps=FPS, transition="crossfade", transition_duration=0.5, captions="off"
    )
    clips = [
        coded_clip(tmp_path, "a", rate=25, offset=3.0, size=(96, 54)),
        coded_clip(tmp_path, "b", rate=30, offset=9.0, size=(96, 54)),
    ]
    visuals: list[Picture | Clip | None] = [*clips, picture(tmp_path, "p", (20, 20, 200))]
    requests = requests_for(tmp_path, visuals, [1.0, 1.0, 1.0], render)
    segments = [await FfmpegComposer().render_scene(r) for r in requests]
    sources = [source_times(clip.path) for clip in clips]
    middle = (slice(None), slice(H // 4, 3 * H // 4), slice(W // 4, 3 * W // 4))
    outgoing = planes_of(segments[0].path)
    for j in range(15):
        own = colour(3.0 + on_screen(sources[0], (15 + j) / FPS))
        incoming = colour(9.0 + on_screen(sources[1], j / FPS))
        expected = own + (incoming - own) * j / 15
        found = outgoing[15 + j][middle].mean(axis=(1, 2))
        assert found == pytest.approx(expected, abs=3.0), j
    assert codes(segments[1].path)[:3] == pytest.approx(
        [9.0 + on_screen(sources[1], n / FPS) for n in range(15, 18)], abs=TOLERANCE
    )


@pytest.mark.anyio
async def test_the_cut_falls_on_the_scene_boundary_and_segments_are_joined_as_they_are(
    tmp_path: Path,
) -> None:
    """Three clips with hard cuts at fractional scene starts (0.97 s, 2.1 s): in the assembled video,
    frame f of scene k's frames (from round(start * fps)) shows clip k at its in-point plus f / fps, so
    the cut is on the boundary's frame; the video's packets are the segments' own, copied."""
    render = hard_cuts()
    clips = [
        coded_clip(tmp_path, "a", rate=25, offset=3.0),
        Clip(
            coded_clip(tmp_path, "b", rate=50, offset=9.0).path, 64, 36, 3.0, 50.0, "test", "CC0", start=1.0
        ),
        coded_clip(tmp_path, "c", rate=30, offset=15.0),
    ]
    requests = requests_for(tmp_path, list(clips), [0.97, 1.13, 0.9], render)
    composer = FfmpegComposer()
    segments = tuple([await composer.render_scene(r) for r in requests])
    narration = tuple(Narration(r.speech, r.scene.start, r.scene.narration) for r in requests)
    video = await composer.assemble(
        AssemblyRequest(segments, narration, None, "off", render, tmp_path / "v.mp4")
    )
    found = codes(video.path)
    fade = 15  # the last scene fades to black over its last 0.5 s
    for request, clip, offset in zip(requests, clips, (3.0, 9.0, 15.0), strict=True):
        first = round(request.scene.start * FPS)
        end = round((request.scene.start + request.scene.duration) * FPS)
        end = end - fade if request.scene.index == 2 else end
        source = source_times(clip.path)
        expected = [offset + on_screen(source, clip.start + (f - first) / FPS) for f in range(first, end)]
        assert found[first:end] == pytest.approx(expected, abs=TOLERANCE)
    with av.open(str(video.path)) as container:
        joined = [bytes(p) for p in container.demux(video=0) if p.size]
    parts = []
    for segment in segments:
        with av.open(str(segment.path)) as container:
            parts += [bytes(p) for p in container.demux(video=0) if p.size]
    assert joined == parts


@pytest.mark.anyio
@pytest.mark.parametrize("damage", ["garbage", "cut-before-the-index", "cut-inside-the-frames"])
async def test_a_corrupt_or_truncated_clip_fails_its_scene_with_a_provider_error_naming_it(
    tmp_path: Path, damage: str
) -> None:
    """A clip that is not video, one cut before its index (moov at the end), and one cut halfway through
    its frames (index first: it opens and decodes up to the cut): the segment fails with a permanent
    ``ProviderError`` naming the clip and the scene; no ffmpeg is left, no file either."""
    clip = coded_clip(
        tmp_path, "clip", rate=25, seconds=3.0, size=(160, 90), faststart=damage != "cut-before-the-index"
    )
    data = clip.path.read_bytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(range(256)) * 40 if damage == "garbage" else data[: len(data) // 3])
    clip = Clip(broken, 160, 90, 3.0, 25.0, "test", "CC0")
    requests = requests_for(
        tmp_path,
        [picture(tmp_path, "p", (90, 90, 90)), clip],
        [2.5, 2.5],
        RenderSpec(width=W, height=H, fps=FPS, captions="off"),
    )
    composer = FfmpegComposer()
    if damage == "cut-inside-the-frames":
        # The transition into it reads only the clip's first 0.5 s, which is there: it renders.
        assert_slot_filled(await composer.render_scene(requests[0]), requests[0])
        requests = requests[1:]
    for request in requests:  # its own segment, and the transition into it
        with pytest.raises(ProviderError) as failed:
            await composer.render_scene(request)
        assert failed.value.transient is False
        assert str(broken) in str(failed.value)
        assert ffmpeg_children() == []
        assert not request.out_path.exists()


def test_the_slow_down_keeps_the_lead_that_the_transition_before_showed() -> None:
    """Both segments that show a clip agree on its lead (the transition into its scene) from the clip
    and the lead alone; the slot's own part is slowed down to what is left of the clip."""
    clip = Clip(Path("x.mp4"), 64, 36, 2.0, 25.0, "test", "CC0", start=0.5)
    own = Footage.own(clip, 2.0, 30, lead=15, frames=60)
    incoming = Footage.incoming(clip, 2.0, 30, lead=15, frames=9)
    assert [incoming.source_time(n) for n in range(6, 15)] == [own.source_time(n) for n in range(6, 15)]
    assert own.source_time(15) == pytest.approx(0.5)
    assert own.rate == pytest.approx(1.0 / 2.0)  # 1 s of clip left for the slot's 2 s
    assert own.source_time(75) == pytest.approx(1.5)
    short = Footage.own(clip, 1.0, 30, lead=15, frames=30)  # 0.5 s of clip in all: the lead gets half
    assert short.lead_source == pytest.approx(0.25) and short.rate == pytest.approx(0.25)


def test_the_composer_says_it_takes_clips() -> None:
    """``clips`` is a class attribute: the runner reads it without making a composer."""
    assert FfmpegComposer.clips is True
    assert FfmpegComposer().clips is True
