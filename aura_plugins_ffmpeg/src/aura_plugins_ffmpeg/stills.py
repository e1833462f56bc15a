"""Upsampled stills shared by the segments of a run: each picture is decoded and upsampled once.

Segment *k* samples its move from its own picture's upsampled still, and its transition ends on
the next scene's first frame, which is sampled from the next picture's still. Whichever segment
asks for a still first decodes it; a segment asking for one being decoded waits for it. So a
segment that needs the next picture decodes it for the next segment too (which then starts
without decoding anything), and its transition ends on exactly the frame the next segment
starts with.

A still is dropped once both its segments have used it. One whose other segment never asks (it
was rendered by an earlier run, or has no transition) is dropped when more than ``KEEP`` stills
are done, oldest first, so memory does not grow with the number of scenes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
from attrs import define, field, frozen

from aura_plugins_ffmpeg.motion import Sampler

#: How many finished stills are kept for a segment that has not asked yet.
KEEP = 3


@frozen
class StillKey:
    """What makes a still: the picture (or, without one, the scene index that picks the generated
    background), the frame size and rate, and the upsampling factor."""

    picture: Path | None
    index: int
    width: int
    height: int
    fps: int
    factor: int

    @classmethod
    def of(cls, picture: Path | None, index: int, width: int, height: int, fps: int, factor: int) -> StillKey:
        """The key of scene ``index``'s still; the index only counts for a generated background."""
        return cls(picture, -1 if picture is not None else index, width, height, fps, factor)


@define
class _Entry:
    """One still: being decoded (``ready`` not set), decoded (``sampler``), or failed (neither)."""

    ready: anyio.Event
    sampler: Sampler | None = None
    own_done: bool = False
    next_done: bool = False


@define
class StillCache:
    """The stills of one composer (one run): see the module's docstring."""

    _entries: OrderedDict[StillKey, _Entry] = field(factory=OrderedDict, init=False)

    async def get(
        self, key: StillKey, load: Callable[[], Awaitable[Sampler]], *, own: bool, alone: bool = False
    ) -> Sampler:
        """The still of ``key``, decoded by ``load`` unless another segment has or is decoding it.

        ``own`` says which segment asks: the one that moves over it (True) or the one before,
        whose transition ends on its first frame (False); ``alone`` that no other segment will
        ask (the first scene's, or no transitions), so it is not kept. A failed decode is raised
        to the segment that ran it; a segment that was waiting for it decodes it itself."""
        entry = self._entries.get(key)
        if entry is not None and entry.sampler is None:
            await entry.ready.wait()
            entry = self._entries.get(key)
        if entry is None or entry.sampler is None:
            entry = _Entry(anyio.Event())
            self._entries[key] = entry
            try:
                entry.sampler = await load()
            finally:
                entry.ready.set()
                if entry.sampler is None:
                    self._entries.pop(key, None)
            self._trim()
        sampler = entry.sampler
        assert sampler is not None
        if own:
            entry.own_done = True
        else:
            entry.next_done = True
        if alone or (entry.own_done and entry.next_done):
            self._entries.pop(key, None)
        return sampler

    def __len__(self) -> int:
        """How many stills are held or being decoded."""
        return len(self._entries)

    def _trim(self) -> None:
        """Drop the oldest finished stills beyond ``KEEP``."""
        done = [key for key, entry in self._entries.items() if entry.sampler is not None]
        for key in done[: max(0, len(done) - KEEP)]:
            del self._entries[key]
