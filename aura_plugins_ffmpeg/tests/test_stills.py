"""The still cache: each picture decoded once per run, shared by its two segments, memory bounded."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from aura_plugins_ffmpeg.motion import Sampler
from aura_plugins_ffmpeg.stills import KEEP, StillCache, StillKey

pytestmark = pytest.mark.anyio


def key(index: int) -> StillKey:
    return StillKey.of(Path(f"/pictures/p{index}.png"), index, 4, 2, 10, 1)


class Loads:
    """A stand-in decoder that counts its calls, takes ``delay`` seconds and can fail."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.calls = 0
        self.delay = delay
        self.fail = fail

    async def __call__(self) -> Sampler:
        self.calls += 1
        await anyio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("cannot decode")
        return Sampler(bytearray(Sampler.size(4, 2, 1)), 4, 2, 1)


async def test_a_still_asked_for_by_both_its_segments_is_decoded_once_then_dropped() -> None:
    cache, load = StillCache(), Loads(delay=0.05)
    got: list[Sampler] = []

    async def ask(own: bool) -> None:
        got.append(await cache.get(key(1), load, own=own))

    async with anyio.create_task_group() as group:
        group.start_soon(ask, True)
        group.start_soon(ask, False)
    assert load.calls == 1
    assert got[0] is got[1]
    assert len(cache) == 0


async def test_a_still_decoded_for_the_next_segment_is_found_by_it() -> None:
    cache, load = StillCache(), Loads()
    first = await cache.get(key(2), load, own=False)  # segment 1's transition decodes picture 2
    assert len(cache) == 1
    assert await cache.get(key(2), load, own=True) is first  # segment 2 starts without decoding
    assert load.calls == 1 and len(cache) == 0


async def test_a_failed_decode_reaches_its_segment_and_the_waiting_one_decodes_again() -> None:
    cache, failing, working = StillCache(), Loads(delay=0.05, fail=True), Loads()
    outcomes: list[str] = []

    async def decode_and_fail() -> None:
        with pytest.raises(RuntimeError, match="cannot decode"):
            await cache.get(key(3), failing, own=True)
        outcomes.append("failed")

    async def wait_then_decode() -> None:
        await anyio.sleep(0.01)  # asks while the first decode runs
        await cache.get(key(3), working, own=False)
        outcomes.append("decoded")

    async with anyio.create_task_group() as group:
        group.start_soon(decode_and_fail)
        group.start_soon(wait_then_decode)
    assert sorted(outcomes) == ["decoded", "failed"]
    assert failing.calls == 1 and working.calls == 1


async def test_stills_one_segment_never_asks_for_are_bounded() -> None:
    """A run where every scene's own segment was rendered before (resume): the transitions'
    stills are kept for it, but never more than ``KEEP``."""
    cache, load = StillCache(), Loads()
    for index in range(10):
        await cache.get(key(index), load, own=False)
        assert len(cache) <= KEEP
    assert len(cache) == KEEP
    assert load.calls == 10


async def test_a_still_no_other_segment_needs_is_not_kept() -> None:
    cache, load = StillCache(), Loads()
    await cache.get(key(0), load, own=True, alone=True)  # the first scene: no segment before it
    assert len(cache) == 0


def test_backgrounds_are_keyed_by_scene_and_pictures_by_path() -> None:
    assert StillKey.of(None, 1, 4, 2, 10, 1) != StillKey.of(None, 2, 4, 2, 10, 1)
    assert StillKey.of(Path("/p.png"), 1, 4, 2, 10, 1) == StillKey.of(Path("/p.png"), 2, 4, 2, 10, 1)
    assert StillKey.of(Path("/p.png"), 1, 4, 2, 10, 1) != StillKey.of(Path("/p.png"), 1, 4, 2, 10, 2)
