"""Captions show the script's text exactly: in the sidecars as written, and burned by libass as drawn.

Burned text is checked on decoded frames against a twin text whose glyphs have the same advances in
DejaVu Sans Bold (``\\`` and ``/``, ``{``/``}`` and ``n``): equal ink boxes mean the same glyphs were
laid out, while a doubled backslash, a brace turned into a parenthesis, a line break or a
swallowed override block each change the box by several pixels.
"""

from __future__ import annotations

import html
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
from numpy.typing import NDArray
from PIL import Image

from aura_core import Narration, Picture, RenderSpec, Scene, SegmentRequest, Speech, WordTiming
from aura_plugins_ffmpeg import FfmpegComposer, captions

#: Narrations with every character ASS or WebVTT would read as markup.
TRICKY = (
    "a\\b",
    "a\\\\b",
    "line\\Nbreak and soft\\n and \\h space",
    "braces {kept} and {}",
    "{\\b1}bold{\\b0} stays as typed",
    "ends with a backslash\\",
    "html <b>tags</b> & ampersands -->",
)

W, H, FPS = 640, 360, 10


def speech(folder: Path, seconds: float, words: tuple[WordTiming, ...] = ()) -> Speech:
    """A quiet sine of ``seconds`` standing in for a voice, with ``words`` as its timings."""
    rate = 22050
    path = folder / "voice.wav"
    soundfile.write(path, 0.1 * np.sin(np.arange(round(seconds * rate)) / rate * 2 * np.pi * 440), rate)
    return Speech(path, seconds, rate, words)


def test_sidecars_hold_the_script_text_exactly(tmp_path: Path) -> None:
    """Each SRT cue is the narration as written, and each WebVTT cue too once its entities are read."""
    voice = speech(tmp_path, 1.0)
    narration = [Narration(voice, float(i), text) for i, text in enumerate(TRICKY)]
    srt, vtt = captions.write_sidecars(captions.cues(narration), tmp_path / "out")

    srt_texts = ["\n".join(block.split("\n")[2:]) for block in srt.read_text("utf-8").strip().split("\n\n")]
    assert srt_texts == list(TRICKY)
    header, *blocks = vtt.read_text("utf-8").strip().split("\n\n")
    assert header == "WEBVTT"
    assert all("<" not in block and "-->" not in block.split("\n", 1)[1] for block in blocks)
    assert [html.unescape("\n".join(block.split("\n")[1:])) for block in blocks] == list(TRICKY)


def black(folder: Path) -> Picture:
    """A flat black picture: every bright pixel of a frame is then caption."""
    path = folder / "black.png"
    Image.new("RGB", (W, H)).save(path)
    return Picture(path, W, H, "test", "CC0")


async def burned(folder: Path, text: str, words: tuple[str, ...] = ()) -> NDArray[np.int16]:
    """The frame 0.1 s into a segment burning ``text`` (timed word by word when ``words`` are given)."""
    folder.mkdir()
    timings = tuple(WordTiming(w, i * 0.2, i * 0.2 + 0.2) for i, w in enumerate(words))
    voice = speech(folder, 0.6, timings)
    render = RenderSpec(width=W, height=H, fps=FPS, transition="none", captions="burn")
    scene = Scene(0, "h", text, "", 0.0, 0.8, 0.6)
    request = SegmentRequest(scene, voice, black(folder), None, render, folder / "seg.mp4")
    segment = await FfmpegComposer().render_scene(request)
    with av.open(str(segment.path)) as container:
        frames = [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]
    return frames[1]


def ink_box(frame: NDArray[np.int16]) -> tuple[int, int]:
    """Width and height of the caption's ink (every pixel brighter than the black background)."""
    ink = frame.max(axis=2) > 100
    cols, rows = np.nonzero(ink.any(axis=0))[0], np.nonzero(ink.any(axis=1))[0]
    assert cols.size, "no caption was drawn"
    return int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


@pytest.mark.anyio
async def test_burned_captions_draw_backslashes_braces_and_tags_as_written(tmp_path: Path) -> None:
    """``a\\b``, ``{x}``, ``\\N`` and ``{\\b1}`` are drawn as typed, on one line: the ink box equals its
    twin's, where a doubled backslash, parentheses for braces, a line break or a hidden tag would not."""
    text = "a\\b y{x}z a\\Nb c{\\b1}d"
    twin = "a/b ynxnz a/Nb cn/b1nd"
    drawn = ink_box(await burned(tmp_path / "text", text))
    assert drawn == ink_box(await burned(tmp_path / "twin", twin))
    assert drawn[1] < 1.5 * ink_box(await burned(tmp_path / "line", "ab"))[1]


@pytest.mark.anyio
async def test_a_word_ending_in_a_backslash_is_highlighted_alone(tmp_path: Path) -> None:
    """While ``end\\`` is said it alone is yellow: the words after it stay white and no markup shows
    (the cue's ink box equals the same words with ``/`` in place of the backslash)."""
    words = ("end\\", "two", "three")
    frame = await burned(tmp_path / "text", " ".join(words), words)
    twin = ("end/", "two", "three")
    assert ink_box(frame) == ink_box(await burned(tmp_path / "twin", " ".join(twin), twin))
    yellow = (frame[..., 0] > 180) & (frame[..., 1] > 180) & (frame[..., 2] < 90)
    white = (frame > 180).all(axis=2)
    assert yellow.sum() > 20 and white.sum() > 20
    assert np.nonzero(white.any(axis=0))[0].max() > np.nonzero(yellow.any(axis=0))[0].max() + 20
