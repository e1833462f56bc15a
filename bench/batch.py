"""A batch of N briefs, in-process against a local Ray cluster, on latency-simulated fake providers.

Two workloads, each run as ``run_batch(..., concurrency=BRIEFS_AT_ONCE)``:

* ``wait``: every call only waits (an API round trip): the script streams a scene every SCRIPT
  seconds, a voice takes VOICE, a picture PICTURE, a segment SEGMENT, the assembly ASSEMBLY.
* ``cpu``: the same, and each segment render also does BURN seconds of pure-Python work in a
  thread (it holds the GIL, as CPU-bound Python in a provider does).

Executors: ``local`` (in-process, anyio), ``ray`` (a task per call asking the default 1 CPU), and
``ray 0.1 CPU`` (the fakes declare ``resources = {"num_cpus": 0.1}``, as a provider that only waits
on a network would; in the ``cpu`` workload the composer keeps 1 CPU per render). The local Ray cluster is started once (its start-up time is printed apart).

    .venv/bin/python bench/batch.py [--briefs 8] [--scenes 4] [--repeats 3] [--cpus 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from attrs import define
from loguru import logger

from aura_core import Pipeline, Segment, SegmentRequest
from aura_core.batch import find_briefs, run_batch
from aura_core.executor import Executor, InProcess
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

SCRIPT, VOICE, PICTURE, SEGMENT, ASSEMBLY = 0.05, 0.3, 0.5, 0.2, 0.1
BURN = 0.15
BRIEFS_AT_ONCE = 4
CONCURRENCY = 4  # calls at once per provider (per run)


def _spin(loops: int) -> int:
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total


def _calibrate(seconds: float) -> int:
    """Loops of ``_spin`` that take about ``seconds`` on one core of this machine."""
    started = time.perf_counter()
    _spin(200_000)
    per_loop = (time.perf_counter() - started) / 200_000
    return max(1, round(seconds / per_loop))


@define
class BenchComposer(FakeComposer):
    """FakeComposer whose segment render also spins ``loops`` of pure Python in a thread."""

    loops: int = 0
    resources: dict[str, float] | None = None

    async def render_scene(self, request: SegmentRequest) -> Segment:
        """Spin (GIL held), then write the stand-in segment."""
        if self.loops:
            await anyio.to_thread.run_sync(_spin, self.loops)
        return await FakeComposer.render_scene(self, request)


@define
class BenchVoice(FakeVoice):
    """FakeVoice with an optional ``resources`` request."""

    resources: dict[str, float] | None = None


@define
class BenchIllustrator(FakeIllustrator):
    """FakeIllustrator with an optional ``resources`` request."""

    resources: dict[str, float] | None = None


def providers(loops: int, resources: dict[str, float] | None, render: dict[str, float] | None) -> list[Any]:
    """The fakes of one workload; what voice and picture calls (``resources``) and segment renders
    (``render``) ask of Ray (None: the default, 1 CPU)."""
    return [
        FakeScriptWriter(latency=SCRIPT, concurrency=1),
        BenchVoice(latency=VOICE, concurrency=CONCURRENCY, resources=resources),
        BenchIllustrator(latency=PICTURE, concurrency=CONCURRENCY, resources=resources),
        BenchComposer(latency=SEGMENT, concurrency=CONCURRENCY, loops=loops, resources=render),
    ]


def write_briefs(folder: Path, briefs: int, scenes: int) -> list[Path]:
    """``briefs`` small briefs naming the fakes (all called ``fake``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(briefs):
        (folder / f"brief-{i:02d}.toml").write_text(
            f'[brief]\ntopic = "Bench topic {i}"\n\n[plan]\nduration = "{scenes * 6}s"\nscenes = {scenes}\n\n'
            '[render]\nresolution = "64x36"\nfps = 10\ncaptions = "off"\n',
            encoding="utf-8",
        )
    return find_briefs([folder])


async def one_batch(briefs: list[Path], executor: Executor, loops: int, resources: Any, render: Any) -> float:
    with tempfile.TemporaryDirectory() as runs:
        pipeline = Pipeline(providers(loops, resources, render), runs_dir=runs, executor=executor)
        started = time.perf_counter()
        results = await run_batch(pipeline, briefs, concurrency=BRIEFS_AT_ONCE)
        seconds = time.perf_counter() - started
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(f"bench: {failed[0].brief.name} failed: {failed[0].error}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--briefs", type=int, default=8)
    parser.add_argument("--scenes", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1, help="CPUs of the local Ray cluster")
    args = parser.parse_args()
    logger.remove()  # the runs' own logs go to their run directories

    import ray

    from aura_core.ray_executor import RayExecutor

    loops = _calibrate(BURN)
    started = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    startup = time.perf_counter() - started
    ray_executor = RayExecutor()
    ray_executor.start()

    calls = args.briefs * (3 * args.scenes + 1)
    print(
        f"batch of {args.briefs} briefs x {args.scenes} scenes ({calls} voice/picture/segment/assembly calls), "
        f"{BRIEFS_AT_ONCE} briefs at once; cores: {os.cpu_count()}; Ray cluster: {args.cpus} CPUs, "
        f"started in {startup:.1f}s; {args.repeats} runs (min / median / max)"
    )
    print(
        f"latencies: script {SCRIPT}/scene, voice {VOICE}, picture {PICTURE}, segment {SEGMENT}, "
        f"assembly {ASSEMBLY} s; cpu workload: +{BURN} s of Python per segment"
    )
    with tempfile.TemporaryDirectory() as folder:
        briefs = write_briefs(Path(folder), args.briefs, args.scenes)
        light = {"num_cpus": 0.1}
        cases: list[tuple[str, str, Executor, int, Any, Any]] = [
            ("wait", "local (in-process)", InProcess(), 0, None, None),
            ("wait", "ray, 1 CPU per call", ray_executor, 0, None, None),
            ("wait", "ray, 0.1 CPU per call", ray_executor, 0, light, light),
            ("cpu", "local (in-process)", InProcess(), loops, None, None),
            ("cpu", "ray, 1 CPU per call", ray_executor, loops, None, None),
            ("cpu", "ray, 0.1 CPU, render 1", ray_executor, loops, light, None),
        ]
        for workload, label, executor, spin, resources, render in cases:
            times = [
                anyio.run(one_batch, briefs, executor, spin, resources, render) for _ in range(args.repeats)
            ]
            median = statistics.median(times)
            print(
                f"  {workload:<5}{label:<24}{min(times):6.2f} / {median:6.2f} / {max(times):6.2f} s"
                f"   {args.briefs / median * 60:7.1f} briefs/min"
            )
    ray_executor.shutdown()
    ray.shutdown()


if __name__ == "__main__":
    main()
