"""Ken Burns moves, generated backgrounds and transitions.

The still is decoded and cover-fitted once, upsampled 4x with lanczos once, and each frame of
the move is a nearest-pixel gather from it (``Sampler``): the window moves by quarter pixels,
so there is none of the integer-rounding jitter of ``zoompan`` or of ``crop`` offsets, at a
fraction of the cost of the ``perspective`` filter (about 2 ms instead of 20 ms per 1080p frame).
Frames are gathered a batch at a time, band by band, into reused ``Canvas`` buffers.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import ffmpeg
from attrs import frozen

from aura_core import ProviderError


@frozen
class Move:
    """A Ken Burns move: zoom factors and window anchors (0..1 in the slack) at its start and end."""

    zoom_start: float
    zoom_end: float
    anchor_start: tuple[float, float]
    anchor_end: tuple[float, float]


def move_for(index: int, zoom: float) -> Move:
    """The move of scene ``index``: zoom in, out and pans in turn, so neighbours never move alike."""
    moves = (
        Move(1.0, zoom, (0.5, 0.5), (0.3, 0.35)),
        Move(zoom, 1.0, (0.75, 0.5), (0.5, 0.5)),
        Move(zoom, zoom, (0.0, 0.5), (1.0, 0.5)),
        Move(1.0, zoom, (0.5, 0.5), (0.75, 0.7)),
        Move(zoom, zoom, (1.0, 0.35), (0.0, 0.65)),
        Move(zoom, 1.0, (0.3, 0.7), (0.5, 0.5)),
    )
    return moves[index % len(moves)]


def _lerp(a: float, b: float, progress: float) -> float:
    return a + (b - a) * progress


#: A part of a frame: left, top, right, bottom, in (fractional) pixels.
Box = tuple[float, float, float, float]


def window(move: Move, width: int, height: int, progress: float) -> Box:
    """The part of the frame ``move`` shows at ``progress`` (0..1): left, top, right, bottom, in pixels.

    The window is 1/zoom of the frame; its top-left corner slides through the slack.
    Coordinates are real numbers: the window moves by fractions of a pixel.
    """
    inv_zoom = _lerp(1 / move.zoom_start, 1 / move.zoom_end, progress)
    win_w, win_h = width * inv_zoom, height * inv_zoom
    left = _lerp(move.anchor_start[0], move.anchor_end[0], progress) * (width - win_w)
    top = _lerp(move.anchor_start[1], move.anchor_end[1], progress) * (height - win_h)
    return left, top, left + win_w, top + win_h


def supersampling(width: int, height: int) -> int:
    """How many times the still is upsampled before frames are sampled from it (4, or 2 above 1440p)."""
    return 4 if width * height <= 2560 * 1440 else 2


#: One plane of a frame as it is piped: the sampler's own buffer, or the bytes of a blended plane.
Plane = bytes | memoryview


def chroma_size(width: int, height: int) -> tuple[int, int]:
    """The size of a ``width`` x ``height`` yuv420p frame's chroma planes (a chroma pixel covers
    2 x 2 frame pixels; the last one may hang over an odd edge)."""
    return (width + 1) // 2, (height + 1) // 2


def _image_over(buffer: bytearray | memoryview, size: tuple[int, int]) -> Any:
    """A Pillow ``L`` image of ``size`` over ``buffer`` itself, not a copy (Pillow maps any
    contiguous buffer, though its annotations name only bytes)."""
    from PIL import Image  # imported here: ``import aura_plugins_ffmpeg.plugin`` stays cheap

    return Image.frombuffer("L", size, cast("bytes", buffer), "raw", "L", 0, 1)


class Canvas:
    """The Y, U and V planes one frame is sampled into, reused for every frame of a segment.

    They are Pillow ``L`` images over buffers of the canvas's own, which ``Sampler.frames`` writes
    in place and which are piped as they are: a frame costs no allocation, no zeroing and no copy
    (``Image.transform`` returns a new image, and ``tobytes`` copies it twice). So a frame's planes
    are only valid until the next frame is sampled into the same canvas.
    """

    def __init__(self, width: int, height: int) -> None:
        """The planes of a ``width`` x ``height`` yuv420p frame."""
        chroma = chroma_size(width, height)
        sizes = ((width, height), chroma, chroma)
        buffers = [bytearray(w * h) for w, h in sizes]
        self.images = tuple(_image_over(buffer, size) for buffer, size in zip(buffers, sizes, strict=True))
        self.planes = (memoryview(buffers[0]), memoryview(buffers[1]), memoryview(buffers[2]))

    def blended(self, mix: Mix) -> tuple[bytes, bytes, bytes]:
        """The canvas's frame blended with ``mix``'s frame at its weight (a crossfade's frame), as
        new bytes: the canvas is left as it is."""
        from PIL import Image

        y, u, v = (
            Image.blend(own, other, mix.weight).tobytes()
            for own, other in zip(self.images, mix.planes, strict=True)
        )
        return y, u, v


#: Frames sampled together (``Sampler.frames``; fewer when their canvases would pass
#: ``BATCH_BYTES``), and the rows of a band (luma; chroma takes half).
BATCH = 8
BATCH_BYTES = 32 << 20
BAND = 120


def batch_size(width: int, height: int) -> int:
    """How many ``width`` x ``height`` frames a segment samples together: ``BATCH``, or as many as
    fit in ``BATCH_BYTES`` (8 up to 1080p, 6 at 1440p, 2 at 4K), at least 1."""
    cw, ch = chroma_size(width, height)
    frame = width * height + 2 * cw * ch
    return max(1, min(BATCH, BATCH_BYTES // frame))


def _sample_rows(source: Any, target: Any, extent: Box, rows: tuple[int, int]) -> None:
    """Fill ``rows`` (first, end) of ``target`` (a Pillow image) with what they show of ``extent``
    of ``source``, nearest pixel, in ``target``'s own memory.

    The rows are what ``source.transform`` (``Transform.EXTENT``) gives for their part of the
    extent (tested against it), without the new image ``Image.transform`` returns: the call it
    makes on Pillow's core image, with the affine it derives from an extent, shifted to the first
    row (the core maps a box from its own corner). Pillow steps from row to row by adding, so a
    whole-frame transform can pick the neighbouring still row where a position lands on a
    boundary; each band starts exact.
    """
    from PIL import Image

    left, top, right, bottom = extent
    width, height = target.size
    first, end = rows
    scale_x, scale_y = (right - left) / width, (bottom - top) / height
    affine = (scale_x, 0, left, 0, scale_y, top + first * scale_y)
    target.im.transform(
        (0, first, width, end), source.im, Image.Transform.AFFINE, affine, Image.Resampling.NEAREST, 1
    )


class Sampler:
    """A yuv420p still upsampled ``factor`` times (lanczos), from which each frame of a move is sampled.

    Each output pixel takes the nearest pixel of the upsampled picture: positions are exact to
    1/(2 * factor) of a pixel, so the motion has no integer-rounding jitter, and a 1080p frame
    costs about 3 ms instead of the 20 ms of an interpolating ``perspective`` filter.
    """

    def __init__(self, raw: bytearray, width: int, height: int, factor: int) -> None:
        """``raw`` is one yuv420p frame of ``width * factor`` x ``height * factor``; the planes are
        views of it (no copy), so the still is in memory once."""
        big_w, big_h = width * factor, height * factor
        luma = big_w * big_h
        chroma = (big_w // 2) * (big_h // 2)
        if len(raw) != luma + 2 * chroma:
            raise ProviderError(
                f"the upsampled still has {len(raw)} bytes, expected {luma + 2 * chroma}", transient=False
            )
        view = memoryview(raw)
        self.width, self.height, self.factor = width, height, factor
        self._planes = (
            _image_over(view[:luma], (big_w, big_h)),
            _image_over(view[luma : luma + chroma], (big_w // 2, big_h // 2)),
            _image_over(view[luma + chroma :], (big_w // 2, big_h // 2)),
        )

    @staticmethod
    def size(width: int, height: int, factor: int) -> int:
        """The bytes of the yuv420p still a ``width`` x ``height`` frame upsampled ``factor`` times takes."""
        big_w, big_h = width * factor, height * factor
        return big_w * big_h + 2 * (big_w // 2) * (big_h // 2)

    def _boxes(self, box: Box) -> tuple[Box, Box]:
        """``box`` in the still's luma and chroma pixels."""
        left, top, right, bottom = box
        k = self.factor
        cw, ch = chroma_size(self.width, self.height)
        sx, sy = (right - left) / self.width, (bottom - top) / self.height
        half = k / 2
        chroma_box = (left * half, top * half, (left + 2 * cw * sx) * half, (top + 2 * ch * sy) * half)
        return (left * k, top * k, right * k, bottom * k), chroma_box

    def frames(self, boxes: Sequence[Box], canvases: Sequence[Canvas]) -> None:
        """Sample the frames showing ``boxes`` (left, top, right, bottom in frame pixels) into
        ``canvases``, one each (``batch_size`` of them at a time is the point).

        They are sampled band by band (``BAND`` rows): one frame reads only every ``factor``-th row
        of the still, the frames after it the rows in between, so each band of the still is
        fetched from memory once for all of them rather than once per frame (a third less CPU
        beside two encoders). A frame's pixels do not depend on the frames sampled with it.
        """
        plane_boxes = [self._boxes(box) for box in boxes]
        for plane, source in enumerate(self._planes):
            band = BAND if plane == 0 else BAND // 2
            height = canvases[0].images[plane].height
            for first in range(0, height, band):
                rows = (first, min(height, first + band))
                for (luma_box, chroma_box), canvas in zip(plane_boxes, canvases, strict=False):
                    extent = luma_box if plane == 0 else chroma_box
                    _sample_rows(source, canvas.images[plane], extent, rows)


@frozen
class Mix:
    """What a crossfade frame blends in: the next scene's first frame (its Y, U and V planes as Pillow
    ``L`` images) at ``weight`` (0 keeps the own frame, 1 shows the next one)."""

    planes: tuple[Any, Any, Any]
    weight: float

    @staticmethod
    def planes_of(raw: bytes, width: int, height: int) -> tuple[Any, Any, Any]:
        """The Y, U and V planes of one yuv420p frame ``raw`` as Pillow images."""
        from PIL import Image

        cw, ch = chroma_size(width, height)
        luma, chroma = width * height, cw * ch
        return (
            Image.frombytes("L", (width, height), raw[:luma]),
            Image.frombytes("L", (cw, ch), raw[luma : luma + chroma]),
            Image.frombytes("L", (cw, ch), raw[luma + chroma : luma + 2 * chroma]),
        )


#: Background colour pairs for scenes without a picture, chosen by scene index.
_BACKGROUNDS: tuple[tuple[str, str], ...] = (
    ("0x1d3557", "0x457b9d"),
    ("0x2a9d8f", "0x264653"),
    ("0x6d597a", "0xe56b6f"),
    ("0x3d405b", "0x81b29a"),
    ("0x22223b", "0x9a8c98"),
)


def still(picture: Path | None, index: int, width: int, height: int, fps: int) -> Any:
    """One ``width`` x ``height`` yuv420p frame: the picture cover-fitted, or a generated gradient."""
    if picture is None:
        c0, c1 = _BACKGROUNDS[index % len(_BACKGROUNDS)]
        source = (
            f"gradients=s={width}x{height}:r={fps}:c0={c0}:c1={c1}:nb_colors=2"
            f":x0=0:y0=0:x1={width}:y1={height}:speed=0:d=1"
        )
        stream = ffmpeg.input(source, f="lavfi").video.filter("trim", end_frame=1)
    else:
        stream = (
            ffmpeg.input(str(picture), framerate=fps)
            .video.filter("scale", width, height, force_original_aspect_ratio="increase", flags="lanczos")
            .filter("crop", width, height)
        )
    return stream.filter("setsar", 1).filter("format", "yuv420p")


def upsampled(stream: Any, width: int, height: int, factor: int) -> Any:
    """The one-frame ``stream`` upsampled ``factor`` times with lanczos, as raw yuv420p on stdout."""
    big = stream
    if factor > 1:
        big = big.filter("scale", width * factor, height * factor, flags="lanczos").filter(
            "format", "yuv420p"
        )
    return ffmpeg.output(big, "pipe:", f="rawvideo", pix_fmt="yuv420p", **{"frames:v": 1})


def hold(stream: Any, frames: int, fps: int) -> Any:
    """Repeat a one-frame stream ``frames`` times with exact timestamps ``n / fps``."""
    return (
        stream.filter("loop", loop=frames - 1, size=1, start=0)
        .filter("settb", f"1/{fps}")
        .filter("setpts", "N")
        .filter("fps", fps)
    )


#: The xfade transitions ``transition = "mixed"`` cycles through, by scene index.
MIXED: tuple[str, ...] = ("fade", "slideleft", "circleopen", "dissolve", "wipeleft", "smoothup")

#: Every xfade transition name the bundled ffmpeg knows (ffmpeg 7+).
XFADE: frozenset[str] = frozenset(
    [
        "fade",
        "wipeleft",
        "wiperight",
        "wipeup",
        "wipedown",
        "slideleft",
        "slideright",
        "slideup",
        "slidedown",
        "circlecrop",
        "rectcrop",
        "distance",
        "fadeblack",
        "fadewhite",
        "radial",
        "smoothleft",
        "smoothright",
        "smoothup",
        "smoothdown",
        "circleopen",
        "circleclose",
        "vertopen",
        "vertclose",
        "horzopen",
        "horzclose",
        "dissolve",
        "pixelize",
        "diagtl",
        "diagtr",
        "diagbl",
        "diagbr",
        "hlslice",
        "hrslice",
        "vuslice",
        "vdslice",
        "hblur",
        "fadegrays",
        "wipetl",
        "wipetr",
        "wipebl",
        "wipebr",
        "squeezeh",
        "squeezev",
        "zoomin",
        "fadefast",
        "fadeslow",
        "hlwind",
        "hrwind",
        "vuwind",
        "vdwind",
        "coverleft",
        "coverright",
        "coverup",
        "coverdown",
        "revealleft",
        "revealright",
        "revealup",
        "revealdown",
    ]
)

_ALIASES: Mapping[str, str] = {"crossfade": "fade"}


#: The names ``render.transition`` takes besides the xfade names.
OWN_TRANSITIONS: tuple[str, ...] = ("crossfade", "mixed", "none")


def transition_problem(transition: str) -> str | None:
    """Why ``render.transition`` cannot be rendered, as one line naming the nearest names; None when it can."""
    if transition in OWN_TRANSITIONS or transition in XFADE:
        return None
    near = difflib.get_close_matches(transition, [*OWN_TRANSITIONS, *sorted(XFADE)], n=3)
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    return (
        f"render.transition: unknown transition {json.dumps(transition)}; expected one of "
        f"{', '.join(OWN_TRANSITIONS)} or an ffmpeg xfade name such as wipeleft{hint}"
    )


def transition_name(transition: str, index: int) -> str | None:
    """The xfade transition into the scene after ``index``, or None for a hard cut."""
    problem = transition_problem(transition)
    if problem is not None:
        raise ProviderError(problem, transient=False)
    if transition == "none":
        return None
    if transition == "mixed":
        return MIXED[index % len(MIXED)]
    return _ALIASES.get(transition, transition)
