"""The WebUI backend against a local server speaking AUTOMATIC1111's ``/sdapi/v1`` API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aura_core import ImageRequest, ProviderError, ProviderSettings, UserError
from aura_core.testing import collect_usage
from aura_plugins_sd import SDProvider


def make(url: str, tmp_path: Path, **values: Any) -> SDProvider:
    return SDProvider().configure(ProviderSettings({"backend": "webui", "url": url, **values}, tmp_path))


def request(tmp_path: Path, width: int = 160, height: int = 90, **changes: Any) -> ImageRequest:
    fields: dict[str, Any] = {
        "prompt": "a honeybee dancing on a honeycomb",
        "negative_prompt": "people",
        "width": width,
        "height": height,
        "style": "documentary",
        "seed": 1234,
        "out_path": tmp_path / "out" / "scene.png",
    }
    return ImageRequest(**(fields | changes))


@pytest.mark.anyio
async def test_txt2img_picture_is_the_servers_resized_to_the_request(
    webui: Any, tmp_path: Path, quadrants: Any
) -> None:
    """A 16:9 request is generated at SD 1.5's 768x512 and the server's PNG is fitted to 160x90."""
    provider = make(webui.url, tmp_path, steps=12, cfg=5.5, sampler="Euler a")
    with collect_usage() as usage:
        picture = await provider.generate(request(tmp_path))
    assert picture.path == tmp_path / "out" / "scene.png"
    assert (picture.width, picture.height) == (160, 90)
    quadrants(picture.path, 160, 90)
    body = webui.calls("/sdapi/v1/txt2img")[0].json
    assert (body["width"], body["height"]) == (768, 512)
    assert body["seed"] == 1234
    assert (body["steps"], body["cfg_scale"], body["sampler_name"]) == (12, 5.5, "Euler a")
    assert body["prompt"].startswith("a honeybee dancing on a honeycomb, documentary photograph")
    assert body["negative_prompt"].startswith("people, lowres")
    assert "override_settings" not in body
    assert usage["images"] == 1
    assert "cost_usd" not in usage
    assert picture.source == "sd/webui"


@pytest.mark.anyio
async def test_portrait_request_uses_portrait_native_size(webui: Any, tmp_path: Path, quadrants: Any) -> None:
    """A 9:16 request with family sdxl is generated at 768x1344 and fitted to 90x160."""
    provider = make(webui.url, tmp_path, family="sdxl")
    picture = await provider.generate(request(tmp_path, width=90, height=160))
    body = webui.calls("/sdapi/v1/txt2img")[0].json
    assert (body["width"], body["height"]) == (768, 1344)
    quadrants(picture.path, 90, 160)


@pytest.mark.anyio
async def test_checkpoint_is_sent_as_override_setting(webui: Any, tmp_path: Path) -> None:
    """A checkpoint the server lists is sent as ``override_settings.sd_model_checkpoint``."""
    provider = make(webui.url, tmp_path, checkpoint="dreamshaper_8")
    picture = await provider.generate(request(tmp_path))
    body = webui.calls("/sdapi/v1/txt2img")[0].json
    assert body["override_settings"] == {"sd_model_checkpoint": "dreamshaper_8"}
    assert picture.source == "sd/webui:dreamshaper_8"


@pytest.mark.anyio
async def test_unknown_checkpoint_is_permanent_and_lists_the_servers(webui: Any, tmp_path: Path) -> None:
    """A checkpoint the server does not have fails before generating, naming the ones it has."""
    provider = make(webui.url, tmp_path, checkpoint="nonexistent_v2")
    with pytest.raises(ProviderError) as caught:
        await provider.generate(request(tmp_path))
    assert not caught.value.transient
    assert "nonexistent_v2" in caught.value.message
    assert "dreamshaper_8" in caught.value.message
    assert webui.calls("/sdapi/v1/txt2img") == []
    availability = await provider.check()
    assert not availability.ok
    assert "nonexistent_v2" in availability.detail


@pytest.mark.anyio
async def test_server_error_500_is_transient(webui: Any, tmp_path: Path) -> None:
    """HTTP 500 without an out-of-memory text may succeed on retry, and leaves no file."""
    webui.fail("500")
    with pytest.raises(ProviderError) as caught:
        await make(webui.url, tmp_path).generate(request(tmp_path))
    assert caught.value.transient
    assert "500" in caught.value.message
    assert not (tmp_path / "out" / "scene.png").exists()


@pytest.mark.anyio
async def test_503_honours_retry_after(webui: Any, tmp_path: Path) -> None:
    """HTTP 503 with ``Retry-After: 7`` is transient with ``retry_after`` 7 seconds."""
    webui.fail("503")
    with pytest.raises(ProviderError) as caught:
        await make(webui.url, tmp_path).generate(request(tmp_path))
    assert caught.value.transient
    assert caught.value.retry_after == 7.0


@pytest.mark.anyio
@pytest.mark.parametrize("status", ["409", "425"])
async def test_conflict_and_too_early_are_transient(webui: Any, tmp_path: Path, status: str) -> None:
    """HTTP 409 and 425 may pass by sending the request again: transient, honouring ``Retry-After``."""
    webui.fail(status)
    with pytest.raises(ProviderError) as caught:
        await make(webui.url, tmp_path).generate(request(tmp_path))
    assert caught.value.transient
    assert caught.value.retry_after == 3.0
    assert f"HTTP {status}" in caught.value.message


@pytest.mark.anyio
async def test_out_of_memory_is_permanent_with_advice(webui: Any, tmp_path: Path) -> None:
    """ "CUDA out of memory" in a 500 body is permanent and tells what to change."""
    webui.fail("oom")
    with pytest.raises(ProviderError) as caught:
        await make(webui.url, tmp_path).generate(request(tmp_path))
    assert not caught.value.transient
    assert "out of GPU memory" in caught.value.message
    assert "CUDA out of memory" in caught.value.message


@pytest.mark.anyio
async def test_connection_refused_is_transient(refused_url: str, tmp_path: Path) -> None:
    """Nothing listening at the address: transient, and the message names the address."""
    provider = make(refused_url, tmp_path)
    with pytest.raises(ProviderError) as caught:
        await provider.generate(request(tmp_path))
    assert caught.value.transient
    assert refused_url in caught.value.message
    availability = await provider.check()
    assert not availability.ok
    assert "--api" in availability.detail


@pytest.mark.anyio
async def test_check_reports_reachable_server(webui: Any, tmp_path: Path) -> None:
    """``check()`` asks ``/sdapi/v1/sd-models`` and counts the checkpoints."""
    availability = await make(webui.url, tmp_path, checkpoint="dreamshaper_8.safetensors").check()
    assert availability.ok, availability.detail
    assert "1 checkpoint" in availability.detail


def test_settings_of_another_backend_are_refused(tmp_path: Path) -> None:
    """``workflow`` belongs to comfyui: with backend webui it is a user error naming it."""
    with pytest.raises(UserError) as caught:
        make("http://127.0.0.1:1", tmp_path, workflow="wf.json")
    assert str(caught.value) == "providers.sd.workflow: not read by backend webui, only by comfyui"
