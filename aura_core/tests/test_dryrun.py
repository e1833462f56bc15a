"""``aura run --dry-run`` (``aura_core.dryrun``): its predicted calls are the calls a real run makes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aura_core import BriefFile, Pipeline, UserError
from aura_core.dryrun import DryRun, dry_run
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

from .conftest import make_spec


def providers(**voice: Any) -> list[Any]:
    """One fake provider of each kind (fresh objects: their own call counters)."""
    return [FakeScriptWriter(), FakeVoice(**voice), FakeIllustrator(), FakeComposer()]


def real_calls(run_dir: Path) -> dict[str, int]:
    """Calls per provider name as the run's report.json gives them."""
    report = json.loads((run_dir / "report.json").read_text())
    return {p["name"]: p["calls"] for chain in report["providers"].values() for p in chain}


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


async def plan_for(spec: BriefFile, run_dir: Path, **kwargs: Any) -> DryRun:
    """The dry run of ``spec`` in ``run_dir`` with fresh fake providers."""
    return await dry_run(Pipeline(providers()).registry, spec, run_dir, **kwargs)


@pytest.mark.anyio
async def test_predicted_calls_equal_the_real_runs_calls_then_all_cached(tmp_path: Path) -> None:
    """Before a run the dry run predicts 1 script, n voices, n pictures, n+1 composer calls, exactly report.json's counts; it creates nothing; after the run it predicts every result reused and no call."""
    spec = make_spec()
    run_dir = tmp_path / "run"
    before = await plan_for(spec, run_dir)
    assert not run_dir.exists()
    assert before.ok and not before.scenes_known
    n = before.scene_count
    assert n == 5  # 40 s at 8 s a scene
    predicted = {p.kind: p.calls for p in before.providers}
    assert predicted == {"llm": 1, "tts": n, "image": n, "composer": n + 1}
    assert sum(before.cached.values()) == 0

    await Pipeline(providers()).run(spec, run_dir=run_dir)
    report = json.loads((run_dir / "report.json").read_text())
    real = {kind: sum(p["calls"] for p in chain) for kind, chain in report["providers"].items()}
    assert real == predicted

    files = tree(run_dir)
    after = await plan_for(spec, run_dir)
    assert tree(run_dir) == files  # read only: no lock, no journal write, no new file
    assert after.scenes_known and after.scene_count == n
    assert {p.kind: p.calls for p in after.providers} == {"llm": 0, "tts": 0, "image": 0, "composer": 0}
    assert after.cached == {"llm": 1, "tts": n, "image": n, "composer": n + 1}
    assert after.duration_measured
    assert after.duration == pytest.approx(report["video"]["duration"], abs=0.01)


@pytest.mark.anyio
async def test_after_a_render_change_only_the_composer_calls_are_predicted_and_made(tmp_path: Path) -> None:
    """A new fps keeps the script, voices and pictures but changes every segment and the assembly: the dry run predicts n+1 composer calls and the re-run makes exactly those."""
    run_dir = tmp_path / "run"
    await Pipeline(providers()).run(make_spec(), run_dir=run_dir)
    changed = make_spec(render={"fps": 12})
    plan = await plan_for(changed, run_dir)
    n = plan.scene_count
    assert {p.kind: p.calls for p in plan.providers} == {"llm": 0, "tts": 0, "image": 0, "composer": n + 1}
    assert plan.cached == {"llm": 1, "tts": n, "image": n, "composer": 0}

    await Pipeline(providers()).run(changed, run_dir=run_dir)
    report = json.loads((run_dir / "report.json").read_text())
    real = {kind: sum(p["calls"] for p in chain) for kind, chain in report["providers"].items()}
    assert real == {"llm": 0, "tts": 0, "image": 0, "composer": n + 1}


@pytest.mark.anyio
async def test_fresh_predicts_every_call_again(tmp_path: Path) -> None:
    """With ``fresh`` the stored results are not counted: the run would start over."""
    run_dir = tmp_path / "run"
    await Pipeline(providers()).run(make_spec(), run_dir=run_dir)
    plan = await plan_for(make_spec(), run_dir, fresh=True)
    assert sum(plan.cached.values()) == 0
    assert {p.kind: p.calls for p in plan.providers}["composer"] == plan.scene_count + 1


@pytest.mark.anyio
async def test_a_kind_whose_every_provider_fails_its_check_cannot_run(tmp_path: Path) -> None:
    """When every tts provider of the chain fails check(), the plan is not ok and says which kind and why."""
    registry = Pipeline(
        [FakeScriptWriter(), FakeVoice(available=False), FakeIllustrator(), FakeComposer()]
    ).registry
    plan = await dry_run(registry, make_spec(), tmp_path / "run")
    assert not plan.ok
    assert plan.problems == ("no tts provider of the chain is available (fake: fake switched off)",)
    assert any("cannot run: no tts provider" in line for line in plan.lines())


@pytest.mark.anyio
async def test_price_hints_give_the_estimated_cost(tmp_path: Path) -> None:
    """``price`` in a provider's table (USD per call, or per 1000 characters read) gives the cost; the provider never sees the key."""
    names = {"llm": "writer", "tts": "voice", "image": "painter", "composer": "joiner"}
    registry = Pipeline(
        [
            FakeScriptWriter(name="writer", auto=False),
            FakeVoice(name="voice", auto=False),
            FakeIllustrator(name="painter", auto=False),
            FakeComposer(name="joiner"),
        ]
    ).registry
    spec = make_spec(
        providers={
            **{kind: [name] for kind, name in names.items()},
            "writer": {"price": 0.01},
            "voice": {"price": {"per_1k_characters": 0.3}},
            "painter": {"price": {"per_call": 0.04}},
        }
    )
    plan = await dry_run(registry, spec, tmp_path / "run")
    by_name = {p.name: p for p in plan.providers}
    n = plan.scene_count
    assert by_name["writer"].cost_usd == pytest.approx(0.01)
    assert by_name["painter"].cost_usd == pytest.approx(0.04 * n)
    characters = by_name["voice"].characters
    assert characters == plan.word_target * 6
    assert by_name["voice"].cost_usd == pytest.approx(characters / 1000 * 0.3)
    assert by_name["joiner"].cost_usd == 0.0  # auto (offline) and no hint
    assert plan.cost_usd == pytest.approx(0.01 + 0.04 * n + characters / 1000 * 0.3)

    unpriced = Pipeline(
        [FakeScriptWriter(auto=False), FakeVoice(), FakeIllustrator(), FakeComposer()]
    ).registry
    plan = await dry_run(unpriced, make_spec(), tmp_path / "other")
    assert plan.cost_usd is None
    assert any(line.startswith("estimated cost: unknown") for line in plan.lines())

    bad = make_spec(
        providers={**{kind: [name] for kind, name in names.items()}, "writer": {"price": {"per_token": 1}}}
    )
    with pytest.raises(UserError, match=r"providers\.writer\.price: unknown keys per_token"):
        await dry_run(registry, bad, tmp_path / "bad")
