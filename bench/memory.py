"""Memory: peak RSS of a 10-scene and a 100-scene 1080p run through the real pipeline and ffmpeg composer.

Each run is a child process (this script with ``--child``) running ``Pipeline.run`` with the core's
fake script writer and voice, the ``cards`` illustrator of aura-plugins-local (real 1920x1080 PNG
cards drawn with Pillow) and the real ``FfmpegComposer`` of aura-plugins-ffmpeg (segments with motion
and crossfades, then assembly with narration, loudness and burnt-in captions). Scenes are about
2 s each (the fake voice reads their 8 words at rate 2.0). Peak RSS is the child plus all its
children (ffmpeg included), sampled every 20 ms with psutil; a child caught between fork and exec
(it reports the parent's pages as its own) is not counted.
Goal: the 100-scene peak within 20 % of the 10-scene peak, and both under 400 MB.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
from _common import MIB, PEAKS, header, peak_rss_of, row, spread

LIMIT_MB = 400.0


def exec_tree_rss(process: psutil.Process) -> tuple[int, int, int, int]:
    """Like ``_common.tree_rss`` (whole tree, process alone, largest child, child count), but a child
    still running the parent's program is left out: between (v)fork and exec a child shares the
    parent's pages and reports the parent's RSS, which summing would count twice."""
    try:
        members = [process, *process.children(recursive=True)]
        own = process.cmdline()
    except psutil.Error:
        return 0, 0, 0, 0
    sizes = []
    for i, member in enumerate(members):
        try:
            if i and member.cmdline() == own:
                continue
            sizes.append(member.memory_info().rss)
        except psutil.Error:
            continue
    if not sizes:
        return 0, 0, 0, 0
    return sum(sizes), sizes[0], max(sizes[1:], default=0), len(sizes) - 1


def child(scenes: int, folder: Path, fps: int) -> None:
    """Run the pipeline once in this process and write what it made to ``folder/result.json``."""
    import anyio
    from attrs import define, evolve
    from loguru import logger

    from aura_core import Pipeline, parse_brief
    from aura_core.testing import FakeScriptWriter, FakeVoice
    from aura_plugins_ffmpeg.composer import FfmpegComposer
    from aura_plugins_local.cards import CardsIllustrator

    logger.remove()
    spec = parse_brief(
        {
            "brief": {"topic": "Memory"},
            "plan": {"duration": f"{scenes * 2}s", "scenes": scenes},
            "voice": {"rate": 2.0},  # the fake voice reads each scene's 8 words in about 1.6 s
            "render": {"resolution": "1920x1080", "fps": fps},
            "providers": {"llm": ["fake"], "tts": ["fake"], "image": ["cards"], "composer": ["ffmpeg"]},
        },
        None,
    )

    @define
    class UniqueWriter(FakeScriptWriter):
        """The fake writer with every narration distinct, as in a real script (the fake repeats ten)."""

        async def write_script(self, request: Any) -> AsyncIterator[Any]:
            """Stream the fake script with the scene number added to each narration."""
            index = 0
            async for draft in FakeScriptWriter.write_script(self, request):
                yield evolve(draft, narration=f"{draft.narration} Part {index}.")
                index += 1

    providers = [UniqueWriter(), FakeVoice(), CardsIllustrator(), FfmpegComposer()]
    video = anyio.run(lambda: Pipeline(providers).run(spec, run_dir=folder / "run"))
    result = {
        "duration": video.duration,
        "width": video.width,
        "height": video.height,
        "bytes": video.size_bytes,
    }
    (folder / "result.json").write_text(json.dumps(result))


def main(argv: list[str] | None = None) -> None:
    """Print peak RSS per scene count, the 100-vs-10 ratio and the verdict."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fps", type=int, default=10, help="frames per second of the render (default 10)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child, args.folder, args.fps)
        return
    peaks: dict[int, list[float]] = {}
    walls: dict[int, list[float]] = {}
    made: dict[int, dict[str, float]] = {}
    parts: dict[int, dict[str, list[float]]] = {}
    failures: dict[int, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for scenes in args.scenes:
            for i in range(args.repeats):
                folder = Path(tmp) / f"{scenes}-{i}"
                folder.mkdir()
                argv_child = [sys.executable, __file__, "--child", str(scenes), "--folder", str(folder)]
                wall, peak, code = peak_rss_of(
                    [*argv_child, "--fps", str(args.fps)], stderr=folder / "stderr.txt", tree=exec_tree_rss
                )
                if code != 0:  # still report the peak up to the failure, and why it failed
                    lines = (folder / "stderr.txt").read_text().strip().splitlines() or ["(no output)"]
                    failures[scenes] = f"run {i + 1} failed (exit {code}): {lines[-1][:300]}"
                else:
                    made[scenes] = json.loads((folder / "result.json").read_text())
                peaks.setdefault(scenes, []).append(peak / MIB)
                walls.setdefault(scenes, []).append(wall)
                for part, value in PEAKS.items():
                    scale = 1 if part == "children" else MIB
                    parts.setdefault(scenes, {}).setdefault(part, []).append(value / scale)
    header(
        f"memory: peak RSS (process + children) of a 1920x1080 {args.fps} fps run, fake script and voice, "
        "cards pictures, ffmpeg composer; goal: equal within 20 %, under 400 MB",
        f"python bench/memory.py --fps {args.fps}",
        args.repeats,
    )
    for scenes in args.scenes:
        video = made.get(scenes)
        length = f"{video['duration']:.0f} s video" if video else "FAILED"
        row(f"{scenes} scenes ({length}): wall time", walls[scenes], "s")
        if scenes in failures:
            print(f"    {failures[scenes]}")
        under = spread(peaks[scenes])[2] * MIB / 1e6 < LIMIT_MB
        row(
            f"{scenes} scenes: peak RSS",
            peaks[scenes],
            "MiB",
            f"max {spread(peaks[scenes])[2] * MIB / 1e6:.0f} MB: {'under' if under else 'OVER'} 400 MB",
            ".0f",
        )
        row(f"{scenes} scenes: peak of the Python process alone", parts[scenes]["process"], "MiB", "", ".0f")
        row(
            f"{scenes} scenes: peak of its largest child (ffmpeg)",
            parts[scenes]["largest_child"],
            "MiB",
            "",
            ".0f",
        )
        row(f"{scenes} scenes: most children at once", parts[scenes]["children"], "", "", ".0f")
    if len(args.scenes) >= 2:
        small, large = spread(peaks[args.scenes[0]])[1], spread(peaks[args.scenes[-1]])[1]
        ratio = large / small
        worst = max(max(p) for p in peaks.values()) * MIB / 1e6
        met = abs(ratio - 1) <= 0.2 and worst < LIMIT_MB and not failures
        print(
            f"  median peak {args.scenes[-1]} / {args.scenes[0]} scenes: {ratio:.2f} (goal 0.80-1.20); "
            f"largest peak {worst:.0f} MB (goal < 400): {'met' if met else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
