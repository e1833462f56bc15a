"""The soundtrack stage: mixed as soon as every scene is voiced when the composers can, reused on resume,
skipped for composers without ``mix_soundtrack`` (the core's own unit tests, on fake providers)."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from attrs import define, field

from aura_core import (
    Event,
    ItemDone,
    ItemStarted,
    Narration,
    Pipeline,
    ProviderError,
    RunFailed,
    Segment,
    SegmentRequest,
    Soundtrack,
    SoundtrackRequest,
    SoundtrackStart,
    StageStarted,
)
from aura_core.dryrun import dry_run
from aura_core.testing import (
    FakeComposer,
    FakeIllustrator,
    FakeMixingComposer,
    FakeScriptWriter,
    FakeSoundtrackStream,
    FakeStreamingComposer,
    FakeVoice,
    Faults,
)

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


# -- the soundtrack streamed as the scenes are placed (``SoundtrackStreamer``) ---------------------


def slow_voices(composer: Any) -> list[Any]:
    """Scenes written and voiced over time, so the timeline grows while the run goes on."""
    return [FakeScriptWriter(latency=0.01), FakeVoice(latency=0.03), FakeIllustrator(), composer]


async def test_soundtrack_is_streamed_as_scenes_are_placed_and_finished_with_the_mixing_request(
    tmp_path: Path,
) -> None:
    """With a composer that streams soundtracks, the runner opens one stream, adds every scene in
    timeline order (its narration at its start, its slot's end) from before the last voice is in,
    and finishes it with the request ``mix_soundtrack`` would get; the video carries that soundtrack
    and the stream's context is left."""
    events: list[Event] = []
    composer = FakeStreamingComposer()
    run_dir = tmp_path / "run"
    video = await Pipeline(slow_voices(composer)).run(make_spec(), run_dir=run_dir, on_event=events.append)
    report = json.loads((run_dir / "report.json").read_text())
    scenes = report["scenes"]
    assert len(composer.streams) == 1
    stream = composer.streams[0]
    assert [(n.start, end) for n, end in stream.added] == [
        pytest.approx((s["start"], s["start"] + s["duration"])) for s in scenes
    ]
    assert [n.text for n, _ in stream.added] == [s["narration"] for s in scenes]
    assert stream.finished is not None and stream.closed
    assert stream.finished.narration == tuple(n for n, _ in stream.added)
    assert stream.finished.duration == pytest.approx(stream.added[-1][1])
    voices_done = [e.at for e in events if isinstance(e, ItemDone) and e.stage == "voice"]
    assert stream.first_added_at is not None and stream.first_added_at < max(voices_done)
    starts = " ".join(f"{s['start']:.3f}" for s in scenes)
    assert video.path.read_text().endswith(f"at {starts}\n")
    assert not stream.start.out_path.exists()  # the stream's own file: moved or removed, never left


async def test_a_second_run_finds_the_streamed_soundtrack_stored_and_streams_nothing(tmp_path: Path) -> None:
    """The streamed soundtrack is stored under the key of its ``SoundtrackRequest`` (the one the dry
    run computes): a second run finds its voices stored, opens no stream and makes no composer call."""
    run_dir = tmp_path / "run"
    spec = make_spec()
    first = FakeStreamingComposer()
    await Pipeline(slow_voices(first)).run(spec, run_dir=run_dir)
    assert len(first.streams) == 1 and first.streams[0].finished is not None
    dry = await dry_run(Pipeline(slow_voices(FakeStreamingComposer())).registry, spec, run_dir)
    assert dry.cached["composer"] == dry.scene_count + 2
    again = FakeStreamingComposer()
    await Pipeline(slow_voices(again)).run(spec, run_dir=run_dir)
    assert again.streams == []
    assert composer_calls(run_dir) == 0


@define
class FailingStream:
    """A fake stream whose ``finish`` fails with a transient error."""

    inner: FakeSoundtrackStream

    async def add(self, narration: Narration, end: float) -> None:
        await self.inner.add(narration, end)

    async def finish(self, request: SoundtrackRequest) -> Soundtrack:
        self.inner.finished = request
        raise ProviderError("streamed soundtrack lost", transient=True)


@define
class FailingFinish(FakeStreamingComposer):
    """Its streams fail to finish."""

    @asynccontextmanager
    async def stream_soundtrack(self, start: SoundtrackStart) -> AsyncIterator[FailingStream]:
        async with FakeStreamingComposer.stream_soundtrack(self, start) as stream:
            yield FailingStream(stream)


async def test_a_stream_that_fails_to_finish_is_retried_with_mix_soundtrack(tmp_path: Path) -> None:
    """The stream's ``finish`` is the first attempt only: its failure is retried as an ordinary
    ``mix_soundtrack`` call, and the video carries that soundtrack."""
    composer = FailingFinish()
    run_dir = tmp_path / "run"
    video = await Pipeline(slow_voices(composer)).run(make_spec(), run_dir=run_dir)
    assert composer.streams[0].finished is not None and composer.streams[0].closed
    assert "soundtrack" in video.path.read_text()
    report = json.loads((run_dir / "report.json").read_text())
    assert composer_calls(run_dir) == len(report["scenes"]) + 3  # segments, two soundtrack tries, assembly


async def test_a_run_that_fails_mid_stream_leaves_the_stream_and_no_half_file_then_resumes(
    tmp_path: Path,
) -> None:
    """A segment fails for good while scenes are still being placed: the run fails, the stream's
    context is left without ``finish`` and its half-written file is gone. Resuming voices the
    scenes not voiced yet, so it streams again, from the first scene, and finishes."""
    run_dir = tmp_path / "run"
    spec = make_spec()
    broken = FakeStreamingComposer(faults=Faults(calls=frozenset({1}), transient=False))
    with pytest.raises(RunFailed):
        await Pipeline(
            [FakeScriptWriter(latency=0.02), FakeVoice(latency=0.05), FakeIllustrator(), broken]
        ).run(spec, run_dir=run_dir)
    stream = broken.streams[0]
    assert stream.added and stream.finished is None and stream.closed
    assert not stream.start.out_path.exists()
    assert not list((run_dir / "tmp").iterdir())
    resumed = FakeStreamingComposer()
    video = await Pipeline(slow_voices(resumed)).run(spec, run_dir=run_dir)
    report = json.loads((run_dir / "report.json").read_text())
    again = resumed.streams[0]
    assert [n.start for n, _ in again.added] == pytest.approx([s["start"] for s in report["scenes"]])
    assert again.finished is not None
    assert "soundtrack" in video.path.read_text()


async def test_a_cancelled_run_leaves_the_stream_and_no_half_file(tmp_path: Path) -> None:
    """Cancelled while the scenes are being placed: the stream's context is left without ``finish``
    and nothing it wrote is left in the run's ``tmp/``."""
    run_dir = tmp_path / "run"
    composer = FakeStreamingComposer()
    providers = [FakeScriptWriter(latency=0.2), FakeVoice(), FakeIllustrator(), composer]
    async with anyio.create_task_group() as group:
        group.start_soon(functools.partial(Pipeline(providers).run, make_spec(), run_dir=run_dir))
        with anyio.fail_after(10):
            while not (composer.streams and composer.streams[0].added):
                await anyio.sleep(0.01)
        group.cancel_scope.cancel()
    stream = composer.streams[0]
    assert stream.added and stream.finished is None and stream.closed
    assert not stream.start.out_path.exists()


async def test_stage_by_stage_streams_nothing(tmp_path: Path) -> None:
    """The non-streaming baseline mixes the soundtrack in one piece, after the segments."""
    composer = FakeStreamingComposer()
    video = await Pipeline(providers(composer)).run(make_spec(), run_dir=tmp_path / "run", streaming=False)
    assert composer.streams == []
    assert "soundtrack" in video.path.read_text()
