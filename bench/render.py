"""Render benchmark: aura's ffmpeg composer vs MoviePy 2 vs the encode-only floor.

The composition: 6 scenes x 5 s, 1280x720, 30 fps, zoom 1.0 -> 1.1, 0.5 s crossfades, one
narration track, x264 veryfast CRF 23. Each contender runs in its own child process; wall time,
CPU time and peak RSS (the child and all its children, sampled every 20 ms with psutil) are reported;
times come from unobserved runs, peak memory from one observed run each (the poller takes CPU).
aura and MoviePy run in a Python child, which also reports the render alone (from its first call
to the finished file, modules imported beforehand): the "render" time; the "process" time adds
the interpreter's start-up and imports.

The floor is ffmpeg encoding this composition's own frames and sound (aura's video decoded beforehand to
raw frames and a WAV, untimed) with aura's settings, as a bare ffmpeg process: the cost of the
encode alone, which no renderer of this video can go under. The still floor (one picture, nothing
moves) is printed as a lower reference; x264 codes a still almost for free.

Then aura's peak memory for 10 and 100 (shorter) scenes.

Run: ``.venv/bin/python bench/render.py`` (``--skip-moviepy`` to leave MoviePy out,
``--repeat 3`` for min / median / max).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

WIDTH, HEIGHT, FPS = 1280, 720, 30
SCENES, SCENE_SECONDS, CROSSFADE, ZOOM = 6, 5.0, 0.5, 1.1
SPEECH_RATE = 22050


def make_picture(path: Path, index: int, width: int, height: int) -> None:
    """A picture with detail: a gradient, shapes and grain (so the encoder has real work)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(index)
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    base = np.array([40 + 30 * index % 200, 90, 160 - 10 * index], dtype=float)
    pixels = base * (0.6 + 0.4 * x) + 60 * y + rng.normal(0, 6, (height, width, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        cx, cy, r = (
            int(v) for v in (rng.integers(0, width), rng.integers(0, height), rng.integers(10, height // 6))
        )
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour, outline=(255, 255, 255), width=3)
    image.filter(ImageFilter.GaussianBlur(1)).save(path)


def make_speech(path: Path, seconds: float, seed: int) -> None:
    """A voice-like signal: tone bursts with noise, ``seconds`` long."""
    import numpy as np
    import soundfile

    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SPEECH_RATE)) / SPEECH_RATE
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    signal = 0.2 * envelope * np.sin(2 * np.pi * (180 + 40 * np.sin(2 * np.pi * 0.5 * t)) * t)
    soundfile.write(path, signal + 0.01 * rng.normal(size=t.size), SPEECH_RATE)


def prepare(folder: Path, scenes: int, seconds: float, width: int, height: int) -> None:
    """Pictures per scene, a speech per scene and one narration track of the whole length."""
    import numpy as np
    import soundfile

    for i in range(scenes):
        make_picture(folder / f"p{i}.png", i, width, height)
        make_speech(folder / f"s{i}.wav", seconds - 0.6, i)
    parts = [soundfile.read(folder / f"s{i}.wav")[0] for i in range(scenes)]
    gap = np.zeros(round(0.6 * SPEECH_RATE))
    soundfile.write(
        folder / "narration.wav", np.concatenate([x for p in parts for x in (p, gap)]), SPEECH_RATE
    )


async def run_aura(folder: Path, scenes: int, seconds: float, width: int, height: int) -> None:
    """Render with aura's composer as the runner drives it: segments two at a time (its concurrency),
    the soundtrack beside them meanwhile, then the assembly."""
    import anyio
    from loguru import logger

    from aura_core import (
        AssemblyRequest,
        Narration,
        Picture,
        RenderSpec,
        Scene,
        Segment,
        SegmentRequest,
        Soundtrack,
        SoundtrackRequest,
        Speech,
    )
    from aura_plugins_ffmpeg import FfmpegComposer

    logger.remove()  # the composer's debug lines are not the benchmark's output
    composer = FfmpegComposer(zoom=ZOOM)
    render = RenderSpec(
        width=width,
        height=height,
        fps=FPS,
        codec="h264",
        quality="standard",
        captions="off",
        transition="crossfade",
    )
    speech_seconds = seconds - 0.6
    pictures = [Picture(folder / f"p{i}.png", width, height, "bench", "CC0") for i in range(scenes)]
    speeches = [Speech(folder / f"s{i}.wav", speech_seconds, SPEECH_RATE) for i in range(scenes)]
    requests = [
        SegmentRequest(
            scene=Scene(i, "", f"scene {i}", "", i * seconds, seconds, speech_seconds),
            speech=speeches[i],
            picture=pictures[i],
            next_picture=pictures[i + 1] if i + 1 < scenes else None,
            render=render,
            out_path=folder / f"seg{i}.mp4",
            scene_count=scenes,
        )
        for i in range(scenes)
    ]
    segments: list[Segment | None] = [None] * scenes
    narration = tuple(Narration(speeches[i], i * seconds, f"scene {i}") for i in range(scenes))
    made: list[Soundtrack] = []
    limiter = anyio.CapacityLimiter(composer.concurrency)

    async def one(i: int) -> None:
        async with limiter:
            segments[i] = await composer.render_scene(requests[i])

    async def sound() -> None:
        # As the runner does once every scene is voiced: beside the segments, not in a composer slot.
        request = SoundtrackRequest(narration, None, render, scenes * seconds, folder / "sound.m4a")
        made.append(await composer.mix_soundtrack(request))

    async with anyio.create_task_group() as group:
        for i in range(scenes):
            group.start_soon(one, i)
        group.start_soon(sound)
    done = tuple(s for s in segments if s is not None)
    request = AssemblyRequest(done, narration, None, "off", render, folder / "aura.mp4", made[0])
    await composer.assemble(request)


def run_moviepy(folder: Path) -> None:
    """The same composition with MoviePy 2: per-frame resize for the zoom, CrossFadeIn for transitions."""
    from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, vfx

    clips = []
    for i in range(SCENES):
        lead = CROSSFADE if i > 0 else 0.0
        length = SCENE_SECONDS + lead

        def zoom(t: float, length: float = length) -> float:
            return 1.0 + (ZOOM - 1.0) * t / length

        clip = (
            ImageClip(str(folder / f"p{i}.png")).with_duration(length).resized(zoom).with_position("center")
        )
        clip = CompositeVideoClip([clip], size=(WIDTH, HEIGHT)).with_duration(length)
        if i > 0:
            clip = clip.with_effects([vfx.CrossFadeIn(CROSSFADE)])
        clips.append(clip.with_start(i * SCENE_SECONDS - lead))
    video = CompositeVideoClip(clips, size=(WIDTH, HEIGHT)).with_audio(
        AudioFileClip(str(folder / "narration.wav"))
    )
    video.write_videofile(
        str(folder / "moviepy.mp4"),
        fps=FPS,
        codec="libx264",
        preset="veryfast",
        ffmpeg_params=["-crf", "23", "-pix_fmt", "yuv420p"],
        audio_codec="aac",
        logger=None,
    )


def encoder_args() -> list[str]:
    """aura's x264 settings for this composition (the floors use exactly these)."""
    from aura_plugins_ffmpeg import encoders

    return [*encoders.software("h264", "standard").args, "-g", str(FPS * 2), "-pix_fmt", "yuv420p"]


def ffmpeg_exe() -> str:
    """The ffmpeg binary aura uses by default (the bundled one)."""
    from aura_plugins_ffmpeg import binary

    return binary.locate(None)


def ffmpeg_command(*args: str) -> list[str]:
    """The bundled ffmpeg, quiet, overwriting its outputs, with ``args``."""
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]


