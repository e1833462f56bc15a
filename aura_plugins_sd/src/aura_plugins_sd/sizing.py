"""Native generation sizes per model family, and fitting a generated picture to the requested size."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Sizes each model family was trained on (width, height); generating off these gives repeated subjects.
NATIVE_SIZES: Mapping[str, tuple[tuple[int, int], ...]] = {
    "sd15": ((512, 512), (640, 512), (512, 640), (768, 512), (512, 768)),
    "sdxl": (
        (1024, 1024),
        (1152, 896),
        (896, 1152),
        (1216, 832),
        (832, 1216),
        (1344, 768),
        (768, 1344),
        (1536, 640),
        (640, 1536),
    ),
}


def native_size(width: int, height: int, sizes: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The size in ``sizes`` whose aspect ratio is closest to ``width``:``height`` (larger area on a tie)."""
    target = math.log(width / height)
    return min(sizes, key=lambda s: (round(abs(math.log(s[0] / s[1]) - target), 9), -s[0] * s[1]))


def fit_png(data: bytes, width: int, height: int, out_path: Path) -> tuple[int, int]:
    """Scale the encoded image ``data`` to cover ``width`` x ``height``, crop the centre, write a PNG.

    Returns the size of the picture as decoded, before fitting.
    Blocking: the provider calls it through ``write_in_thread``, which removes a partial file.
    PIL is imported here, on first use, not when the plugin loads.
    """
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as source:
            source.load()
            picture = source.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ValueError(f"the server sent {len(data)} bytes that are not an image ({error})") from error
    native: tuple[int, int] = (picture.width, picture.height)
    scale = max(width / picture.width, height / picture.height)
    scaled_w = max(width, round(picture.width * scale))
    scaled_h = max(height, round(picture.height * scale))
    if (scaled_w, scaled_h) != picture.size:
        picture = picture.resize((scaled_w, scaled_h), Image.Resampling.LANCZOS)
    left = (scaled_w - width) // 2
    top = (scaled_h - height) // 2
    picture = picture.crop((left, top, left + width, top + height))
    picture.save(out_path, format="PNG")
    return native
