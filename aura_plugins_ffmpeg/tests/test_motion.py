"""Sampling frames from the upsampled still: in place, exactly as Pillow's own transform samples them."""

from __future__ import annotations

import random

from PIL import Image

from aura_plugins_ffmpeg.motion import Canvas, Mix, Sampler, move_for, window

#: An odd frame size (the last chroma pixel hangs over the edge) and a small upsampling factor.
WIDTH, HEIGHT, FACTOR = 37, 21, 3


def random_sampler(seed: int) -> Sampler:
    rng = random.Random(seed)
    size = Sampler.size(WIDTH, HEIGHT, FACTOR)
    return Sampler(bytearray(rng.randbytes(size)), WIDTH, HEIGHT, FACTOR)


def transformed(sampler: Sampler, box: tuple[float, float, float, float]) -> list[bytes]:
    """The frame of ``box`` as Pillow's public ``Image.transform`` (EXTENT, nearest) makes it."""
    luma_box, chroma_box = sampler._boxes(box)
    chroma = ((WIDTH + 1) // 2, (HEIGHT + 1) // 2)
    sizes, boxes = ((WIDTH, HEIGHT), chroma, chroma), (luma_box, chroma_box, chroma_box)
    return [
        plane.transform(size, Image.Transform.EXTENT, extent).tobytes()
        for plane, size, extent in zip(sampler._planes, sizes, boxes, strict=True)
    ]


def test_frames_sampled_in_place_equal_pillows_transform() -> None:
    sampler, canvas = random_sampler(1), Canvas(WIDTH, HEIGHT)
    for index in range(6):  # every kind of move, at its start, middle and end
        for progress in (0.0, 0.37, 1.0):
            box = window(move_for(index, 1.1), WIDTH, HEIGHT, progress)
            assert [bytes(p) for p in sampler.frame(box, canvas)] == transformed(sampler, box)


def test_a_canvas_holds_one_frame_at_a_time() -> None:
    """The planes returned are the canvas's own buffers: the next frame overwrites them."""
    sampler, canvas = random_sampler(2), Canvas(WIDTH, HEIGHT)
    first_box, last_box = (window(move_for(0, 1.1), WIDTH, HEIGHT, p) for p in (0.0, 1.0))
    first = sampler.frame(first_box, canvas)
    kept = [bytes(p) for p in first]
    sampler.frame(last_box, canvas)
    assert [bytes(p) for p in first] == transformed(sampler, last_box) != kept


def test_a_crossfade_frame_is_new_bytes_blending_both_frames() -> None:
    sampler, canvas = random_sampler(3), Canvas(WIDTH, HEIGHT)
    box = window(move_for(1, 1.1), WIDTH, HEIGHT, 0.5)
    other = b"".join(transformed(random_sampler(4), box))
    mix = Mix(Mix.planes_of(other, WIDTH, HEIGHT), 0.25)
    blended = sampler.frame(box, canvas, mix)
    own = transformed(sampler, box)
    for plane, mine, theirs in zip(blended, own, mix.planes, strict=True):
        assert isinstance(plane, bytes)
        size = theirs.size
        expected = Image.blend(Image.frombytes("L", size, mine), theirs, 0.25).tobytes()
        assert plane == expected
