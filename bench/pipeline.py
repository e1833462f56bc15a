"""Pipeline overlap: the streaming runner against its critical-path bound and a stage-by-stage run.

Fake providers with fixed latencies (seconds): the script streams one scene every SCRIPT,
a voice takes VOICE, a picture PICTURE, a segment SEGMENT and the assembly ASSEMBLY; every
provider takes CONCURRENCY calls at once. With that much concurrency no stage is throughput
bound, so the critical path is: the whole script, then the last scene's picture, its segment,
and the assembly:  bound = n × SCRIPT + max(VOICE, PICTURE) + SEGMENT + ASSEMBLY.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import anyio
from loguru import logger

from aura_core import Pipeline, parse_brief
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

SCRIPT, VOICE, PICTURE, SEGMENT, ASSEMBLY, CONCURRENCY = 0.2, 0.3, 0.5, 0.2, 0.2, 4


def providers() -> list[object]:
    return [
        FakeScriptWriter(latency=SCRIPT, concurrency=CONCURRENCY),
        FakeVoice(latency=VOICE, concurrency=CONCURRENCY),
        FakeIllustrator(latency=PICTURE, concurrency=CONCURRENCY),
        FakeComposer(latency=SEGMENT, concurrency=CONCURRENCY),
    ]


def bound(scenes: int) -> float:
    """The critical path when every stage streams."""
    return scenes * SCRIPT + max(VOICE, PICTURE) + SEGMENT + ASSEMBLY


def stage_by_stage_model(scenes: int) -> float:
    """What running one stage after another must take."""
    waves = math.ceil(scenes / CONCURRENCY)
    return scenes * SCRIPT + waves * (VOICE + PICTURE + SEGMENT) + ASSEMBLY


async def one_run(scenes: int, streaming: bool, folder: Path) -> float:
    spec = parse_brief(
        {
            "brief": {"topic": "bench"},
            "plan": {"duration": f"{scenes * 8}s", "scenes": scenes},
            "render": {"resolution": "64x36", "fps": 10},
        },
        None,
    )
    started = time.perf_counter()
    await Pipeline(providers()).run(spec, run_dir=folder, streaming=streaming)
    return time.perf_counter() - started


def measure(scenes: int, repeats: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"streaming": [], "stage-by-stage": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            for mode, streaming in (("streaming", True), ("stage-by-stage", False)):
                results[mode].append(anyio.run(one_run, scenes, streaming, Path(tmp) / f"{mode}-{i}"))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenes", type=int, nargs="+", default=[12, 24])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    logger.remove()
    print(
        f"pipeline overlap: script {SCRIPT}s/scene, voice {VOICE}s, picture {PICTURE}s, segment {SEGMENT}s, "
        f"assembly {ASSEMBLY}s, concurrency {CONCURRENCY}; {args.repeats} runs each (min / median / max)"
    )
    print(f"{'scenes':>6}  {'mode':<15}{'min':>7}{'median':>8}{'max':>7}   ratio to bound")
    for scenes in args.scenes:
        results = measure(scenes, args.repeats)
        limit = bound(scenes)
        print(f"{scenes:>6}  {'bound':<15}{limit:>7.2f}{limit:>8.2f}{limit:>7.2f}   1.00")
        for mode, times in results.items():
            median = statistics.median(times)
            print(
                f"{scenes:>6}  {mode:<15}{min(times):>7.2f}{median:>8.2f}{max(times):>7.2f}   {median / limit:.2f}"
            )
        speedup = statistics.median(results["stage-by-stage"]) / statistics.median(results["streaming"])
        print(
            f"{scenes:>6}  streaming is {speedup:.2f}x faster than stage-by-stage "
            f"(model: {stage_by_stage_model(scenes):.2f}s stage-by-stage)"
        )


if __name__ == "__main__":
    main()
