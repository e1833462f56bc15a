"""The render preflight (``RenderChecker``): what a composer finds in the brief's render settings stops
the run before any provider call, and the dry run reports it (the core's own unit tests, on fakes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from attrs import define

from aura_core import BriefError, Pipeline, RenderChecker, RenderSpec
from aura_core.dryrun import dry_run
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

from .conftest import make_spec

pytestmark = pytest.mark.anyio


@define
class PickyComposer(FakeComposer):
    """A fake composer that renders only the transitions it knows."""

    def check_render(self, render: RenderSpec) -> list[str]:
        """One line for a transition other than crossfade or none."""
        known = ("crossfade", "none")
        return [] if render.transition in known else [f"render.transition: unknown {render.transition!r}"]


async def test_a_render_problem_stops_the_run_before_any_provider_call(tmp_path: Path) -> None:
    """``transition = "wipe"`` raises ``BriefError`` naming the brief's key; no provider was called and
    no result is stored; the same brief with a known transition runs."""
    writer, voice, illustrator, composer = FakeScriptWriter(), FakeVoice(), FakeIllustrator(), PickyComposer()
    assert isinstance(composer, RenderChecker)
    pipeline = Pipeline([writer, voice, illustrator, composer])
    with pytest.raises(BriefError) as caught:
        await pipeline.run(make_spec(render={"transition": "wipe"}), run_dir=tmp_path / "run")
    assert caught.value.problems == ("render.transition: unknown 'wipe'",)
    assert (writer.calls, voice.calls, illustrator.calls, composer.calls) == (0, 0, 0, 0)
    assert not [p for p in (tmp_path / "run" / "artifacts").rglob("*") if p.is_file()]
    video = await pipeline.run(make_spec(render={"transition": "none"}), run_dir=tmp_path / "ok")
    assert video.path.is_file() and voice.calls > 0


async def test_the_dry_run_lists_a_render_problem_and_cannot_run(tmp_path: Path) -> None:
    """The dry run reports the composer's line among its problems (not ok) and creates nothing."""
    providers = [FakeScriptWriter(), FakeVoice(), FakeIllustrator(), PickyComposer()]
    plan = await dry_run(
        Pipeline(providers).registry, make_spec(render={"transition": "wipe"}), tmp_path / "r"
    )
    assert not plan.ok
    assert plan.problems == ("render.transition: unknown 'wipe'",)
    assert "cannot run: render.transition: unknown 'wipe'" in plan.lines()
    assert not (tmp_path / "r").exists()
