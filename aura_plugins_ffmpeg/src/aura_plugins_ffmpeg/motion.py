"""Ken Burns moves, generated backgrounds and transitions, as ffmpeg-python graph pieces.

The move is drawn by the ``perspective`` filter, whose corner coordinates are real numbers
evaluated per frame and sampled with interpolation: the window moves by fractions of a pixel,
so there is none of the integer-rounding jitter of ``zoompan`` or of ``crop`` offsets.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

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


def _num(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _lerp(a: float, b: float, progress: str) -> str:
    if a == b:
        return _num(a)
    return f"({_num(a)}+{_num(b - a)}*{progress})"


def perspective_corners(move: Move, width: int, height: int, frames: int | None) -> dict[str, str]:
    """The ``perspective`` corner expressions for ``move`` over ``frames`` frames.

    With ``frames`` None, the corners of the move's first frame (constants).
    Expressions use only ``+ - * /`` so no comma needs escaping in the filter graph.
    """
    progress = "0" if frames is None else f"(in/{frames})"
    # The window is 1/zoom of the frame; its top-left corner slides through the slack.
    inv_zoom = _lerp(1 / move.zoom_start, 1 / move.zoom_end, progress)
    ax = _lerp(move.anchor_start[0], move.anchor_end[0], progress)
    ay = _lerp(move.anchor_start[1], move.anchor_end[1], progress)
    win_w = f"({width}*{inv_zoom})"
    win_h = f"({height}*{inv_zoom})"
    left = f"({ax}*({width}-{win_w}))"
    top = f"({ay}*({height}-{win_h}))"
    right = f"({left}+{win_w})"
    bottom = f"({top}+{win_h})"
    return {
        "x0": left,
        "y0": top,
        "x1": right,
        "y1": top,
        "x2": left,
        "y2": bottom,
        "x3": right,
        "y3": bottom,
    }


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


def hold(stream: Any, frames: int, fps: int) -> Any:
    """Repeat a one-frame stream ``frames`` times with exact timestamps ``n / fps``."""
    return (
        stream.filter("loop", loop=frames - 1, size=1, start=0)
        .filter("settb", f"1/{fps}")
        .filter("setpts", "N")
        .filter("fps", fps)
    )


def ken_burns(stream: Any, move: Move, width: int, height: int, frames: int | None, smooth: bool) -> Any:
    """Apply ``move`` over ``frames`` frames (None: hold the move's first frame)."""
    corners = perspective_corners(move, width, height, frames)
    return stream.filter(
        "perspective",
        interpolation="cubic" if smooth else "linear",
        eval="frame" if frames is not None else "init",
        **corners,
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


def transition_name(transition: str, index: int) -> str | None:
    """The xfade transition into the scene after ``index``, or None for a hard cut."""
    if transition == "none":
        return None
    if transition == "mixed":
        return MIXED[index % len(MIXED)]
    name = _ALIASES.get(transition, transition)
    if name not in XFADE:
        raise ProviderError(
            f"render.transition: unknown transition {transition!r}; use crossfade, mixed, none "
            "or an ffmpeg xfade name such as wipeleft",
            transient=False,
        )
    return name
