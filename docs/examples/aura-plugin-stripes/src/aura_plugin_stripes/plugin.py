"""The ``stripes`` plugin: an image provider that draws deterministic stripes with Pillow."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from typing import Any

import anyio
import attrs
from aura_core import (
    Availability,
    ImageRequest,
    Picture,
    ProviderError,
    ProviderSettings,
    UserError,
    hookimpl,
    record_usage,
)
from PIL import Image, ImageDraw

DEFAULT_PALETTE = ("#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


@attrs.frozen
class StripesIllustrator:
    """kind ``image``, name ``stripes``: vertical stripes; colours and widths follow the prompt and seed."""

    kind = "image"
    name = "stripes"
    concurrency = 2  # two pictures at once: the drawing runs in worker threads
    auto = False  # used only when a brief names it: image = ["stripes"]

    palette: tuple[str, ...] = DEFAULT_PALETTE
    stripe: int = 24  # mean stripe width, in pixels

    def configure(self, settings: ProviderSettings) -> StripesIllustrator:
        """A copy set up from ``[providers.stripes]``; a bad key or value is a ``UserError``."""
        values = dict(settings.values)
        unknown = sorted(values.keys() - {"palette", "stripe"})
        if unknown:
            raise UserError(
                f"providers.stripes: unknown setting(s) {', '.join(unknown)}; expected palette, stripe"
            )
        palette = values.get("palette", list(self.palette))
        if (
            not isinstance(palette, list)
            or not all(isinstance(c, str) and _HEX.match(c) for c in palette)
            or len({c.lower() for c in palette}) < 2
        ):
            raise UserError(
                f"providers.stripes.palette: expected 2+ different colours like '#2a9d8f', got {palette!r}"
            )
        stripe = values.get("stripe", self.stripe)
        if isinstance(stripe, bool) or not isinstance(stripe, int) or stripe < 1:
            raise UserError(
                f"providers.stripes.stripe: expected a whole number of pixels >= 1, got {stripe!r}"
            )
        return attrs.evolve(self, palette=tuple(c.lower() for c in palette), stripe=stripe)

    def fingerprint(self) -> str:
        """Everything that changes the picture: the drawing code's version and the settings."""
        return f"stripes/1:{','.join(self.palette)}:{self.stripe}"

    async def check(self) -> Availability:
        """Nothing to reach: always available."""
        return Availability(True, f"{len(self.palette)} colours, stripes of about {self.stripe} px")

    async def generate(self, request: ImageRequest) -> Picture:
        """Draw the stripes for ``request`` and write them as PNG to ``request.out_path``."""
        if request.width < 2 or request.height < 2:
            # The same request would fail again: permanent, with what to fix.
            raise ProviderError(
                f"stripes: {request.width}x{request.height} is too small to draw", transient=False
            )
        try:
            await anyio.to_thread.run_sync(self._draw, request)
            # A thread cannot be stopped: a cancellation that came while it drew lands here, and
            # the except below removes the finished file instead of returning it.
            await anyio.sleep(0)
        except BaseException:
            request.out_path.unlink(missing_ok=True)  # no partial file after a failure or a cancellation
            raise
        record_usage(images=1)
        return Picture(
            path=request.out_path,
            width=request.width,
            height=request.height,
            source="stripes",
            license="CC0 (generated)",
        )

    def _draw(self, request: ImageRequest) -> None:
        rng = random.Random(hashlib.sha256(f"{request.prompt}\x1f{request.seed}".encode()).digest())
        image = Image.new("RGB", (request.width, request.height))
        draw = ImageDraw.Draw(image)
        x, previous = 0, -1
        while x < request.width:
            colour = rng.choice([i for i in range(len(self.palette)) if i != previous])
            # at least two stripes on any picture, so it is never one flat colour
            width = max(1, min(round(self.stripe * rng.uniform(0.5, 1.5)), request.width // 2))
            draw.rectangle((x, 0, x + width - 1, request.height - 1), fill=self.palette[colour])
            x, previous = x + width, colour
        image.save(request.out_path, format="PNG")


@hookimpl
def aura_register_providers(register: Callable[..., Any]) -> None:
    """Register the ``stripes`` image provider."""
    register(StripesIllustrator())
