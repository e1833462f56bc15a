"""The ``cards`` illustrator: title cards drawn with Pillow, offline and in a few milliseconds.

A card is a gradient in two colours of the style's palette, a few translucent shapes, and the scene
heading set large in DejaVu Sans Bold (shipped in this package), wrapped to fit the frame.
Everything is chosen by a generator seeded from the prompt, the style and the seed: the same request
draws the same card.
"""

from __future__ import annotations

import hashlib
import random
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from aura_core import ImageRequest, Picture, ProviderError, record_usage, write_in_thread

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

#: Colours per style: the first two are gradient candidates, all are shape colours.
PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "documentary": ((38, 50, 56), (93, 64, 55), (161, 136, 127), (120, 144, 156), (215, 204, 200)),
    "playful": ((255, 111, 145), (255, 199, 95), (0, 201, 167), (132, 94, 194), (255, 150, 113)),
    "corporate": ((13, 71, 161), (21, 101, 192), (66, 165, 245), (176, 190, 197), (236, 239, 241)),
    "cinematic": ((10, 14, 30), (58, 12, 45), (255, 140, 0), (0, 150, 170), (120, 20, 40)),
    "minimal": ((245, 245, 240), (225, 225, 220), (30, 30, 30), (200, 60, 50), (160, 160, 155)),
}

_SHAPES = ("circle", "band", "rectangle", "ring")


def font_path(bold: bool = True) -> Path:
    """The bundled DejaVu Sans font file (bold by default)."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(str(files("aura_plugins_local").joinpath("fonts", name)))


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path()), size)


def palette_for(style: str) -> tuple[tuple[int, int, int], ...]:
    """The style's palette; an unknown style gets one derived from its name."""
    key = style.strip().lower()
    if key in PALETTES:
        return PALETTES[key]
    rng = random.Random(hashlib.sha256(key.encode()).digest())
    return tuple((rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(5))


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def fit_heading(text: str, width: int, height: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font (from 11 % of the short side down) at which ``text`` wraps inside the safe area."""
    from PIL import Image, ImageDraw

    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    max_width, max_height = width * 0.84, height * 0.55
    size = max(8, int(min(width, height) * 0.11))
    while True:
        font = _font(size)
        lines = _wrap(probe, text, font, max_width)
        line_height = size * 1.2
        widest = max(probe.textlength(line, font=font) for line in lines)
        if (widest <= max_width and len(lines) * line_height <= max_height) or size <= 8:
            return font, lines
        size = max(8, int(size * 0.9))


def draw_card(prompt: str, heading: str, style: str, seed: int, width: int, height: int) -> Image.Image:
    """The title card for a scene as an RGB image of ``width`` x ``height``."""
    import numpy as np  # imported on first draw (in the worker thread): registering needs neither
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(f"{prompt}\x1f{style}\x1f{seed}".encode()).digest()
    rng = random.Random(digest)
    colours = palette_for(style)
    top, bottom = rng.sample(colours[:2], 2) if rng.random() < 0.5 else (colours[0], colours[1])
    # a diagonal gradient at a seeded angle, computed in numpy
    angle = rng.uniform(0, np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    t = xs / width * np.cos(angle) + ys / height * np.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    pixels = np.array(top, np.float32) + t[..., None] * (
        np.array(bottom, np.float32) - np.array(top, np.float32)
    )
    image = Image.fromarray(pixels.astype(np.uint8)).convert("RGBA")

    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    shapes = ImageDraw.Draw(overlay)
    short = min(width, height)
    for _ in range(rng.randint(4, 7)):
        colour = rng.choice(colours[2:])
        fill = (*colour, rng.randint(40, 110))
        kind = rng.choice(_SHAPES)
        cx, cy = rng.uniform(-0.1, 1.1) * width, rng.uniform(-0.1, 1.1) * height
        radius = rng.uniform(0.15, 0.5) * short
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        if kind == "circle":
            shapes.ellipse(box, fill=fill)
        elif kind == "ring":
            shapes.ellipse(box, outline=fill, width=max(2, int(radius * 0.12)))
        elif kind == "rectangle":
            shapes.rectangle(box, fill=fill)
        else:
            band = rng.uniform(0.04, 0.12) * short
            shapes.polygon(
                [(0, cy), (width, cy - radius), (width, cy - radius + band), (0, cy + band)], fill=fill
            )
    image = Image.alpha_composite(image, overlay)

    text = " ".join(heading.split())
    if text:
        font, lines = fit_heading(text, width, height)
        draw = ImageDraw.Draw(image)
        line_height = int(font.size * 1.2)
        y = (height - line_height * len(lines)) / 2
        # light text on dark cards, dark text on light ones
        luminance = float(
            np.mean(pixels[int(height * 0.3) : int(height * 0.7)] @ np.array([0.299, 0.587, 0.114]))
        )
        ink, shade = (
            ((20, 20, 20, 255), (255, 255, 255, 140))
            if luminance > 150
            else ((255, 255, 255, 255), (0, 0, 0, 160))
        )
        offset = max(1, font.size // 18)
        for line in lines:
            x = (width - draw.textlength(line, font=font)) / 2
            draw.text((x + offset, y + offset), line, font=font, fill=shade)
            draw.text((x, y), line, font=font, fill=ink)
            y += line_height
    return image.convert("RGB")


class CardsIllustrator:
    """kind ``image``, name ``cards``: a generated title card per scene, CC0."""

    kind = "image"
    name = "cards"
    auto = True
    deterministic = True  # the same request gives the same picture: a bad one is not retried
    concurrency = 2

    def fingerprint(self) -> str:
        """The drawing code's version: bump it when cards change."""
        return "cards/1"

    async def generate(self, request: ImageRequest) -> Picture:
        """Draw the card for ``request`` and write it as PNG to ``request.out_path``."""
        if request.width < 16 or request.height < 16:
            raise ProviderError(f"cards: {request.width}x{request.height} is too small", transient=False)

        def render(path: Path) -> tuple[int, int]:
            image = draw_card(
                request.prompt, request.heading, request.style, request.seed, request.width, request.height
            )
            image.save(path, format="PNG", compress_level=1)
            return image.size

        width, height = await write_in_thread(request.out_path, render)
        record_usage(images=1)
        return Picture(
            path=request.out_path, width=width, height=height, source="cards", license="CC0 (generated)"
        )
