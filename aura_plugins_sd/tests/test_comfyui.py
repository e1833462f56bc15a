"""The ComfyUI backend against a local server: queue, history polling, ``/view``, node errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aura_core import ImageRequest, ProviderError, ProviderSettings, UserError
from aura_core.testing import collect_usage
from aura_plugins_sd import SDProvider
from aura_plugins_sd.workflow import default_workflow, fill_workflow


def make(url: str, tmp_path: Path, **values: Any) -> SDProvider:
    settings = {"backend": "comfyui", "url": url, "poll_interval": 0.01, **values}
    return SDProvider().configure(ProviderSettings(settings, tmp_path))


def request(tmp_path: Path, width: int = 160, height: int = 90) -> ImageRequest:
    return ImageRequest(
        prompt="a lighthouse at dusk",
        negative_prompt="",
        width=width,
        height=height,
        style="cinematic",
        seed=987654321,
        out_path=tmp_path / "scene.png",
    )


@pytest.mark.anyio
async def test_default_workflow_is_queued_polled_and_fetched(
    comfyui: Any, tmp_path: Path, quadrants: Any
) -> None:
    """The shipped workflow gets prompt, seed, size and the server's first checkpoint; the image is /view's."""
    provider = make(comfyui.url, tmp_path)
    with collect_usage() as usage:
        picture = await provider.generate(request(tmp_path))
    quadrants(picture.path, 160, 90)
    assert usage["images"] == 1
    workflow = comfyui.calls("/prompt")[0].json["prompt"]
    assert workflow["6"]["inputs"]["text"].startswith("a lighthouse at dusk, cinematic film still")
    assert workflow["7"]["inputs"]["text"].startswith("lowres")
    assert workflow["3"]["inputs"]["seed"] == 987654321
    assert (workflow["3"]["inputs"]["sampler_name"], workflow["3"]["inputs"]["scheduler"]) == (
        "dpmpp_2m",
        "karras",
    )
    assert (workflow["5"]["inputs"]["width"], workflow["5"]["inputs"]["height"]) == (768, 512)
    assert workflow["4"]["inputs"]["ckpt_name"] == "sd15base.safetensors"
    polls = [r for r in comfyui.requests if r.path.startswith("/history/")]
    assert len(polls) == 4  # three "not done yet" answers, then the finished entry
    view = comfyui.calls("/view")[0]
    assert view.args.getlist("type") == ["output"]  # the saved image, not the preview
    assert view.args.getlist("filename") == ["aura_00001_.png"]


@pytest.mark.anyio
async def test_checkpoint_setting_fills_ckpt_name(comfyui: Any, tmp_path: Path) -> None:
    """A configured checkpoint goes into the loader node; the server's list is not asked for."""
    provider = make(comfyui.url, tmp_path, checkpoint="sdxl_base_1.0.safetensors", family="sdxl")
    await provider.generate(request(tmp_path))
    workflow = comfyui.calls("/prompt")[0].json["prompt"]
    assert workflow["4"]["inputs"]["ckpt_name"] == "sdxl_base_1.0.safetensors"
    assert (workflow["5"]["inputs"]["width"], workflow["5"]["inputs"]["height"]) == (1344, 768)
    assert comfyui.calls("/object_info/CheckpointLoaderSimple") == []


@pytest.mark.anyio
async def test_bad_checkpoint_is_permanent_with_the_servers_reason(comfyui: Any, tmp_path: Path) -> None:
    """ComfyUI's 400 node error for an unknown ckpt_name becomes a permanent, explained error."""
    provider = make(comfyui.url, tmp_path, checkpoint="missing.safetensors")
    with pytest.raises(ProviderError) as caught:
        await provider.generate(request(tmp_path))
    assert not caught.value.transient
    assert "missing.safetensors" in caught.value.message
    assert "CheckpointLoaderSimple" in caught.value.message
    assert "providers.sd.checkpoint" in caught.value.message


@pytest.mark.anyio
async def test_execution_out_of_memory_is_permanent(comfyui: Any, tmp_path: Path) -> None:
    """An ``execution_error`` of type OutOfMemoryError in the history is permanent with advice."""
    comfyui.fail("oom")
    with pytest.raises(ProviderError) as caught:
        await make(comfyui.url, tmp_path).generate(request(tmp_path))
    assert not caught.value.transient
    assert "out of GPU memory" in caught.value.message
    assert not (tmp_path / "scene.png").exists()


