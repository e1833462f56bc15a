"""The streaming tail: slow providers against the real ffmpeg composer.

Fake providers that wait (script SCRIPT s a scene, voice VOICE s, picture PICTURE s, CONCURRENCY
calls at once each) feed the real ``FfmpegComposer`` at a tiny size (64x36, 10 fps, no captions),
so the composer's audio work is what differs between runs. Three runs per row:

- slow: the run as it is; the tail is the time from the last provider result (voice or picture)
  to the end of the run (what is left: the last segment, the soundtrack's end, the assembly);
- instant: the same run with every wait at 0 (the composer's own work);
- chain: the latency chain, n × SCRIPT + max(VOICE, PICTURE), when the last result can arrive.

The goal: slow ≤ 1.15 × max(instant, chain), and a tail ≤ 0.5 s for 30 s of audio, ≤ 1 s for 10 minutes.
The soundtrack's ffmpeg passes are timed around ``binary.run``: streamed (the start measured, then one
encoder fed scene by scene), or in one piece (mix, limiter trials, encode) when it is not streamed
or the streamed one is dropped.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import attrs
from _common import header, row, spread
from attrs import define
from loguru import logger

from aura_core import Pipeline, parse_brief
from aura_core.testing import FakeIllustrator, FakeScriptWriter, FakeVoice
from aura_plugins_ffmpeg import binary
from aura_plugins_ffmpeg.composer import FfmpegComposer

SCRIPT, VOICE, PICTURE, CONCURRENCY = 0.4, 0.8, 1.2, 16
#: When the last voice or picture came back, when the last voice did, and when the soundtrack was
#: made (mixed in one piece or streamed and finished), in the current run (perf_counter seconds).
LAST: list[float] = [0.0]
LAST_VOICE: list[float] = [0.0]
SOUNDTRACK: list[float] = [0.0]
#: The passes' wall seconds over the slow runs of one row.
TIMES: dict[str, list[float]] = {}


#: Wall seconds of the soundtrack's ffmpeg passes in the current run, by what each pass does.
PASSES: dict[str, float] = {}
SOUNDTRACK_PASSES = (
    "measure the soundtrack's start",
    "encode the streamed soundtrack",
    "mix the soundtrack",
    "measure the limited soundtrack",
    "encode the soundtrack",
)
_run = binary.run


async def _timed_run(*args: Any, what: str, **kwargs: Any) -> str:
    """``binary.run``, timing the soundtrack's passes (the composer calls it through the module)."""
    started = time.perf_counter()
    try:
        return await _run(*args, what=what, **kwargs)
    finally:
        if what in SOUNDTRACK_PASSES:
            PASSES[what] = PASSES.get(what, 0.0) + time.perf_counter() - started


@define
class StampedVoice(FakeVoice):
    """The fake voice, noting when each speech comes back."""

    async def synthesize(self, request: Any) -> Any:
        speech = await super().synthesize(request)
        LAST[0] = LAST_VOICE[0] = max(LAST[0], time.perf_counter())
        return speech


@define
class StampedIllustrator(FakeIllustrator):
    """The fake illustrator, noting when each picture comes back."""

    async def generate(self, request: Any) -> Any:
        picture = await super().generate(request)
        LAST[0] = max(LAST[0], time.perf_counter())
        return picture


@attrs.frozen
class StampedComposer(FfmpegComposer):
    """The real composer, noting when the soundtrack is made (streamed or in one piece)."""

    async def mix_soundtrack(self, request: Any) -> Any:
        made = await super().mix_soundtrack(request)
        SOUNDTRACK[0] = time.perf_counter()
        return made

    @asynccontextmanager
    async def stream_soundtrack(self, start: Any) -> AsyncIterator[Any]:
        async with super().stream_soundtrack(start) as stream:
            finish = stream.finish

            async def stamped(request: Any) -> Any:
                made = await finish(request)
                SOUNDTRACK[0] = time.perf_counter()
                return made

            stream.finish = stamped
            yield stream


def spec_for(scenes: int, seconds: float) -> Any:
    """``scenes`` scenes of about ``seconds`` of speech in all, at 64x36, 10 fps, no captions."""
    return parse_brief(
        {
            "brief": {"topic": "tail"},
            "plan": {"duration": f"{seconds:g}s", "scenes": scenes},
            "render": {"resolution": "64x36", "fps": 10, "captions": "off"},
        },
        None,
    )


async def one_run(scenes: int, seconds: float, slow: bool, folder: Path) -> tuple[float, float, float]:
    """(wall seconds, seconds after the last provider result, seconds from the last voice to the
    soundtrack) of one fresh run."""
    factor = 1.0 if slow else 0.0
    providers = [
        FakeScriptWriter(latency=SCRIPT * factor, concurrency=CONCURRENCY),
        StampedVoice(latency=VOICE * factor, concurrency=CONCURRENCY),
        StampedIllustrator(latency=PICTURE * factor, concurrency=CONCURRENCY),
        StampedComposer(),
    ]
    LAST[0] = LAST_VOICE[0] = SOUNDTRACK[0] = 0.0
    PASSES.clear()
    started = time.perf_counter()
    await Pipeline(providers).run(spec_for(scenes, seconds), run_dir=folder)
    ended = time.perf_counter()
    if slow:
        for what in SOUNDTRACK_PASSES:
            TIMES.setdefault(what, []).append(PASSES.get(what, 0.0))
    return ended - started, ended - LAST[0], SOUNDTRACK[0] - LAST_VOICE[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenes", type=int, default=10)
    parser.add_argument("--seconds", type=float, nargs="+", default=[30.0, 600.0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    logger.remove()
    binary.run = _timed_run  # type: ignore[assignment]
    header(
        f"streaming tail: {args.scenes} scenes, script {SCRIPT}s/scene, voice {VOICE}s, picture {PICTURE}s, "
        f"concurrency {CONCURRENCY}, real ffmpeg composer at 64x36",
        "python bench/tail.py",
        args.repeats,
    )
    chain = args.scenes * SCRIPT + max(VOICE, PICTURE)
    with tempfile.TemporaryDirectory() as tmp:
        for seconds in args.seconds:
            TIMES.clear()
            runs: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
            for i in range(args.repeats):
                for slow in (False, True):
                    folder = Path(tmp) / f"{seconds:g}-{slow}-{i}"
                    runs[slow].append(anyio.run(one_run, args.scenes, seconds, slow, folder))
            instant = [run[0] for run in runs[False]]
            slow_walls = [run[0] for run in runs[True]]
            tails = [run[1] for run in runs[True]]
            sound_tails = [run[2] for run in runs[True]]
            print(f"{seconds:g} s of audio:")
            row("instant providers", instant, "s")
            row("latency chain", [chain], "s")
            row("slow providers", slow_walls, "s")
            bound = max(spread(instant)[1], chain)
            goal = "goal <= 0.5 s" if seconds <= 60 else "goal <= 1 s"
            row("tail after the last provider result", tails, "s", goal)
            row("soundtrack made, after the last voice", sound_tails, "s")
            for what in SOUNDTRACK_PASSES:
                row(f"  of which: {what}", TIMES[what], "s")
            row("slow / max(instant, chain)", [w / bound for w in slow_walls], "x", "goal <= 1.15")


if __name__ == "__main__":
    main()
