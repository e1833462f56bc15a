"""Runner overhead: a 1,000-scene run with instant fake providers, and the cold start of ``aura plugins``.

Runner time per scene = (wall time of ``Pipeline.run`` - time spent inside provider methods) / scenes.
Provider time is measured two ways: summed inside the run (each fake method is timed; with
latency 0 the fakes never yield, so calls do not overlap and the sum is real time), and by
calling the same fakes alone on equivalent requests outside the pipeline.
``--profile`` adds a cProfile of one run, grouped by where the time goes.

Cold start: ``aura plugins`` as a subprocess, repeated (like hyperfine), against ``python -c pass``
and ``import aura_core``; then ``python -X importtime`` attributes the import time to each plugin.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
from _common import header, row, spread
from attrs import define, evolve
from loguru import logger

from aura_core import (
    ImageRequest,
    Pipeline,
    RenderSpec,
    Scene,
    SegmentRequest,
    SpeechRequest,
    VoiceSpec,
    parse_brief,
)
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

AURA = Path(sys.executable).with_name("aura")
SPENT: dict[str, float] = defaultdict(float)
CPU: dict[str, float] = defaultdict(float)


def _timed(kind: str, started: float, cpu_started: float | None = None) -> None:
    SPENT[kind] += time.perf_counter() - started
    if cpu_started is not None:
        CPU[kind] += time.process_time() - cpu_started


@define
class TimedWriter(FakeScriptWriter):
    """The fake script writer, with the time inside each step of its stream summed."""

    async def write_script(self, request: Any) -> AsyncIterator[Any]:
        """Stream the fake script; only the writer's own steps are timed, not the consumer's."""
        stream = FakeScriptWriter.write_script(self, request).__aiter__()
        index = 0
        while True:
            started, cpu = time.perf_counter(), time.process_time()
            try:
                draft = await stream.__anext__()
            except StopAsyncIteration:
                _timed("llm", started, cpu)
                return
            _timed("llm", started, cpu)
            # Every scene of a real script differs; the fake repeats ten narrations, which the cache would dedupe.
            yield evolve(draft, narration=f"{draft.narration} Part {index}.")
            index += 1


@define
class TimedVoice(FakeVoice):
    """The fake voice, timed."""

    async def synthesize(self, request: Any) -> Any:
        """Write the tone; add the time to the tts total."""
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return await FakeVoice.synthesize(self, request)
        finally:
            _timed("tts", started, cpu)


@define
class TimedIllustrator(FakeIllustrator):
    """The fake illustrator, timed."""

    async def generate(self, request: Any) -> Any:
        """Write the gradient; add the time to the image total."""
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return await FakeIllustrator.generate(self, request)
        finally:
            _timed("image", started, cpu)


@define
class TimedComposer(FakeComposer):
    """The fake composer, timed."""

    async def render_scene(self, request: Any) -> Any:
        """Write the stand-in segment; add the time to the composer total."""
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return await FakeComposer.render_scene(self, request)
        finally:
            _timed("composer", started, cpu)

    async def assemble(self, request: Any) -> Any:
        """Concatenate the stand-ins; add the time to the composer total."""
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return await FakeComposer.assemble(self, request)
        finally:
            _timed("composer", started, cpu)


def spec_for(scenes: int) -> Any:
    """A brief of ``scenes`` scenes at 64x36, 10 fps, no captions (the fakes' files stay tiny)."""
    return parse_brief(
        {
            "brief": {"topic": "overhead"},
            "plan": {"duration": f"{scenes * 4}s", "scenes": scenes},
            "render": {"resolution": "64x36", "fps": 10, "captions": "off"},
        },
        None,
    )


async def one_run(scenes: int, folder: Path) -> float:
    """Wall seconds of one fresh run (providers' time collected in ``SPENT`` and ``CPU``; the run's CPU in ``CPU['run']``)."""
    providers = [TimedWriter(), TimedVoice(), TimedIllustrator(), TimedComposer()]
    started, cpu = time.perf_counter(), time.process_time()
    await Pipeline(providers).run(spec_for(scenes), run_dir=folder)
    CPU["run"] = time.process_time() - cpu
    return time.perf_counter() - started


def measured_run(scenes: int, folder: Path) -> tuple[float, float, float]:
    """One run: (wall seconds, seconds inside providers, runner CPU ms per scene)."""
    SPENT.clear()
    CPU.clear()
    wall = anyio.run(one_run, scenes, folder)
    provider_cpu = sum(v for k, v in CPU.items() if k != "run")
    return wall, sum(SPENT.values()), (CPU["run"] - provider_cpu) / scenes * 1000


async def fakes_alone(scenes: int, folder: Path) -> float:
    """Seconds the plain fakes take for the same number of calls, called directly (no pipeline)."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = spec_for(scenes)
    writer, voice, illustrator, composer = FakeScriptWriter(), FakeVoice(), FakeIllustrator(), FakeComposer()
    render = RenderSpec(width=64, height=36, resolution="64x36", fps=10, captions="off")
    from aura_core import ScriptRequest

    started = time.perf_counter()
    request = ScriptRequest(
        brief=spec.brief, plan=spec.plan, scene_count=scenes, word_target=scenes * 10, language="en"
    )
    drafts = [d async for d in writer.write_script(request)]
    for i, draft in enumerate(drafts):
        speech = await voice.synthesize(
            SpeechRequest(
                text=draft.narration, voice=VoiceSpec(), language="en", out_path=folder / f"{i}.wav"
            )
        )
        picture = await illustrator.generate(
            ImageRequest(
                prompt=draft.visual_prompt,
                negative_prompt="",
                width=64,
                height=36,
                style="documentary",
                seed=i,
                out_path=folder / f"{i}.png",
                heading=draft.heading,
            )
        )
        scene = Scene(
            index=i,
            heading=draft.heading,
            narration=draft.narration,
            visual_prompt=draft.visual_prompt,
            start=float(i),
            duration=speech.duration,
            speech_duration=speech.duration,
        )
        await composer.render_scene(
            SegmentRequest(
                scene=scene,
                speech=speech,
                picture=picture,
                next_picture=None,
                render=render,
                out_path=folder / f"{i}.seg",
                scene_count=scenes,
            )
        )
    return time.perf_counter() - started


# -- profile ---------------------------------------------------------------------------------------

#: Buckets for the profile, by the file a function lives in (first match wins).
BUCKETS: list[tuple[str, Callable[[str, str], bool]]] = [
    ("fake providers (aura_core/testing)", lambda f, n: "aura_core/testing" in f or "overhead.py" in f),
    ("fsync (store.commit, atomic writes)", lambda f, n: n in ("<built-in method posix.fsync>",)),
    ("sqlite (journal rows)", lambda f, n: "sqlite3" in n or "sqlite3" in f),
    ("sha256 / file digests", lambda f, n: "hashlib" in n or "_hashlib" in n or "hashlib" in f),
    (
        "file system (open, rename, stat, mkdir)",
        lambda f, n: "posix" in n or "io.open" in n or "pathlib" in f,
    ),
    ("json (keys, journal, run.log events)", lambda f, n: "/json/" in f or "_json" in n),
    ("loguru (run.log)", lambda f, n: "loguru" in f),
    ("PIL (check_picture)", lambda f, n: "/PIL/" in f),
    ("wave (check_speech, fakes)", lambda f, n: "wave.py" in f or "chunk.py" in f),
    ("attrs / cattrs (evolve, unstructure)", lambda f, n: "/attr/" in f or "/attrs/" in f or "cattrs" in f),
    ("stamina / tenacity (retry context)", lambda f, n: "stamina" in f or "tenacity" in f),
    ("anyio / asyncio event loop", lambda f, n: "/anyio/" in f or "/asyncio/" in f or "selectors" in f),
    ("aura_core (runner, calls, store, events...)", lambda f, n: "aura_core" in f),
]


def profile(scenes: int, folder: Path, top: int) -> None:
    """cProfile one run; print the time by bucket (self time) and the costliest core functions."""
    SPENT.clear()
    profiler = cProfile.Profile()
    profiler.enable()
    anyio.run(one_run, scenes, folder)
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    buckets: dict[str, float] = defaultdict(float)
    for (filename, _line, name), (_cc, _nc, tottime, _cum, _callers) in raw.items():
        label = next((b for b, test in BUCKETS if test(filename, name)), "other (stdlib, builtins)")
        buckets[label] += tottime
    print(
        f"\nprofile of one {scenes}-scene run under cProfile ({total:.2f} s self time in all; profiling slows it):"
    )
    for label, seconds in sorted(buckets.items(), key=lambda kv: -kv[1]):
        print(
            f"  {label:<46}{seconds:>7.2f} s  {seconds / total:>5.1%}  {seconds / scenes * 1000:>6.3f} ms/scene"
        )
    print("\ncostliest functions by cumulative time (ms per scene), aura_core and the stdlib it calls:")
    rows = []
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _callers) in raw.items():
        if "aura_core/src/aura_core" in filename and "testing" not in filename:
            short = filename.split("aura_core/src/")[-1]
            rows.append((cumtime, tottime, ncalls, f"{short}:{line} {name}"))
        elif name in ("<built-in method posix.fsync>", "<method 'execute' of 'sqlite3.Connection' objects>"):
            rows.append((cumtime, tottime, ncalls, name))
    rows.sort(reverse=True)
    print(f"  {'cumulative':>10} {'self':>8} {'calls':>8}  function")
    for cumtime, tottime, ncalls, label in rows[:top]:
        print(f"  {cumtime / scenes * 1000:>10.3f} {tottime / scenes * 1000:>8.3f} {ncalls:>8}  {label}")
    print("\ncostliest functions by self time (ms per scene), anywhere:")
    selfs = sorted(
        (
            (v[2], v[1], f"{k[0].split('site-packages/')[-1].split('src/')[-1]}:{k[1]} {k[2]}")
            for k, v in raw.items()
        ),
        reverse=True,
    )
    for tottime, ncalls, label in selfs[:top]:
        print(f"  {tottime / scenes * 1000:>8.3f} {ncalls:>8}  {label}")


# -- cold start ------------------------------------------------------------------------------------


def time_command(argv: list[str], repeats: int) -> list[float]:
    """Wall seconds of ``argv`` run ``repeats`` times after one warm-up (hyperfine-like)."""
    subprocess.run(argv, capture_output=True, check=True)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def import_profile() -> tuple[float, float, dict[str, tuple[float, list[tuple[float, str]]]]]:
    """``-X importtime`` of ``aura plugins``: all import seconds, the core's, and per plugin package
    (seconds, its heaviest third-party packages).

    Each plugin is charged with what its import pulled in first; a package another plugin (or the
    core) imported earlier costs it nothing, so the order of loading shifts cost between plugins.
    """
    out = subprocess.run(
        [sys.executable, "-X", "importtime", str(AURA), "plugins"], capture_output=True, text=True, check=True
    ).stderr
    pattern = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")
    total = core = 0.0
    plugins: dict[str, tuple[float, list[tuple[float, str]]]] = {}
    subtree: list[tuple[float, str]] = []  # importtime prints a module's imports before the module
    for match in map(pattern.match, out.splitlines()):
        if match is None:
            continue
        seconds, level, name = int(match[2]) / 1e6, len(match[3]) // 2, match[4]
        if level > 0:
            subtree.append((seconds, name))
            continue
        total += seconds
        top = name.split(".")[0]
        if top == "aura_core":
            core += seconds
        elif top.startswith("aura_plugins_") or "plugin" in top:
            own, heavy = plugins.get(top, (0.0, []))
            by_package: dict[str, float] = defaultdict(float)
            for s, n in subtree:
                by_package[n.split(".")[0]] = max(by_package[n.split(".")[0]], s)  # outermost import
            third = [
                (s, n) for n, s in by_package.items() if n != top and not n.startswith("_") and s >= 0.01
            ]
            plugins[top] = (own + seconds, heavy + third)
        subtree = []
    return total, core, plugins


def cold_start(repeats: int) -> None:
    """Print the cold-start table and the per-plugin import costs."""
    header("cold start: `aura plugins` as a subprocess (goal < 0.5 s)", "aura plugins", repeats)
    baseline = time_command([sys.executable, "-c", "pass"], repeats)
    core = time_command([sys.executable, "-c", "import aura_core"], repeats)
    only_core = time_command([str(AURA), "plugins", "--help"], repeats)
    full = time_command([str(AURA), "plugins"], repeats)
    median = spread(full)[1]
    row("python -c pass", baseline, "s")
    row("python -c 'import aura_core'", core, "s")
    row("aura plugins --help (CLI, no plugin loaded)", only_core, "s")
    row(
        "aura plugins",
        full,
        "s",
        f"{median / 0.5:.2f}x the 0.5 s goal: {'met' if median < 0.5 else 'NOT met'}",
    )
    total, core_seconds, plugins = import_profile()
    print(
        f"\n  -X importtime of `aura plugins`: {total:.2f} s of imports at top level, aura_core (with the CLI) {core_seconds:.2f} s;"
        "\n  per plugin package, its modules' import time and the largest import of each other package under it (>= 10 ms, nested ones overlap):"
    )
    for plugin, (own, heavy) in sorted(plugins.items(), key=lambda kv: -kv[1][0]):
        names = ", ".join(f"{name} {sec * 1000:.0f} ms" for sec, name in sorted(heavy, reverse=True)[:6])
        print(f"    {plugin:<26}{own * 1000:>6.0f} ms   {names}")


#: The core change ``what_if`` simulates (the runner fixes it used to simulate are in the core since f6eea2b).
WHAT_IF = (("fsync", "the store does not fsync"),)


def what_if(
    scenes: int, folder: Path, upto: str, repeats: int = 1, profiled: bool = False
) -> list[tuple[float, float]]:
    """Runner ms per scene of one run with ``os.fsync`` doing nothing, in this process only.

    Returns (runner wall ms per scene, runner CPU ms per scene) of each run.
    """
    import os

    assert upto == "fsync"
    saved = os.fsync
    os.fsync = lambda fd: None
    try:
        if profiled:
            profile(scenes, folder, 25)
            return []
        results = []
        for i in range(repeats):
            wall, inside, cpu = measured_run(scenes, folder / str(i))
            results.append(((wall - inside) / scenes * 1000, cpu))
        return results
    finally:
        os.fsync = saved


def main(argv: list[str] | None = None) -> None:
    """Print the overhead table (and the profile with ``--profile``) and the cold-start table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also cProfile one run")
    parser.add_argument("--what-if", action="store_true", help="also time runs with core fixes simulated")
    parser.add_argument("--profile-what-if", action="store_true", help="also profile a run with them")
    parser.add_argument("--top", type=int, default=25, help="functions listed by the profile")
    parser.add_argument("--cold-repeats", type=int, default=10)
    parser.add_argument("--skip-cold", action="store_true")
    args = parser.parse_args(argv)
    logger.remove()
    walls, providers, runner, runner_cpu, alone = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            wall, inside, cpu = measured_run(args.scenes, Path(tmp) / f"run-{i}")
            walls.append(wall)
            providers.append(inside)
            runner.append((wall - inside) / args.scenes * 1000)
            runner_cpu.append(cpu)
            alone.append(anyio.run(fakes_alone, args.scenes, Path(tmp) / f"alone-{i}"))
        header(
            f"overhead: {args.scenes}-scene run, instant fake providers (latency 0, 64x36), "
            "goal < 1 ms runner time per scene",
            f"python bench/overhead.py --scenes {args.scenes}",
            args.repeats,
        )
        row("wall time of the run", walls, "s")
        row("time inside provider methods (in the run)", providers, "s")
        row("the same fakes called alone (no pipeline)", alone, "s")
        median = spread(runner)[1]
        row(
            "runner time per scene (wall - providers)",
            runner,
            "ms",
            f"{median:.1f}x the 1 ms goal: {'met' if median < 1 else 'NOT met'}",
            ".3f",
        )
        row("runner CPU per scene (process - providers)", runner_cpu, "ms", "", ".3f")
        if args.what_if:
            print("  what if (core changes simulated in this process only), runner wall / CPU per scene:")
            for patch, label in WHAT_IF:
                results = what_if(args.scenes, Path(tmp) / f"what-if-{patch}", patch, args.repeats)
                wall_ms = [w for w, _c in results]
                row(f"  {label}", wall_ms, "ms", f"{spread(wall_ms)[1]:.1f}x the goal", ".3f")
                row("    CPU", [c for _w, c in results], "ms", "", ".3f")
        if args.profile:
            profile(args.scenes, Path(tmp) / "profiled", args.top)
        if args.profile_what_if:
            print("\nthe same profile with every what-if change applied:")
            what_if(args.scenes, Path(tmp) / "profiled-what-if", WHAT_IF[-1][0], profiled=True)
    if not args.skip_cold:
        print()
        cold_start(args.cold_repeats)


if __name__ == "__main__":
    main()
