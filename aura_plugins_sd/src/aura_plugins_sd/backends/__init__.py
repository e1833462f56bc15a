"""The backends of the ``sd`` provider: each turns one generation job into encoded image bytes."""

from __future__ import annotations

from typing import Protocol

from attrs import frozen

from aura_core import Availability


@frozen
class Job:
    """One picture to generate at a native size of the model (``width`` x ``height``).

    ``want_width`` x ``want_height`` is the size the scene needs, for backends that pick by aspect ratio.
    """

    prompt: str
    negative_prompt: str
    seed: int
    width: int
    height: int
    want_width: int
    want_height: int


class Backend(Protocol):
    """What every backend offers the provider."""

    @property
    def label(self) -> str:
        """Where pictures come from, for ``Picture.source`` (e.g. ``"webui:sdxl_base.safetensors"``)."""
        ...

    async def generate(self, job: Job) -> bytes:
        """Generate the picture and return it encoded (PNG, JPEG or WebP)."""
        ...

    async def check(self) -> Availability:
        """Whether the backend can be used now, and why not."""
        ...