def decode_composition(folder: Path) -> None:
    """Decode aura's video to raw yuv420p frames (``frames.yuv``) and its soundtrack to a WAV
    (``sound.wav``, 48 kHz stereo): the floor's input, made untimed."""
    command = ffmpeg_command(
        *("-i", str(folder / "aura.mp4")),
        *("-map", "0:v", "-f", "rawvideo", "-pix_fmt", "yuv420p", str(folder / "frames.yuv")),
        *("-map", "0:a", "-c:a", "pcm_f32le", str(folder / "sound.wav")),
    )
    subprocess.run(command, check=True)


def floor_command(folder: Path) -> list[str]:
    """Encode-only floor: ffmpeg encodes the very frames and sound of the composition (aura's video
    decoded beforehand) with aura's settings: what any renderer must pay for this video once its
    frames exist. It runs as a bare ffmpeg process (no Python before it)."""
    raw = ("-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{WIDTH}x{HEIGHT}", "-framerate", str(FPS))
    return ffmpeg_command(
        *(*raw, "-i", str(folder / "frames.yuv")),
        *("-i", str(folder / "sound.wav"), "-map", "0:v", "-map", "1:a", *encoder_args()),
        *("-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", str(folder / "floor.mp4")),
    )


def still_floor_command(folder: Path) -> list[str]:
    """A lower reference: ffmpeg encodes as many frames of one still picture (nothing moves, so x264
    codes almost every frame as a skip), video only."""
    frames = round(SCENES * SCENE_SECONDS * FPS)
    return ffmpeg_command(
        *("-i", str(folder / "p0.png")),
        *("-vf", f"loop=loop={frames - 1}:size=1:start=0,settb=1/{FPS},setpts=N"),
        *("-frames:v", str(frames), *encoder_args(), str(folder / "still.mp4")),
    )


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def timed(render: Callable[[], object]) -> None:
    """Run ``render`` (in a ``--one`` child, its modules already imported) and print its wall and CPU
    seconds (this process and its children) as one JSON line: the render without the interpreter's
    start-up and imports, which the parent's figures include."""
    cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    render()
    wall = time.perf_counter() - started
    spent = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu
    print(json.dumps({"render_wall": wall, "render_cpu": spent}))