@pytest.mark.anyio
async def test_user_workflow_with_placeholders(comfyui: Any, tmp_path: Path, quadrants: Any) -> None:
    """A user's API-format workflow file: placeholders get the values; steps only when set in settings."""
    workflow = default_workflow()
    workflow["5"]["inputs"] |= {"width": "{{width}}", "height": "{{height}}"}
    workflow["3"]["inputs"] |= {"seed": "{{seed}}", "steps": 9, "sampler_name": "uni_pc"}
    workflow["6"]["inputs"]["text"] = "masterpiece, {{prompt}}"
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "mine.json").write_text(json.dumps(workflow))
    provider = make(
        comfyui.url, tmp_path, workflow="flows/mine.json", checkpoint="sd15base.safetensors", cfg=4
    )
    picture = await provider.generate(request(tmp_path, width=90, height=160))
    quadrants(picture.path, 90, 160)
    sent = comfyui.calls("/prompt")[0].json["prompt"]
    assert sent["6"]["inputs"]["text"].startswith("masterpiece, a lighthouse at dusk")
    assert (sent["5"]["inputs"]["width"], sent["5"]["inputs"]["height"]) == (512, 768)
    assert sent["3"]["inputs"]["seed"] == 987654321
    assert sent["3"]["inputs"]["steps"] == 9  # not set in settings: the workflow's own
    assert sent["3"]["inputs"]["sampler_name"] == "uni_pc"
    assert sent["3"]["inputs"]["cfg"] == 4.0  # set in settings
    assert picture.source == "sd/comfyui:sd15base.safetensors"


def test_prompt_found_upstream_of_the_sampler_without_placeholders() -> None:
    """Without placeholders the prompt goes to the text node found by walking up from ``positive``."""
    workflow: dict[str, Any] = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}},
        "2": {
            "class_type": "CLIPTextEncodeSDXL",
            "inputs": {"text_g": "old", "text_l": "old", "clip": ["1", 1]},
        },
        "3": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["4", 0]}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "old negative", "clip": ["1", 1]}},
        "5": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1, "height": 1, "batch_size": 4}},
        "6": {
            "class_type": "KSamplerAdvanced",
            "inputs": {"noise_seed": 5, "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["5", 0]},
        },
    }
    filled = fill_workflow(workflow, prompt="P", negative_prompt="N", seed=42, width=832, height=1216)
    assert filled["2"]["inputs"]["text_g"] == filled["2"]["inputs"]["text_l"] == "P"
    assert filled["4"]["inputs"]["text"] == "N"
    assert filled["6"]["inputs"]["noise_seed"] == 42
    assert filled["5"]["inputs"] == {"width": 832, "height": 1216, "batch_size": 1}
    assert workflow["2"]["inputs"]["text_g"] == "old"  # the template is not changed


def test_workflow_without_a_seed_is_refused_when_configured(tmp_path: Path) -> None:
    """A workflow with no seed input and no ``{{seed}}`` cannot be reproducible: a user error at configure."""
    workflow = {"1": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}}}
    (tmp_path / "noseed.json").write_text(json.dumps(workflow))
    with pytest.raises(UserError, match="seed"):
        make("http://127.0.0.1:1", tmp_path, workflow="noseed.json")


def test_editor_format_workflow_is_refused_with_export_advice(tmp_path: Path) -> None:
    """A workflow saved from the editor (nodes + links) is refused, telling how to export the API format."""
    (tmp_path / "ui.json").write_text(json.dumps({"nodes": [], "links": [], "version": 0.4}))
    with pytest.raises(UserError, match="API"):
        make("http://127.0.0.1:1", tmp_path, workflow="ui.json")


@pytest.mark.anyio
async def test_check_reports_device_or_unreachable(comfyui: Any, refused_url: str, tmp_path: Path) -> None:
    """``check()`` reads ``/system_stats``; nothing listening is reported, not raised."""
    available = await make(comfyui.url, tmp_path).check()
    assert available.ok
    assert "Fake GPU" in available.detail
    down = await make(refused_url, tmp_path).check()
    assert not down.ok
    assert refused_url in down.detail


@pytest.mark.anyio
async def test_cancelled_call_removes_its_prompt_from_the_queue(comfyui: Any, tmp_path: Path) -> None:
    """Cancelling while the prompt is pending deletes it from ComfyUI's queue and leaves no file."""
    import anyio

    comfyui.pending_polls = 10**6
    provider = make(comfyui.url, tmp_path)
    async with anyio.create_task_group() as group:
        group.start_soon(provider.generate, request(tmp_path))
        while len([r for r in comfyui.requests if r.path.startswith("/history/")]) < 2:
            await anyio.sleep(0.01)
        group.cancel_scope.cancel()
    prompt_id = next(iter(comfyui.jobs))
    assert comfyui.calls("/queue")[0].json == {"delete": [prompt_id]}
    assert not (tmp_path / "scene.png").exists()
