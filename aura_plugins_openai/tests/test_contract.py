"""The three ``openai`` providers keep the contract aura offers third parties (``check_provider``).

Every call goes to the local OpenAI-compatible server on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aura_core.testing import check_provider
from aura_plugins_openai.image import OpenAIIllustrator
from aura_plugins_openai.llm import OpenAIScriptWriter
from aura_plugins_openai.settings import OpenAISettings
from aura_plugins_openai.tts import OpenAIVoice

#: Three scenes of 25 words: the suite's plan asks 75 words, and the server's usual script is shorter.
SCENE_WORDS = (
    " ".join(["Bees dance a figure eight on the comb to show the way."] * 2) + " Then flowers follow."
)
SCRIPT = json.dumps(
    {
        "scenes": [
            {"heading": f"Scene {i + 1}", "narration": SCENE_WORDS, "visual_prompt": "bees"} for i in range(3)
        ]
    }
)

PROVIDERS: dict[str, Callable[[OpenAISettings], Any]] = {
    "llm": OpenAIScriptWriter,
    "tts": OpenAIVoice,
    "image": OpenAIIllustrator,
}


@pytest.mark.anyio
@pytest.mark.parametrize("kind", sorted(PROVIDERS))
async def test_every_openai_provider_keeps_the_contract(
    kind: str, make_settings: Callable[..., OpenAISettings], tmp_path: Path, fake_openai: Any
) -> None:
    """identity, result, decode, refusal (blank text, a 0x0 picture), cancellation and fingerprint all pass."""
    fake_openai.script = SCRIPT
    provider = PROVIDERS[kind](make_settings())
    report = await check_provider(provider, tmp_path)
    statuses = {r.name: r.status for r in report.results}
    assert statuses["result"] == "passed", report
    assert statuses["decode"] == ("skipped" if kind == "llm" else "passed"), report
    assert statuses["refusal"] == ("skipped" if kind == "llm" else "passed"), report
    assert statuses["fingerprint"] == "passed", report
    assert not list((tmp_path / "contract").glob("refused.*"))


@pytest.mark.anyio
async def test_a_0x0_picture_is_refused_before_any_request(
    make_settings: Callable[..., OpenAISettings], tmp_path: Path, fake_openai: Any
) -> None:
    """A 0x0 request raises a permanent ProviderError naming the size (it divided by zero), and asks nothing."""
    report = await check_provider(
        OpenAIIllustrator(make_settings()), tmp_path, skip=["result", "decode", "cancellation", "fingerprint"]
    )
    assert report.status("refusal") == "passed", report
    assert "0x0 is too small" in str(report)
    assert fake_openai.asked("/v1/images/generations") == []


@pytest.mark.anyio
async def test_blank_text_is_refused_and_leaves_no_file(
    make_settings: Callable[..., OpenAISettings], tmp_path: Path, fake_openai: Any
) -> None:
    """Blank text raises a permanent ProviderError before any request, and no WAV is left (it was accepted)."""
    report = await check_provider(
        OpenAIVoice(make_settings()), tmp_path, skip=["result", "decode", "cancellation", "fingerprint"]
    )
    assert report.status("refusal") == "passed", report
    assert "no text to speak" in str(report)
    assert fake_openai.asked("/v1/audio/speech") == []
    assert not (tmp_path / "contract" / "refused.wav").exists()
