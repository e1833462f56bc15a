"""The ``openai`` illustrator: ``images.generate`` at the model's nearest size, fitted to the frame."""

from __future__ import annotations

import base64
import binascii
import io
import math
from pathlib import Path
from typing import Any

from aura_core import (
    Availability,
    ImageRequest,
    Picture,
    ProviderError,
    ProviderSettings,
    record_usage,
    write_in_thread,
)
from aura_plugins_openai.client import check_service, fingerprint_of, open_client
from aura_plugins_openai.failures import to_provider_error
from aura_plugins_openai.settings import IMAGE_PRICES, OpenAISettings

DALL_E_3_SIZES = ((1792, 1024), (1024, 1792), (1024, 1024))
GPT_IMAGE_SIZES = ((1536, 1024), (1024, 1536), (1024, 1024))
DALL_E_2_SIZES = ((1024, 1024),)


def model_sizes(model: str) -> tuple[tuple[int, int], ...]:
    """The sizes ``model`` accepts; GPT-image sizes for models this plugin does not know (local servers)."""
    if model.startswith("dall-e-3"):
        return DALL_E_3_SIZES
    if model.startswith("dall-e-2"):
        return DALL_E_2_SIZES
    return GPT_IMAGE_SIZES


def api_size(model: str, width: int, height: int, setting: str = "auto") -> str:
    """The size to ask for: ``image_size``, else the model's size nearest in aspect to the frame."""
    if setting != "auto":
        return setting
    want = math.log(width / height)
    best = min(model_sizes(model), key=lambda size: abs(math.log(size[0] / size[1]) - want))
    return f"{best[0]}x{best[1]}"


def image_cost(settings: OpenAISettings, model: str, size: str) -> float:
    """Estimated price of one picture: the brief's ``prices`` entry, else the list price."""
    own = settings.prices.get(model)
    if own is not None and own.image is not None:
        return own.image
    width, _, height = size.partition("x")
    square = width == height
    default_quality = "standard" if model.startswith("dall-e-3") else "medium"
    quality = settings.image_quality if settings.image_quality not in (None, "auto") else default_quality
    listed = IMAGE_PRICES.get((model, str(quality), square))
    if listed is not None:
        return listed
    return settings.price(model).image or 0.0


def image_prompt(request: ImageRequest) -> str:
    """The prompt: the visual prompt, the style, and what to avoid (the API has no negative prompt)."""
    parts = [request.prompt.strip()]
    if request.style:
        parts.append(f"Style: {request.style}.")
    if request.negative_prompt:
        parts.append(f"Avoid: {request.negative_prompt}.")
    return " ".join(parts)


def save_fitted(data: bytes, width: int, height: int, out: Path) -> None:
    """Decode ``data``, scale and centre-crop it to ``width`` x ``height``, save a PNG at ``out`` (blocks)."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as source:
        picture = ImageOps.fit(source.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
    picture.save(out, format="PNG")


class OpenAIIllustrator:
    """kind ``image``: one picture per scene with ``image_model``, sent as base64, fitted to the frame."""

    kind = "image"
    name = "openai"

    def __init__(self, settings: OpenAISettings | None = None) -> None:
        self.settings = settings or OpenAISettings()
        self.concurrency = self.settings.effective_concurrency()

    def configure(self, settings: ProviderSettings) -> OpenAIIllustrator:
        """A copy set up from the brief's ``[providers.openai]`` table, read by the core into
        ``OpenAISettings`` (a key the table leaves out keeps this provider's value)."""
        return OpenAIIllustrator(settings.structure(OpenAISettings, current=self.settings))

    def fingerprint(self) -> str:
        """Server, model, quality, style and size setting."""
        s = self.settings
        return fingerprint_of(
            "image", s, model=s.image_model, quality=s.image_quality, style=s.image_style, size=s.image_size
        )

    async def check(self) -> Availability:
        """Key present and server reachable."""
        return await check_service(self.settings, model=self.settings.image_model, model_key="image_model")

    async def generate(self, request: ImageRequest) -> Picture:
        """Make the picture and write it to ``request.out_path`` at exactly the requested size."""
        import openai
        from PIL import UnidentifiedImageError

        s = self.settings
        model = s.image_model
        if request.width < 1 or request.height < 1:
            # Refused before any call: api_size divides by the height, and no server can draw it.
            raise ProviderError(
                f"openai: {request.width}x{request.height} is too small: a picture needs at least 1x1 pixels",
                transient=False,
            )
        size = api_size(model, request.width, request.height, s.image_size)
        options: dict[str, Any] = {"model": model, "prompt": image_prompt(request), "size": size, "n": 1}
        if not model.startswith("gpt-image"):
            options["response_format"] = (
                "b64_json"  # GPT-image models always answer in base64 and refuse the key
            )
        if s.image_quality is not None:
            options["quality"] = s.image_quality
        if s.image_style is not None:
            options["style"] = s.image_style
        try:
            async with open_client(s) as client:
                result = await client.images.generate(**options)
        except openai.OpenAIError as error:
            raise to_provider_error(error, s, model=model, model_key="image_model") from None
        encoded = result.data[0].b64_json if result.data else None
        if not encoded:
            raise ProviderError(
                f"openai: {s.base_url} sent no base64 image for model '{model}'; "
                "the server must support response_format b64_json",
                transient=False,
            )
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ProviderError(
                f"openai: the image from {s.base_url} is not valid base64 ({error})"
            ) from None
        out = request.out_path
        try:
            # In a worker thread; a cancellation meanwhile lands before the result, and no file is left.
            await write_in_thread(out, lambda path: save_fitted(data, request.width, request.height, path))
        except (UnidentifiedImageError, OSError) as error:
            raise ProviderError(f"openai: the image from {s.base_url} cannot be decoded ({error})") from None
        record_usage(images=1, cost_usd=image_cost(s, model, size))
        return Picture(
            path=out,
            width=request.width,
            height=request.height,
            source=f"openai:{model}",
            license=f"generated by the model '{model}'; use under its provider's terms",
        )
