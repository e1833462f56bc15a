"""Footage benchmark: aura's ffmpeg composer on moving clips vs MoviePy 2 vs a bare ffmpeg (the floor).

The composition: 6 scenes x 5 s, 1280x720 at 30 fps, each scene a 1920x1080 25 fps H.264 clip (with a
sound track, which every renderer drops) played from 1 s in, 0.5 s crossfades in which the incoming
clip already plays, one narration track, x264 veryfast CRF 23.

- **aura** renders it as the runner drives it: segments two at a time (each decodes its clip and the
  next clip's first 0.5 s, scales, blends and encodes in one ffmpeg), the soundtrack beside them
  (levelled), then the assembly that copies both.
- **MoviePy 2** the way its users write it: ``VideoFileClip(...).subclipped(...).resized(...)``, the
  crossfade with ``CrossFadeIn`` and ``concatenate_videoclips(..., padding=-0.5, method="compose")``,
  then ``write_videofile``.
- **floor**: one bare ffmpeg doing the same decode (``-ss`` before ``-i``, ``-t``), frame rate, scale,
  crossfade and encode, with aura's encoder settings and the narration encoded as AAC. Only the
  transition frames go through ``xfade`` (which converts every frame it sees to 4:4:4 and back): the
  rest is trimmed around it and concatenated, the cheapest way ffmpeg itself offers.

Then aura's peak memory for 10 and 100 (1 s) scenes at 640x360 from the same sources.

Run: ``.venv/bin/python bench/footage.py`` (``--skip-moviepy`` to leave MoviePy out, ``--repeat 3`` for
min / median / max of aura and the floor).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from render import (
    SPEECH_RATE,
    Run,
    encoder_args,
    ffmpeg_command,
    make_picture,
    make_speech,
    measure,
    median,
    summary,
    timed,
)

WIDTH, HEIGHT, FPS = 1280, 720, 30
SCENES, SCENE_SECONDS, CROSSFADE = 6, 5.0, 0.5
#: The sources: 1920x1080 at 25 fps, this long, played from ``IN_POINT``; at most ``SOURCES`` distinct files.
SOURCE_SIZE, SOURCE_FPS, SOURCE_SECONDS, IN_POINT, SOURCES = (1920, 1080), 25, 7.5, 1.0, 6


def make_clip(folder: Path, index: int) -> Path:
    """A 1080p25 clip with detail and motion (a slow pan across a detailed picture larger than the
    frame) and a quiet sound track, encoded as stock footage is (H.264 High, CRF 18, 2 s GOP, AAC)."""
    still = folder / f"source{index}.png"
    make_picture(still, index, 2240, 1260)
    path = folder / f"clip{index}.mp4"
    pan = f"crop=1920:1080:x='t*{30 + 5 * index}':y='t*{15 + 3 * index}'"
    command = ffmpeg_command(
        *("-loop", "1", "-framerate", str(SOURCE_FPS), "-i", str(still)),
        *("-f", "lavfi", "-i", f"sine=frequency={400 + 50 * index}:sample_rate=48000"),
        *("-vf", f"{pan},format=yuv420p", "-t", f"{SOURCE_SECONDS}"),
        *("-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-g", str(2 * SOURCE_FPS)),
        *("-c:a", "aac", "-b:a", "128k", "-shortest", str(path)),
    )
    subprocess.run(command, check=True)
    return path


def prepare(folder: Path, scenes: int, seconds: float) -> None:
    """The source clips, a speech per scene and one narration track of the whole length."""
    import numpy as np
    import soundfile

    for i in range(min(scenes, SOURCES)):
        make_clip(folder, i)
    for i in range(scenes):
        make_speech(folder / f"s{i}.wav", seconds - 0.6, i)
    parts = [soundfile.read(folder / f"s{i}.wav")[0] for i in range(scenes)]
    gap = np.zeros(round(0.6 * SPEECH_RATE))
    soundfile.write(
        folder / "narration.wav", np.concatenate([x for p in parts for x in (p, gap)]), SPEECH_RATE
    )


def clip_path(folder: Path, index: int) -> Path:
    """Scene ``index``'s clip (the sources are used in turn)."""
    return folder / f"clip{index % SOURCES}.mp4"


