"""Sampling frames from the upsampled still: in place, band by band, each pixel the nearest one."""

from __future__ import annotations

import math
import random

from PIL import Image

from aura_plugins_ffmpeg import motion
from aura_plugins_ffmpeg.motion import BATCH, BATCH_BYTES, Canvas, Mix, Sampler, batch_size, move_for, window

#: An odd frame size (the last chroma pixel hangs over the edge) and a small upsampling factor, so
#: that a still's row and column numbers fit in a byte.
WIDTH, HEIGHT, FACTOR = 37, 21, 3
BIG_W, BIG_H = WIDTH * FACTOR, HEIGHT * FACTOR


def sampler_of(pixel: object) -> Sampler:
    """A sampler whose still's planes hold ``pixel(row, column)`` (a byte) at each position."""
    planes = []
    for width, height in ((BIG_W, BIG_H), (BIG_W // 2, BIG_H // 2), (BIG_W // 2, BIG_H // 2)):
        planes.append(bytes(pixel(r, c) for r in range(height) for c in range(width)))  # type: ignore[operator]
    return Sampler(bytearray(b"".join(planes)), WIDTH, HEIGHT, FACTOR)


def boxes_of_every_move() -> list[tuple[float, float, float, float]]:
    """Windows of each kind of move, at its start, along it and at its end."""
    return [
        window(move_for(index, 1.1), WIDTH, HEIGHT, progress)
        for index in range(6)
        for progress in (0.0, 0.13, 0.37, 0.5, 0.81, 1.0)
    ]


def nearest(start: float, step: float, at: int, size: int) -> set[int]:
    """The still pixel nearest to output pixel ``at`` (its centre maps to ``start + (at + 0.5) *
    step``), and its neighbour too when the position is within rounding of their boundary; past
    the still's ``size`` (an odd frame's last chroma pixel), the fill: 0."""
    position = start + (at + 0.5) * step
    near = {math.floor(position)}
    if abs(position - round(position)) < 1e-6:
        near |= {round(position) - 1, round(position)}
    return {0 if n >= size else n for n in near}


def test_each_pixel_is_the_nearest_pixel_of_the_still() -> None:
    """Frames sampled together, band by band (bands smaller than a plane here), show for each
    pixel the still's pixel nearest to where it falls: positions exact, no jitter."""
    rows, columns = sampler_of(lambda r, c: r), sampler_of(lambda r, c: c)
    boxes = boxes_of_every_move()
    band = motion.BAND
    motion.BAND = 8
    try:
        for first in range(0, len(boxes), BATCH):
            batch = boxes[first : first + BATCH]
            by_rows, by_columns = (
                [Canvas(WIDTH, HEIGHT) for _ in batch],
                [Canvas(WIDTH, HEIGHT) for _ in batch],
            )
            rows.frames(batch, by_rows)
            columns.frames(batch, by_columns)
            for box, row_canvas, column_canvas in zip(batch, by_rows, by_columns, strict=True):
                luma_box, chroma_box = rows._boxes(box)
                for plane, extent in enumerate((luma_box, chroma_box, chroma_box)):
                    width, height = row_canvas.images[plane].size
                    still_w, still_h = rows._planes[plane].size
                    left, top, right, bottom = extent
                    got_rows = bytes(row_canvas.planes[plane])
                    got_columns = bytes(column_canvas.planes[plane])
                    for y in range(height):
                        assert got_rows[y * width] in nearest(top, (bottom - top) / height, y, still_h)
                    for x in range(width):
                        assert got_columns[x] in nearest(left, (right - left) / width, x, still_w)
    finally:
        motion.BAND = band


def test_a_frame_does_not_depend_on_the_frames_sampled_with_it() -> None:
    """A segment's first frame sampled alone (for the transition into it) equals the one its own
    segment samples in a batch: the seam is exact."""
    rng = random.Random(1)
    sampler = sampler_of(lambda r, c: rng.randrange(256))
    boxes = boxes_of_every_move()[:BATCH]
    together = [Canvas(WIDTH, HEIGHT) for _ in boxes]
    sampler.frames(boxes, together)
    for box, canvas in zip(boxes, together, strict=True):
        alone = Canvas(WIDTH, HEIGHT)
        sampler.frames([box], [alone])
        assert alone.planes == canvas.planes


def test_the_sampled_frame_is_pillows_extent_transform_band_by_band() -> None:
    """Each band is what Pillow's public ``Image.transform`` (EXTENT, nearest) gives for that
    band's part of the window: the in-place core call makes the same picture."""
    rng = random.Random(2)
    sampler = sampler_of(lambda r, c: rng.randrange(256))
    for box in boxes_of_every_move():
        canvas = Canvas(WIDTH, HEIGHT)
        sampler.frames([box], [canvas])
        luma_box, chroma_box = sampler._boxes(box)
        for plane, extent in enumerate((luma_box, chroma_box, chroma_box)):
            width, height = canvas.images[plane].size
            band = motion.BAND if plane == 0 else motion.BAND // 2
            left, top, right, bottom = extent
            step = (bottom - top) / height
            expected = b"".join(
                sampler._planes[plane]
                .transform(
                    (width, min(height, first + band) - first),
                    Image.Transform.EXTENT,
                    (left, top + first * step, right, top + min(height, first + band) * step),
                )
                .tobytes()
                for first in range(0, height, band)
            )
            assert bytes(canvas.planes[plane]) == expected


def test_a_canvas_holds_one_frame_at_a_time() -> None:
    """The planes are the canvas's own buffers: the next frame sampled into it overwrites them."""
    rng = random.Random(3)
    sampler = sampler_of(lambda r, c: rng.randrange(256))
    first_box, last_box = boxes_of_every_move()[0], boxes_of_every_move()[5]
    canvas, fresh = Canvas(WIDTH, HEIGHT), Canvas(WIDTH, HEIGHT)
    sampler.frames([first_box], [canvas])
    planes, kept = canvas.planes, [bytes(p) for p in canvas.planes]
    sampler.frames([last_box], [canvas])
    sampler.frames([last_box], [fresh])
    assert [bytes(p) for p in planes] == [bytes(p) for p in fresh.planes] != kept


def test_a_crossfade_frame_is_new_bytes_blending_both_frames() -> None:
    rng = random.Random(4)
    sampler = sampler_of(lambda r, c: rng.randrange(256))
    canvas, other = Canvas(WIDTH, HEIGHT), Canvas(WIDTH, HEIGHT)
    box = boxes_of_every_move()[7]
    sampler.frames([box], [canvas])
    sampler_of(lambda r, c: rng.randrange(256)).frames([box], [other])
    mix = Mix(Mix.planes_of(b"".join(other.planes), WIDTH, HEIGHT), 0.25)
    blended = canvas.blended(mix)
    for plane, own, theirs in zip(blended, canvas.images, other.images, strict=True):
        assert plane == Image.blend(own, theirs, 0.25).tobytes()


def test_a_batch_of_canvases_stays_within_its_memory() -> None:
    """8 frames together up to 1080p; fewer above, so the canvases stay under ``BATCH_BYTES``
    (and at least one, however large the frame)."""
    assert [batch_size(w, h) for w, h in ((320, 180), (1280, 720), (1920, 1080), (1080, 1920))] == [8] * 4
    assert [batch_size(w, h) for w, h in ((2560, 1440), (3840, 2160), (15360, 8640))] == [6, 2, 1]
    for width, height in ((2560, 1440), (3840, 2160)):
        frame = sum(len(plane) for plane in Canvas(width, height).planes)
        assert batch_size(width, height) * frame <= BATCH_BYTES < (batch_size(width, height) + 1) * frame
