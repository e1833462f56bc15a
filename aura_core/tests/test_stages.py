"""One list of stages (``aura_core.stages``): the stage events, the progress model and the report agree on it.

The checks are made from the list, so a stage added to it is checked everywhere too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aura_core import Event, ItemDone, Pipeline, RunStarted, StageFinished, StageStarted, events
from aura_core.metrics import MetricsCollector
from aura_core.progress import ProgressModel
from aura_core.report_html import timeline_svg
from aura_core.stages import STAGE_NAMES, STAGES, stage_named
from aura_core.testing import FakeComposer, FakeIllustrator, FakeMixingComposer, FakeScriptWriter, FakeVoice

from .conftest import make_spec


def test_the_weights_of_the_stages_add_up_to_one_run() -> None:
    """Progress counts each stage by its weight: together they are the whole run."""
    assert sum(stage.weight for stage in STAGES) == pytest.approx(1.0)
    assert len(set(STAGE_NAMES)) == len(STAGES)
    assert events.STAGES == STAGE_NAMES


def synthetic_run(scene_count: int) -> list[Event]:
    """The events of a run that goes through every stage of the list, in order, each item once."""
    out: list[Event] = [RunStarted(run_id="r", scene_count=scene_count, word_target=100, chains={})]
    for stage in STAGES:
        out.append(StageStarted(run_id="r", stage=stage.name, total=stage.items(scene_count)))
        for index in range(stage.items(scene_count)):
            out.append(
                ItemDone(run_id="r", stage=stage.name, index=index, provider="p", cached=False, seconds=0.0)
            )
        out.append(StageFinished(run_id="r", stage=stage.name, ok=True))
    return out


def test_every_stage_of_the_list_moves_the_progress_and_has_its_lanes() -> None:
    """Each stage's items move the progress by its weight, to exactly 1 at the end; the report page draws a
    window for each stage and a lane for each item, labelled and ordered by the list."""
    model = ProgressModel()
    metrics = MetricsCollector()
    for event in synthetic_run(scene_count=3):
        before = model.fraction
        model.update(event)
        metrics(event)
        if isinstance(event, RunStarted):  # before a stage starts, its count is the list's
            assert model.totals == {stage.name: stage.items(3) for stage in STAGES}
        if isinstance(event, StageFinished):
            stage = stage_named(event.stage)
            assert model.done[stage.name] == model.totals[stage.name] == stage.items(3)
        if isinstance(event, ItemDone):
            stage = stage_named(event.stage)
            assert model.fraction - before == pytest.approx(stage.weight / stage.items(3))
    assert model.fraction == pytest.approx(1.0)

    svg = timeline_svg(metrics.to_dict())
    windows = [svg.index(f"stage · {name}<") for name in STAGE_NAMES]
    assert windows == sorted(windows)
    # lanes: the one-item stages before the first per-scene one, each scene's stages, then the other ones
    first = next(i for i, stage in enumerate(STAGES) if stage.per_scene)
    lanes = [stage.label(0) for stage in STAGES[:first] if not stage.per_scene]
    lanes += [stage.label(index) for index in range(3) for stage in STAGES if stage.per_scene]
    lanes += [stage.label(0) for stage in STAGES[first:] if not stage.per_scene]
    assert len(lanes) == sum(stage.items(3) for stage in STAGES)
    at = [svg.index(f">{label}<") for label in lanes]
    assert at == sorted(at)


@pytest.mark.anyio
@pytest.mark.parametrize("composer", [FakeComposer, FakeMixingComposer], ids=["plain", "mixing"])
async def test_a_runs_stage_events_progress_and_report_agree_on_the_list(
    tmp_path: Path, composer: type[FakeComposer]
) -> None:
    """A real run: the stages it starts are the list's (the soundtrack only with a mixing composer), each with
    the list's item count; the progress ends at 1; report.json and report.html show them in the list's order."""
    seen: list[Event] = []
    run_dir = tmp_path / "run"
    providers: list[Any] = [FakeScriptWriter(), FakeVoice(), FakeIllustrator(), composer()]
    await Pipeline(providers).run(make_spec(), run_dir=run_dir, on_event=seen.append)

    scenes = next(e for e in seen if isinstance(e, RunStarted)).scene_count
    expected = {
        s.name: s.items(scenes) for s in STAGES if s.name != "soundtrack" or composer is FakeMixingComposer
    }
    started = {e.stage: e.total for e in seen if isinstance(e, StageStarted)}
    assert started == expected
    done: dict[str, int] = {}
    for event in seen:
        if isinstance(event, ItemDone):
            done[event.stage] = done.get(event.stage, 0) + 1
    assert done == expected
    assert {e.stage for e in seen if isinstance(e, StageFinished) and e.ok} == set(expected)

    model = ProgressModel()
    for event in seen:
        model.update(event)
    assert model.fraction == pytest.approx(1.0)
    assert {name: model.totals[name] for name in expected} == expected

    report = json.loads((run_dir / "report.json").read_text())
    assert {name: s["items_done"] for name, s in report["stages"].items()} == expected
    page = (run_dir / "report.html").read_text()
    rows = [page.index(f"<tr><td>{name}</td>") for name in STAGE_NAMES if name in expected]
    assert rows == sorted(rows)
