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
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

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