class Run(NamedTuple):
    """One measured run: the process's wall and CPU seconds (start-up included), the render's alone
    (the same for a bare ffmpeg), and the peak RSS of its tree in MiB (0 for a timed run)."""

    wall: float
    cpu: float
    render_wall: float
    render_cpu: float
    peak: float


def contender(name: str, folder: Path, *extra: str) -> list[str]:
    """The command that renders with ``name``: the floors are bare ffmpeg commands, aura and MoviePy
    run in a Python child (``--one``)."""
    if name == "floor":
        return floor_command(folder)
    if name == "still-floor":
        return still_floor_command(folder)
    return [sys.executable, __file__, "--one", name, "--folder", str(folder), *extra]


def measure(command: list[str], *, memory: bool = False) -> Run:
    """Run ``command`` in a child; return its ``Run`` (CPU is user + sys of the child's tree:
    comparable even when other jobs load the machine).

    Peak memory needs a poller (``memory=True``), which itself takes CPU (listing the process tree
    every 20 ms: about 0.5 s of CPU over an aura run, 8 % of a core) and so slows a contender that
    keeps every core busy more than one that leaves a core partly idle. Timed runs therefore run
    unobserved and peak memory comes from runs of its own."""
    from _common import MIB, peak_rss_of

    cpu = _cpu(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="aura-bench-err-") as tmp:
        errors, output = Path(tmp) / "stderr.txt", Path(tmp) / "stdout.txt"
        out = ""
        if memory:
            wall, peak, code = peak_rss_of(command, stderr=errors, stdout=output)
            out = output.read_text()
        else:
            started = time.perf_counter()
            with errors.open("w") as stream:
                done = subprocess.run(command, stdout=subprocess.PIPE, stderr=stream, text=True, check=False)
            wall, peak, code, out = time.perf_counter() - started, 0, done.returncode, done.stdout
        if code != 0:
            raise SystemExit(f"{command[:4]} failed with exit code {code}: {errors.read_text()[-1500:]}")
    spent = _cpu(resource.RUSAGE_CHILDREN) - cpu
    lines = out.strip().splitlines()
    inner = json.loads(lines[-1]) if lines else {"render_wall": wall, "render_cpu": spent}
    return Run(wall, spent, inner["render_wall"], inner["render_cpu"], peak / MIB)


def summary(values: list[float]) -> str:
    """``min / median / max`` of ``values`` (just the value when there is one)."""
    from _common import spread

    lo, mid, hi = spread(values)
    return f"{lo:6.2f}" if len(values) == 1 else f"{lo:.2f} / {mid:.2f} / {hi:.2f}"


def median(runs: list[Run], field: str) -> float:
    """The median of ``field`` over ``runs``."""
    from _common import spread

    return spread([getattr(r, field) for r in runs])[1]


