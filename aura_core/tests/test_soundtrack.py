"""The soundtrack stage: mixed as soon as every scene is voiced when the composers can, reused on resume,
skipped for composers without ``mix_soundtrack`` (the core's own unit tests, on fake providers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from attrs import define, field

from aura_core import (
    Event,
    ItemDone,
    ItemStarted,
    Pipeline,
    Segment,
    SegmentRequest,
    Soundtrack,
    SoundtrackRequest,
    StageStarted,
)
from aura_core.dryrun import dry_run
from aura_core.testing import FakeComposer, FakeIllustrator, FakeMixingComposer, FakeScriptWriter, FakeVoice

from .conftest import make_spec

pytestmark = pytest.mark.anyio


def providers(composer: Any) -> list[Any]:
    return [FakeScriptWriter(), FakeVoice(), FakeIllustrator(), composer]


def composer_calls(run_dir: Path) -> int:
    report = json.loads((run_dir / "report.json").read_text())
    return sum(p["calls"] for p in report["providers"]["composer"])


async def test_soundtrack_is_mixed_while_segments_render_and_handed_to_assembly(tmp_path: Path) -> None:
    """With slow segments, the soundtrack call starts before the last segment is done; the video
    carries the soundtrack the mixer made, with every scene's narration at that scene's start."""
    events: list[Event] = []
    composer = FakeMixingComposer(render_latency=0.05)
    run_dir = tmp_path / "run"
    video = await Pipeline(providers(composer)).run(make_spec(), run_dir=run_dir, on_event=events.append)
    started = [i for i, e in enumerate(events) if isinstance(e, ItemStarted) and e.stage == "soundtrack"]
    segments_done = [i for i, e in enumerate(events) if isinstance(e, ItemDone) and e.stage == "segments"]
    assert len(started) == 1
    assert started[0] < segments_done[-1]
    report = json.loads((run_dir / "report.json").read_text())
    starts = " ".join(f"{s['start']:.3f}" for s in report["scenes"])
    end = report["scenes"][-1]["start"] + report["scenes"][-1]["duration"]
    assert video.path.read_text().endswith(f"soundtrack {end:.3f}s at {starts}\n")
    assert composer_calls(run_dir) == len(report["scenes"]) + 2


@define
class SegmentsWaitForSoundtrack(FakeMixingComposer):
    """One segment at a time, and each waits (up to 2 s) for the soundtrack to be mixed: it is mixed
    only if its call does not queue for the slot the waiting segment holds."""

    mixed: Any = None
    waits: list[bool] = field(factory=list)

    async def render_scene(self, request: SegmentRequest) -> Segment:
        with anyio.move_on_after(2):
            await self.mixed.wait()
        self.waits.append(self.mixed.is_set())
        return await super().render_scene(request)

    async def mix_soundtrack(self, request: SoundtrackRequest) -> Soundtrack:
        made = await super().mix_soundtrack(request)
        self.mixed.set()
        return made


async def test_soundtrack_does_not_wait_for_a_composer_slot(tmp_path: Path) -> None:
    """The soundtrack call runs beside the segments instead of queueing behind them for one of the
    composer's ``concurrency`` slots: with a single slot held by a segment waiting for it, it is
    still mixed, and every segment saw it."""
    composer = SegmentsWaitForSoundtrack(concurrency=1, mixed=anyio.Event())
    await Pipeline(providers(composer)).run(make_spec(), run_dir=tmp_path / "run")
    assert composer.waits and all(composer.waits)


async def test_soundtrack_is_reused_on_a_second_run_and_predicted_by_the_dry_run(tmp_path: Path) -> None:
    """The dry run counts the soundtrack call (n + 2 composer calls) as the run makes it; a second
    run reuses it with every other result."""
    run_dir = tmp_path / "run"
    spec = make_spec()
    before = await dry_run(Pipeline(providers(FakeMixingComposer())).registry, spec, run_dir)
    predicted = {p.kind: p.calls for p in before.providers}
    assert predicted["composer"] == before.scene_count + 2
    await Pipeline(providers(FakeMixingComposer())).run(spec, run_dir=run_dir)
    assert composer_calls(run_dir) == predicted["composer"]
    after = await dry_run(Pipeline(providers(FakeMixingComposer())).registry, spec, run_dir)
    assert after.cached["composer"] == before.scene_count + 2
    await Pipeline(providers(FakeMixingComposer())).run(spec, run_dir=run_dir)
    assert composer_calls(run_dir) == 0


async def test_stage_by_stage_mixes_the_soundtrack_before_assembly(tmp_path: Path) -> None:
    """The non-streaming baseline makes the soundtrack too, as its own stage after the segments:
    the same video bytes as streaming."""
    streamed = await Pipeline(providers(FakeMixingComposer())).run(make_spec(), run_dir=tmp_path / "a")
    staged = await Pipeline(providers(FakeMixingComposer())).run(
        make_spec(), run_dir=tmp_path / "b", streaming=False
    )
    assert staged.path.read_bytes() == streamed.path.read_bytes()


async def test_composers_without_mix_soundtrack_get_no_soundtrack_stage(tmp_path: Path) -> None:
    """A composer chain where one composer cannot mix soundtracks: no soundtrack stage, no such
    call; ``assemble`` mixes the sound itself (``request.soundtrack`` is None)."""
    events: list[Event] = []
    chain = [FakeMixingComposer(name="mixer"), FakeComposer(name="plain")]
    spec = make_spec(providers={"composer": ["mixer", "plain"]})
    video = await Pipeline([FakeScriptWriter(), FakeVoice(), FakeIllustrator(), *chain]).run(
        spec, run_dir=tmp_path / "run", on_event=events.append
    )
    assert not any(isinstance(e, StageStarted) and e.stage == "soundtrack" for e in events)
    assert "soundtrack" not in video.path.read_text()
