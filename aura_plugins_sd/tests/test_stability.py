"""The Stability AI backend against a local server speaking the v2beta stable-image API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aura_core import ImageRequest, ProviderError, ProviderSettings
from aura_core.testing import collect_usage
from aura_plugins_sd import SDProvider


def make(url: str, tmp_path: Path, **values: Any) -> SDProvider:
    return SDProvider().configure(ProviderSettings({"backend": "stability", "url": url, **values}, tmp_path))


def request(tmp_path: Path) -> ImageRequest:
    return ImageRequest(
        prompt="a field of sunflowers",
        negative_prompt="",
        width=160,
        height=90,
        style="playful",
        seed=77,
        out_path=tmp_path / "scene.png",
    )


@pytest.mark.anyio
async def test_core_generates_multipart_with_bearer_key(
    stability: Any, tmp_path: Path, quadrants: Any
) -> None:
    """A multipart POST to ``generate/core`` with the key and ``accept: image/*``; cost counted."""
    with collect_usage() as usage:
        picture = await make(stability.url, tmp_path).generate(request(tmp_path))
    quadrants(picture.path, 160, 90)  # the server's 1344x768 PNG, fitted
    call = stability.calls("/v2beta/stable-image/generate/core")[0]
    assert call.headers["accept"] == "image/*"
    assert call.headers["content-type"].startswith("multipart/form-data")
    form = call.form
    assert form["aspect_ratio"] == "16:9"
    assert form["seed"] == "77"
    assert form["output_format"] == "png"
    assert form["prompt"].startswith("a field of sunflowers, playful colorful illustration")
    assert "model" not in form
    assert usage["images"] == 1
    assert usage["cost_usd"] == pytest.approx(0.03)
    assert picture.source == "sd/stability:core"


@pytest.mark.anyio
async def test_sd3_model_goes_to_sd3_endpoint_with_price_setting(stability: Any, tmp_path: Path) -> None:
    """An sd3.5 model posts ``model`` and ``mode`` to ``generate/sd3``; ``price_usd`` is what is counted."""
    provider = make(stability.url, tmp_path, model="sd3.5-large-turbo", price_usd=0.05, cfg=1.5)
    with collect_usage() as usage:
        await provider.generate(request(tmp_path))
    form = stability.calls("/v2beta/stable-image/generate/sd3")[0].form
    assert (form["model"], form["mode"], form["cfg_scale"]) == ("sd3.5-large-turbo", "text-to-image", "1.5")
    assert "negative_prompt" not in form  # turbo models take none
    assert usage["cost_usd"] == pytest.approx(0.05)


@pytest.mark.anyio
async def test_wrong_key_401_is_permanent_and_names_the_variable(
    stability: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key the server refuses: permanent, says to set STABILITY_API_KEY, never shows the key."""
    monkeypatch.setenv("STABILITY_API_KEY", "sk-wrong-key-5555")
    with pytest.raises(ProviderError) as caught:
        await make(stability.url, tmp_path).generate(request(tmp_path))
    assert not caught.value.transient
    assert "STABILITY_API_KEY" in caught.value.message
    assert "sk-wrong-key-5555" not in str(caught.value)


@pytest.mark.anyio
async def test_missing_key_fails_without_a_request(
    stability: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No key in the environment: permanent error and ``check()`` not ok, nothing sent."""
    monkeypatch.delenv("STABILITY_API_KEY")
    provider = make(stability.url, tmp_path)
    with pytest.raises(ProviderError, match="set STABILITY_API_KEY") as caught:
        await provider.generate(request(tmp_path))
    assert not caught.value.transient
    assert stability.requests == []
    assert not (await provider.check()).ok


@pytest.mark.anyio
async def test_content_moderation_403_is_permanent(stability: Any, tmp_path: Path) -> None:
    """HTTP 403 content_moderation: permanent, with the server's reason and what to do."""
    stability.fail("moderation")
    with pytest.raises(ProviderError) as caught:
        await make(stability.url, tmp_path).generate(request(tmp_path))
    assert not caught.value.transient
    assert "content moderation" in caught.value.message
    assert "reword" in caught.value.message


@pytest.mark.anyio
async def test_content_filtered_finish_reason_is_permanent(stability: Any, tmp_path: Path) -> None:
    """A 200 whose ``finish-reason`` is CONTENT_FILTERED is not saved as a picture."""
    stability.fail("filtered")
    with pytest.raises(ProviderError, match="CONTENT_FILTERED") as caught:
        await make(stability.url, tmp_path).generate(request(tmp_path))
    assert not caught.value.transient
    assert not (tmp_path / "scene.png").exists()


@pytest.mark.anyio
@pytest.mark.parametrize(("fault", "retry_after"), [("500", None), ("429", 3.0)])
async def test_server_errors_and_rate_limits_are_transient(
    stability: Any, tmp_path: Path, fault: str, retry_after: float | None
) -> None:
    """HTTP 500 and 429 are transient; 429's ``Retry-After`` is passed on."""
    stability.fail(fault)
    with pytest.raises(ProviderError) as caught:
        await make(stability.url, tmp_path).generate(request(tmp_path))
    assert caught.value.transient
    assert caught.value.retry_after == retry_after


@pytest.mark.anyio
async def test_key_echoed_by_the_server_is_scrubbed(stability: Any, tmp_path: Path) -> None:
    """A server error that repeats the key does not carry it into the exception text."""
    stability.fail("echo-key")
    with pytest.raises(ProviderError) as caught:
        await make(stability.url, tmp_path).generate(request(tmp_path))
    assert stability.KEY not in str(caught.value)
    assert "***" in caught.value.message
