"""The ``openai`` illustrator against a local server speaking ``/v1/images/generations``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from aura_core import ImageRequest, ProviderError
from aura_core.testing import collect_usage
from aura_plugins_openai.image import OpenAIIllustrator, api_size
from aura_plugins_openai.settings import OpenAISettings

IMAGES = "/v1/images/generations"
Settings = Callable[..., OpenAISettings]


def image_request(out: Path, width: int, height: int) -> ImageRequest:
    """A request for one ``width`` x ``height`` picture."""
    return ImageRequest(
        prompt="a honeybee on a sunflower",
        negative_prompt="blurry",
        width=width,
        height=height,
        style="documentary",
        seed=1,
        out_path=out,
    )


@pytest.mark.parametrize(
    ("model", "width", "height", "size"),
    [
        ("dall-e-3", 1920, 1080, "1792x1024"),
        ("dall-e-3", 1080, 1920, "1024x1792"),
        ("dall-e-3", 720, 720, "1024x1024"),
        ("gpt-image-1", 160, 90, "1536x1024"),
        ("gpt-image-1", 90, 160, "1024x1536"),
        ("gpt-image-1", 500, 480, "1024x1024"),
        ("dall-e-2", 1920, 1080, "1024x1024"),
    ],
)
def test_size_follows_the_frame_aspect(model: str, width: int, height: int, size: str) -> None:
    """Each model is asked for its own size nearest in aspect to the frame."""
    assert api_size(model, width, height) == size


@pytest.mark.anyio
async def test_gpt_image_is_fitted_to_the_frame(
    fake_openai: Any, make_settings: Settings, tmp_path: Path
) -> None:
    """gpt-image-1 at 1536x1024 is scaled and centre-cropped to exactly 160x90, keeping its orientation."""
    out = tmp_path / "pictures" / "scene-1.png"
    illustrator = OpenAIIllustrator(make_settings(image_model="gpt-image-1", image_quality="low"))
    with collect_usage() as usage:
        picture = await illustrator.generate(image_request(out, 160, 90))
    assert (picture.width, picture.height, picture.path) == (160, 90, out)
    with Image.open(out) as saved:
        assert saved.format == "PNG" and saved.size == (160, 90)
        pixels = np.asarray(saved.convert("RGB")).astype(int)
    assert pixels[:, :10, 0].mean() < pixels[:, -10:, 0].mean()  # red grows left to right
    assert pixels[:10, :, 1].mean() < pixels[-10:, :, 1].mean()  # green grows top to bottom
    # Cropped top and bottom (3:2 into 16:9): the top row is not the source's darkest green.
    assert pixels[0, :, 1].mean() > 10
    body = fake_openai.asked(IMAGES)[0].json
    assert body["size"] == "1536x1024" and body["quality"] == "low"
    assert "response_format" not in body
    assert "documentary" in body["prompt"] and "Avoid: blurry" in body["prompt"]
    assert usage["images"] == 1
    assert usage["cost_usd"] == pytest.approx(0.016)


@pytest.mark.anyio
async def test_dall_e_3_portrait_asks_for_base64_and_style(
    fake_openai: Any, make_settings: Settings, tmp_path: Path
) -> None:
    """dall-e-3 for a 9:16 frame asks for 1024x1792, b64_json and the style setting."""
    out = tmp_path / "p.png"
    illustrator = OpenAIIllustrator(make_settings(image_model="dall-e-3", image_style="natural"))
    picture = await illustrator.generate(image_request(out, 90, 160))
    with Image.open(out) as saved:
        assert saved.size == (90, 160)
    body = fake_openai.asked(IMAGES)[0].json
    assert body["size"] == "1024x1792"
    assert body["response_format"] == "b64_json" and body["style"] == "natural"
    assert picture.source == "openai:dall-e-3"


@pytest.mark.anyio
async def test_image_errors_are_mapped(fake_openai: Any, make_settings: Settings, tmp_path: Path) -> None:
    """503 with Retry-After 2.5 is transient; 400 (content policy) is permanent; no file is left."""
    out = tmp_path / "p.png"
    illustrator = OpenAIIllustrator(make_settings(image_model="gpt-image-1"))
    fake_openai.fail(IMAGES, status=503, headers={"Retry-After": "2.5"})
    with pytest.raises(ProviderError) as busy:
        await illustrator.generate(image_request(out, 160, 90))
    assert (busy.value.transient, busy.value.retry_after) == (True, 2.5)
    fake_openai.fail(IMAGES, status=400, message="Your request was rejected by the safety system.")
    with pytest.raises(ProviderError) as refused:
        await illustrator.generate(image_request(out, 160, 90))
    assert refused.value.transient is False
    assert "safety system" in refused.value.message and "(400)" in refused.value.message
    assert not out.exists()
