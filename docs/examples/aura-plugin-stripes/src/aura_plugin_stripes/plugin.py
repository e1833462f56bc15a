"""The ``stripes`` plugin: an image provider that draws deterministic stripes with Pillow."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from aura_core import (
    Availability,
    ImageRequest,
    Picture,
    ProviderError,
    hookimpl,
    record_usage,
    setting,
    write_in_thread,
)
from PIL import Image, ImageDraw

DEFAULT_PALETTE = ("#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51")


def _colours(palette: tuple[str, ...]) -> None:
    if not all(re.fullmatch(r"#[0-9a-fA-F]{6}", c) for c in palette) or len({c.lower() for c in palette}) < 2:
        raise ValueError(f"expected 2+ different colours like '#2a9d8f', got {list(palette)!r}")


@attrs.frozen
class StripesSettings:
    """The ``[providers.stripes]`` table: the core reads it into this class and names every mistake."""

    palette: tuple[str, ...] = setting(DEFAULT_PALETTE, check=_colours, help="the colours to draw with")
    stripe: int = setting(24, at_least=1, help="the mean stripe width, in pixels")


@attrs.frozen
class StripesIllustrator:
    """kind ``image``, name ``stripes``: vertical stripes; colours and widths follow the prompt and seed."""

    kind = "image"
    name = "stripes"
    concurrency = 2  # two pictures at once: the drawing runs in worker threads
    auto = False  # used only when a brief names it: image = ["stripes"]

    settings: StripesSettings = StripesSettings()

    def fingerprint(self) -> str:
        """Everything that changes the picture: the drawing code's version and the settings."""
        return f"stripes/1:{','.join(self.settings.palette)}:{self.settings.stripe}"

    async def check(self) -> Availability:
        """Nothing to reach: always available."""
        s = self.settings
        return Availability(True, f"{len(s.palette)} colours, stripes of about {s.stripe} px")

    async def generate(self, request: ImageRequest) -> Picture:
        """Draw the stripes for ``request`` and write them as PNG to ``request.out_path``."""
        if request.width < 2 or request.height < 2:
            # The same request would fail again: permanent, with what to fix.
            raise ProviderError(
                f"stripes: {request.width}x{request.height} is too small to draw", transient=False
            )
        # Drawn in a worker thread; no partial file is left after a failure or a cancellation.
        await write_in_thread(request.out_path, lambda path: self._draw(request, path))
        record_usage(images=1)
        return Picture(
            path=request.out_path,
            width=request.width,
            height=request.height,
            source="stripes",
            license="CC0 (generated)",
        )

    def _draw(self, request: ImageRequest, path: Path) -> None:
        palette, stripe = self.settings.palette, self.settings.stripe
        rng = random.Random(hashlib.sha256(f"{request.prompt}\x1f{request.seed}".encode()).digest())
        image = Image.new("RGB", (request.width, request.height))
        draw = ImageDraw.Draw(image)
        x, previous = 0, -1
        while x < request.width:
            colour = rng.choice([i for i in range(len(palette)) if i != previous])
            # at least two stripes on any picture, so it is never one flat colour
            width = max(1, min(round(stripe * rng.uniform(0.5, 1.5)), request.width // 2))
            draw.rectangle((x, 0, x + width - 1, request.height - 1), fill=palette[colour])
            x, previous = x + width, colour
        image.save(path, format="PNG")


@hookimpl
def aura_register_providers(register: Callable[..., Any]) -> None:
    """Register the ``stripes`` image provider."""
    register(StripesIllustrator())