async def run_aura(folder: Path, scenes: int, seconds: float, width: int, height: int) -> None:
    """Render with aura's composer as the runner drives it: segments two at a time (its concurrency),
    the soundtrack beside them meanwhile, then the assembly."""
    import anyio
    from loguru import logger

    from aura_core import (
        AssemblyRequest,
        Clip,
        Narration,
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
    composer = FfmpegComposer()
    render = RenderSpec(
        width=width,
        height=height,
        fps=FPS,
        codec="h264",
        quality="standard",
        captions="off",
        transition="crossfade",
        transition_duration=CROSSFADE,
    )
    size = SOURCE_SIZE
    clips = [
        Clip(clip_path(folder, i), *size, SOURCE_SECONDS, SOURCE_FPS, "bench", "CC0", start=IN_POINT)
        for i in range(scenes)
    ]
    speech_seconds = seconds - 0.6
    speeches = [Speech(folder / f"s{i}.wav", speech_seconds, SPEECH_RATE) for i in range(scenes)]
    requests = [
        SegmentRequest(
            scene=Scene(i, "", f"scene {i}", "", i * seconds, seconds, speech_seconds),
            speech=speeches[i],
            picture=clips[i],
            next_picture=clips[i + 1] if i + 1 < scenes else None,
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
    """The same composition with MoviePy 2, as its users write it."""
    from moviepy import AudioFileClip, VideoFileClip, concatenate_videoclips, vfx

    clips = []
    for i in range(SCENES):
        lead = CROSSFADE if i > 0 else 0.0
        clip = (
            VideoFileClip(str(clip_path(folder, i)), audio=False)
            .subclipped(IN_POINT, IN_POINT + SCENE_SECONDS + lead)
            .resized((WIDTH, HEIGHT))
        )
        if i > 0:
            clip = clip.with_effects([vfx.CrossFadeIn(CROSSFADE)])
        clips.append(clip)
    video = concatenate_videoclips(clips, method="compose", padding=-CROSSFADE)
    video = video.with_audio(AudioFileClip(str(folder / "narration.wav")))
    video.write_videofile(
        str(folder / "moviepy.mp4"),
        fps=FPS,
        codec="libx264",
        preset="veryfast",
        ffmpeg_params=["-crf", "23", "-pix_fmt", "yuv420p"],
        audio_codec="aac",
        logger=None,
    )


def floor_command(folder: Path) -> list[str]:
    """One bare ffmpeg: each clip decoded from its in-point for as long as it shows (``-ss``, ``-t``,
    no sound), conformed to 30 fps, scaled and cropped to 720p; the transitions' frames crossfaded
    with ``xfade`` and the rest concatenated around them; x264 with aura's settings, the narration in
    AAC."""
    fade = round(CROSSFADE * FPS)
    inputs: list[str] = []
    chains: list[str] = []
    pieces: list[str] = []
    for i in range(SCENES):
        length = SCENE_SECONDS + (CROSSFADE if i > 0 else 0.0)
        frames = round(length * FPS)
        inputs += ["-ss", f"{IN_POINT}", "-t", f"{length}", "-an", "-i", str(clip_path(folder, i))]
        fill = (
            f"fps={FPS},scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=increase,"
            f"crop={WIDTH}:{HEIGHT},setsar=1,format=yuv420p"
        )
        first = fade if i > 0 else 0
        last = frames - fade if i < SCENES - 1 else frames
        # The frames the crossfade into it takes, its own, the frames the crossfade out of it takes.
        parts = [("head", f"end_frame={first}")] if i > 0 else []
        parts.append(("body", f"start_frame={first}:end_frame={last}"))
        parts += [("tail", f"start_frame={last}")] if i < SCENES - 1 else []
        labels = "".join(f"[{name}-{i}]" for name, _ in parts)
        chains.append(f"[{i}:v]{fill},split={len(parts)}{labels}")
        chains += [f"[{name}-{i}]trim={span},setpts=N/{FPS}/TB[{name}{i}]" for name, span in parts]
    for i in range(SCENES):
        if i > 0:
            chains.append(
                f"[tail{i - 1}][head{i}]xfade=transition=fade:duration={CROSSFADE}:offset=0,"
                f"format=yuv420p[x{i}]"
            )
            pieces.append(f"[x{i}]")
        pieces.append(f"[body{i}]")
    chains.append(f"{''.join(pieces)}concat=n={len(pieces)}:v=1:a=0[video]")
    return ffmpeg_command(
        *inputs,
        *("-i", str(folder / "narration.wav")),
        *("-filter_complex", ";".join(chains), "-map", "[video]", "-map", f"{SCENES}:a"),
        *encoder_args(),
        *("-r", str(FPS), "-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart"),
        str(folder / "floor.mp4"),
    )


def contender(name: str, folder: Path, *extra: str) -> list[str]:
    """The command that renders with ``name``: the floor is a bare ffmpeg command, aura and MoviePy run
    in a Python child (``--one``)."""
    if name == "floor":
        return floor_command(folder)
    return [sys.executable, __file__, "--one", name, "--folder", str(folder), *extra]


def check_outputs(folder: Path, names: list[str]) -> None:
    """Each contender's video lasts the composition's 30 s at 1280x720 and 30 fps, with sound."""
    from aura_plugins_ffmpeg.probe import probe

    for name in names:
        found = probe(folder / f"{name}.mp4")
        wanted = SCENES * SCENE_SECONDS
        if abs(found.duration - wanted) > 0.1 or (found.width, found.height) != (WIDTH, HEIGHT):
            raise SystemExit(f"{name} made a {found.duration:.2f} s {found.width}x{found.height} video")
        if abs(found.fps - FPS) > 0.01 or found.audio_codec is None:
            raise SystemExit(f"{name} made a {found.fps:g} fps video with audio {found.audio_codec}")


def main() -> None:
    """Prepare the inputs, run each contender in turn, print the figures and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=["aura", "moviepy"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scenes", type=int, default=SCENES, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=SCENE_SECONDS, help=argparse.SUPPRESS)
    parser.add_argument("--size", default=f"{WIDTH}x{HEIGHT}", help=argparse.SUPPRESS)
    parser.add_argument("--skip-moviepy", action="store_true", help="leave MoviePy out (it is slow)")
    parser.add_argument("--skip-memory", action="store_true", help="leave the 10 and 100 scene runs out")
    parser.add_argument("--memory-only", action="store_true", help="only the 10 and 100 scene runs")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of aura and the floor (MoviePy runs once)"
    )
    args = parser.parse_args()
    if args.one == "aura":
        width, height = (int(v) for v in args.size.split("x"))
        import anyio

        import aura_core  # noqa: F401 - imported before the clock starts
        import aura_plugins_ffmpeg  # noqa: F401

        timed(lambda: anyio.run(run_aura, args.folder, args.scenes, args.seconds, width, height))
        return
    if args.one == "moviepy":
        import moviepy  # noqa: F401, RUF100 - imported before the clock starts

        timed(lambda: run_moviepy(args.folder))
        return
    if not args.memory_only:
        compare(args.repeat, skip_moviepy=args.skip_moviepy)
    if not args.skip_memory:
        memory()


def compare(repeat: int, *, skip_moviepy: bool) -> None:
    """The composition rendered by each contender, ``repeat`` times (MoviePy once), and the ratios."""
    with tempfile.TemporaryDirectory(prefix="aura-bench-") as tmp:
        folder = Path(tmp)
        prepare(folder, SCENES, SCENE_SECONDS)
        print(
            f"composition: {SCENES} scenes x {SCENE_SECONDS:g} s from {SOURCE_SIZE[0]}x{SOURCE_SIZE[1]} "
            f"{SOURCE_FPS} fps clips, {WIDTH}x{HEIGHT} {FPS} fps, {CROSSFADE:g} s crossfades, "
            f"x264 veryfast CRF 23; {repeat} run(s) each, min / median / max"
        )
        names = ["aura", "floor"] + ([] if skip_moviepy else ["moviepy"])
        results: dict[str, list[Run]] = {name: [] for name in names}
        peaks: dict[str, float] = {}
        for round_ in range(repeat):
            for name in names:  # interleaved, so a busy moment of the machine hits every contender
                if name == "moviepy" and round_ > 0:
                    continue  # one MoviePy run is enough: it is an order of magnitude slower
                run = measure(contender(name, folder), memory=name == "moviepy")
                results[name].append(run)
                if name == "moviepy":
                    peaks[name] = run.peak
        check_outputs(folder, names)
        for name in names:  # peak memory: one observed run each, untimed
            if name not in peaks:
                peaks[name] = measure(contender(name, folder), memory=True).peak
        print("  render = the render alone (aura and MoviePy in a running Python; the floor is bare ffmpeg)")
        print("  process = the child process (aura and MoviePy: Python start-up and imports included)")
        for name in names:
            runs = results[name]
            print(
                f"  {name:8s} render {summary([r.render_wall for r in runs])} s"
                f"  process {summary([r.wall for r in runs])} s"
                f"  cpu {summary([r.cpu for r in runs])} s  peak {peaks[name]:7.1f} MiB"
            )
        aura, floor = results["aura"], results["floor"]
        print(
            "  aura / floor (medians): render time "
            f"{median(aura, 'render_wall') / median(floor, 'render_wall'):.2f}x; process time "
            f"{median(aura, 'wall') / median(floor, 'wall'):.2f}x; "
            f"cpu {median(aura, 'cpu') / median(floor, 'cpu'):.2f}x"
        )
        if "moviepy" in results:
            moviepy = results["moviepy"]
            print(
                f"  moviepy / aura: render time "
                f"{median(moviepy, 'render_wall') / median(aura, 'render_wall'):.1f}x; "
                f"process time {median(moviepy, 'wall') / median(aura, 'wall'):.1f}x; "
                f"peak memory {peaks['moviepy'] / peaks['aura']:.1f}x"
            )


def memory() -> None:
    """aura's peak memory (the process tree; the Python process alone; the largest ffmpeg) for 10 and
    100 scenes."""
    from _common import MIB, PEAKS

    print("memory vs scene count (aura, 1 s scenes, 640x360 from the same 1080p25 clips):")
    for scenes in (10, 100):
        with tempfile.TemporaryDirectory(prefix="aura-bench-") as tmp:
            folder = Path(tmp)
            prepare(folder, scenes, 1.0)
            extra = ("--scenes", str(scenes), "--seconds", "1", "--size", "640x360")
            run = measure(contender("aura", folder, *extra), memory=True)
            print(
                f"  {scenes:3d} scenes {run.wall:7.2f} s  cpu {run.cpu:7.2f} s  peak {run.peak:7.1f} MiB"
                f"  (Python {PEAKS['process'] / MIB:.1f} MiB, largest ffmpeg {PEAKS['largest_child'] / MIB:.1f} MiB,"
                f" {PEAKS['children']} at most)"
            )


if __name__ == "__main__":
    main()
