"""The three ``openai`` providers keep the contract aura offers third parties (``check_provider``).

Every call goes to the local OpenAI-compatible server on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from aura_core import ImageRequest, SpeechRequest, VoiceSpec
from aura_core.testing import check_provider
from aura_plugins_openai import image as image_module
from aura_plugins_openai import tts as tts_module
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


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["tts", "image"])
async def test_a_call_cancelled_in_its_worker_thread_leaves_no_file(
    kind: str,
    make_settings: Callable[..., OpenAISettings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cancelled while the worker thread measures the speech or writes the PNG, the call lets the
    cancellation through and removes the file (it returned its result and kept the file); the file is
    written beside ``out_path`` and only becomes it when the call returns."""
    module, name = (tts_module, "_save") if kind == "tts" else (image_module, "save_fitted")
    work = getattr(module, name)
    working, release = threading.Event(), threading.Event()

    def work_then_wait(*args: Any) -> Any:
        done = work(*args)
        working.set()
        release.wait(30)
        return done

    monkeypatch.setattr(module, name, work_then_wait)
    out = tmp_path / ("speech.wav" if kind == "tts" else "picture.png")
    returned: list[Any] = []

    async def call() -> None:
        if kind == "tts":
            speech = SpeechRequest(text="Bees dance.", voice=VoiceSpec(), language="en", out_path=out)
            returned.append(await OpenAIVoice(make_settings()).synthesize(speech))
        else:
            picture = ImageRequest(
                prompt="bees", negative_prompt="", width=64, height=36, style="", seed=1, out_path=out
            )
            returned.append(await OpenAIIllustrator(make_settings()).generate(picture))

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await anyio.to_thread.run_sync(working.wait, 30)
        (partial,) = tmp_path.iterdir()
        assert partial.suffix == out.suffix and partial.stat().st_size > 0 and not out.exists()
        group.cancel_scope.cancel()
        release.set()
    assert returned == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [True, False])
async def test_a_script_cancelled_after_its_last_scene_does_not_return(
    stream: bool,
    make_settings: Callable[..., OpenAISettings],
    script_request: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cancellation that arrives while the writer does its last bookkeeping (usage, the parser's end)
    is let through: the script is not handed back as if the call had finished (it was)."""
    writer = OpenAIScriptWriter(make_settings(stream=stream))
    record = writer._record
    returned: list[Any] = []
    with anyio.CancelScope() as scope:

        def record_then_cancel(usage: Any) -> None:
            record(usage)
            scope.cancel()  # as a cancellation arriving now, between two of the writer's awaits

        monkeypatch.setattr(writer, "_record", record_then_cancel)
        returned.append([scene async for scene in writer.write_script(script_request())])
    assert scope.cancelled_caught
    assert returned == []