def main() -> None:
    """Prepare the inputs, run each contender in turn, print the figures and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=["aura", "moviepy"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scenes", type=int, default=SCENES, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=SCENE_SECONDS, help=argparse.SUPPRESS)
    parser.add_argument("--size", default=f"{WIDTH}x{HEIGHT}", help=argparse.SUPPRESS)
    parser.add_argument("--skip-moviepy", action="store_true", help="leave MoviePy out (it is slow)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of aura and the floors (MoviePy runs once)"
    )
    args = parser.parse_args()
    if args.one == "aura":
        width, height = (int(v) for v in args.size.split("x"))
        import anyio

        # aura is imported before the clock starts (what it imports lazily, it imports in the render).
        import aura_core  # noqa: F401
        import aura_plugins_ffmpeg  # noqa: F401

        timed(lambda: anyio.run(run_aura, args.folder, args.scenes, args.seconds, width, height))
        return
    if args.one == "moviepy":
        import moviepy  # noqa: F401, RUF100 - imported before the clock starts

        timed(lambda: run_moviepy(args.folder))
        return

    with tempfile.TemporaryDirectory(prefix="aura-bench-") as tmp:
        folder = Path(tmp)
        prepare(folder, SCENES, SCENE_SECONDS, WIDTH, HEIGHT)
        print(
            f"composition: {SCENES} scenes x {SCENE_SECONDS:g} s, {WIDTH}x{HEIGHT}, {FPS} fps, "
            f"x264 veryfast CRF 23; {args.repeat} run(s) each, min / median / max"
        )
        names = ["aura", "floor", "still-floor"] + ([] if args.skip_moviepy else ["moviepy"])
        results: dict[str, list[Run]] = {name: [] for name in names}
        peaks: dict[str, float] = {}
        for round_ in range(args.repeat):
            for name in names:  # interleaved, so a busy moment of the machine hits every contender
                if name == "moviepy" and round_ > 0:
                    continue  # one MoviePy run is enough: it is an order of magnitude slower
                # MoviePy's one run is also its memory run: the poller's CPU is lost in its 80 s,
                # most of which leave a core idle.
                run = measure(contender(name, folder), memory=name == "moviepy")
                results[name].append(run)
                if name == "moviepy":
                    peaks[name] = run.peak
                if name == "aura" and round_ == 0:
                    decode_composition(folder)
        for name in names:  # peak memory: one observed run each, untimed
            if name not in peaks:
                peaks[name] = measure(contender(name, folder), memory=True).peak
        print(
            "  render = the render alone (aura and MoviePy in a running Python; the floors are bare ffmpeg)"
        )
        print("  process = the child process (aura and MoviePy: Python start-up and imports included)")
        for name in names:
            runs = results[name]
            print(
                f"  {name:11s} render {summary([r.render_wall for r in runs])} s"
                f"  process {summary([r.wall for r in runs])} s"
                f"  cpu {summary([r.cpu for r in runs])} s  peak {peaks[name]:7.1f} MiB"
            )
        aura, floor = results["aura"], results["floor"]
        print(
            "  aura / floor (same frames, medians): render time "
            f"{median(aura, 'render_wall') / median(floor, 'render_wall'):.2f}x; process time "
            f"{median(aura, 'wall') / median(floor, 'wall'):.2f}x; cpu {median(aura, 'cpu') / median(floor, 'cpu'):.2f}x"
        )
        if "moviepy" in results:
            moviepy = results["moviepy"]
            print(
                f"  moviepy / aura: render time {median(moviepy, 'render_wall') / median(aura, 'render_wall'):.1f}x; "
                f"process time {median(moviepy, 'wall') / median(aura, 'wall'):.1f}x; "
                f"peak memory {peaks['moviepy'] / peaks['aura']:.1f}x"
            )

    print("memory vs scene count (aura, 1 s scenes, 640x360):")
    for scenes in (10, 100):
        with tempfile.TemporaryDirectory(prefix="aura-bench-") as tmp:
            folder = Path(tmp)
            prepare(folder, scenes, 1.0, 640, 360)
            extra = ("--scenes", str(scenes), "--seconds", "1", "--size", "640x360")
            run = measure(contender("aura", folder, *extra), memory=True)
            wall, peak, cpu = run.wall, run.peak, run.cpu
            print(f"  {scenes:3d} scenes {wall:7.2f} s  cpu {cpu:7.2f} s  peak {peak:7.1f} MiB")


if __name__ == "__main__":
    main()
