"""Real media for a fake stock library: a JPEG photo and an MP4 clip of a given size, as bytes.

A stock plugin's tests serve these from ``aura_core.testing.http.FakeHTTPServer`` as its vendor's CDN
would, so what the plugin downloads really decodes. Each is one flat colour with a lighter band across
its left third, so a test can tell which file ended up in a frame and that it was cropped, not stretched.
Needs Pillow and PyAV (``aura-core[stock]``), imported when called.
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["clip_bytes", "photo_bytes"]

RGB = tuple[int, int, int]


def _band(width: int, height: int, colour: RGB) -> Image.Image:
    """A Pillow image: ``colour`` with its left third lighter."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (width, height), colour)
    lighter = tuple(min(255, c + 90) for c in colour)
    ImageDraw.Draw(picture).rectangle((0, 0, max(0, width // 3 - 1), height), fill=lighter)
    return picture


def photo_bytes(width: int, height: int, colour: RGB = (40, 90, 160)) -> bytes:
    """A ``width`` x ``height`` JPEG of ``colour`` with a lighter left third."""
    picture = _band(width, height, colour)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def clip_bytes(
    width: int, height: int, seconds: float = 1.0, fps: int = 10, colour: RGB = (160, 60, 40)
) -> bytes:
    """An H.264 MP4 of ``width`` x ``height`` (even sides), ``seconds`` long at ``fps``: ``colour`` with a
    lighter left third, brightening a little frame by frame, no sound."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        frames = max(1, round(seconds * fps))
        for number in range(frames):
            red, green, blue = (min(255, c + number % 20) for c in colour)
            shade = (red, green, blue)
            frame = av.VideoFrame.from_image(_band(width, height, shade))  # type: ignore[no-untyped-call]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()
