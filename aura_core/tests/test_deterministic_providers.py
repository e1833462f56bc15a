"""A provider that declares ``deterministic = True`` is not retried on a result that fails validation.

The same request gives it the same result, so another attempt cannot fix it: the call fails for good
at once and the chain moves on to its next provider.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from attrs import define

from aura_core import (
    Event,
    Fallback,
    ImageRequest,
    Picture,
    Pipeline,
    Retry,
    SceneDraft,
    ScriptRequest,
)
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice, check_provider

from .conftest import make_spec

pytestmark = pytest.mark.anyio


FIRST = SceneDraft(heading="Only", narration="Bees dance.", visual_prompt="a bee")


@define
class OneSceneWriter(FakeScriptWriter):
    """Writes one scene whatever the plan asks: a script that fails the plan's check every time."""

    deterministic: bool = False

    async def write_script(self, request: ScriptRequest) -> AsyncIterator[SceneDraft]:
        """Yield the one scene."""
        self.calls += 1
        yield FIRST


@define
class FollowingWriter(FakeScriptWriter):
    """Starts with the same scene (already streamed on), then writes the rest of the plan."""

    async def write_script(self, request: ScriptRequest) -> AsyncIterator[SceneDraft]:
        """Yield the shared first scene, then ``scene_count - 1`` scenes of twenty words."""
        self.calls += 1
        yield FIRST
        for index in range(1, request.scene_count):
            words = " ".join(["bees"] * 20)
            yield SceneDraft(heading=f"Scene {index + 1}", narration=words, visual_prompt="a hive")


@define
class OffSizeIllustrator(FakeIllustrator):
    """Draws a picture one pixel wider than asked: a result the picture check rejects every time."""

    deterministic: bool = False

    async def generate(self, request: ImageRequest) -> Picture:
        """Draw the fake picture, then report it one pixel wider."""
        picture = await super().generate(request)
        return attrs.evolve(picture, width=picture.width + 1)


def _others(**skip: bool) -> list[Any]:
    chosen = {
        "llm": FakeScriptWriter(),
        "tts": FakeVoice(),
        "image": FakeIllustrator(),
        "composer": FakeComposer(),
    }
    return [p for kind, p in chosen.items() if kind not in skip]


@pytest.mark.parametrize(("deterministic", "calls"), [(True, 1), (False, 3)])
async def test_a_deterministic_writers_bad_script_is_not_retried_and_the_chain_moves_on(
    tmp_path: Path, deterministic: bool, calls: int
) -> None:
    """A deterministic writer's script that fails the plan's check is asked for once (three times if not deterministic); the next writer writes the script."""
    events: list[Event] = []
    bad = OneSceneWriter(name="bad", deterministic=deterministic)
    good = FollowingWriter(name="good")
    spec = make_spec(providers={"llm": ["bad", "good"], "bad": {"attempts": 3}})
    await Pipeline([bad, good, *_others(llm=True)]).run(
        spec, run_dir=tmp_path / "run", on_event=events.append
    )
    assert bad.calls == calls
    assert [e.provider for e in events if isinstance(e, Retry)] == ["bad"] * (calls - 1)
    fallback = next(e for e in events if isinstance(e, Fallback))
    assert (fallback.from_provider, fallback.to_provider) == ("bad", "good")
    assert "far fewer than the 5 asked for" in fallback.cause
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert good.calls == 1
    assert len(report["scenes"]) == 5  # the fallback writer's planned script


@pytest.mark.parametrize(("deterministic", "calls_per_scene"), [(True, 1), (False, 4)])
async def test_a_deterministic_illustrators_bad_picture_is_not_retried_and_the_chain_moves_on(
    tmp_path: Path, deterministic: bool, calls_per_scene: int
) -> None:
    """A deterministic illustrator's off-size picture is asked for once per scene (four times if not deterministic); the next illustrator draws every scene."""
    events: list[Event] = []
    bad = OffSizeIllustrator(name="bad", deterministic=deterministic)
    # a breaker that never opens, so every scene reaches the bad provider
    spec = make_spec(providers={"image": ["bad", "fake"], "bad": {"attempts": 4, "breaker_threshold": 100}})
    await Pipeline([bad, *_others()]).run(spec, run_dir=tmp_path / "run", on_event=events.append)
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    scenes = len(report["scenes"])
    assert {s["picture_provider"] for s in report["scenes"]} == {"fake"}
    assert bad.calls == calls_per_scene * scenes
    assert sum(isinstance(e, Retry) and e.provider == "bad" for e in events) == (calls_per_scene - 1) * scenes
    assert all("picture is 65x36, asked for 64x36" in e.cause for e in events if isinstance(e, Fallback))


@define
class VaryingIllustrator(FakeIllustrator):
    """Claims to be deterministic but draws a different picture on every call."""

    deterministic: bool = True

    async def generate(self, request: ImageRequest) -> Picture:
        """Draw the fake picture with a seed that changes from call to call."""
        return await super().generate(attrs.evolve(request, seed=request.seed + self.calls))


async def test_the_contract_suite_catches_a_deterministic_provider_whose_results_vary(tmp_path: Path) -> None:
    """``deterministic = True`` is a promise the result check tests: the same request twice, the same bytes."""
    report = await check_provider(
        VaryingIllustrator(), tmp_path, skip=["cancellation", "fingerprint"], raise_on_failure=False
    )
    failed = {r.name: r.detail for r in report.failures}
    assert failed == {
        "result": "deterministic = True, but the same request gave a different file the second time"
    }
    steady = await check_provider(
        FakeIllustrator(), tmp_path / "steady", skip=["cancellation", "fingerprint"], raise_on_failure=False
    )
    assert steady.failures == []


@define
class OddVoice(FakeVoice):
    """Declares its optional members wrongly: a string for a bool, a script writer's member on a voice."""

    deterministic: object = "yes"
    follows_plan: bool = False


async def test_the_contract_suite_wants_booleans_for_deterministic_and_follows_plan(tmp_path: Path) -> None:
    """``deterministic = "yes"`` and a ``follows_plan`` on a voice fail the identity check."""
    report = await check_provider(OddVoice(), tmp_path, raise_on_failure=False)
    identity = next(r for r in report.results if r.name == "identity")
    assert identity.status == "failed"
    assert "deterministic is 'yes', expected True or False" in identity.detail
    assert "follows_plan applies only to llm providers" in identity.detail
