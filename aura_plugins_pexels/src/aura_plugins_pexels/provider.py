"""The image provider ``pexels``: a stock photo, or a video clip when the composer takes clips, per scene."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aura_core import (
    Availability,
    Clip,
    DownloadTooLarge,
    ImageRequest,
    MediaKind,
    Picture,
    ProviderError,
    ProviderSettings,
    StockItem,
    StockPicker,
    fetch_stock,
    find_stock,
    record_usage,
)
from aura_plugins_pexels.settings import PexelsSettings

#: Pexels's licence: free to use, attribution appreciated (the report credits each author anyway).
LICENSE = "Pexels License"
#: Bumped when the query, the search or the choice changes what a scene gets: results cached before are not reused.
CHOICE_VERSION = 1


class PexelsProvider:
    """kind ``image``, name ``pexels``: searches Pexels with the keywords of a scene's visual prompt.

    The core reads the brief's ``[providers.pexels]`` table into ``settings`` (``PexelsSettings``) through
    this provider's ``configure``, which also gives each run's copy its own ``StockPicker``: no photo or clip
    is shown twice in one video.
    """

    kind = "image"
    name = "pexels"
    auto = False
    #: Returns a ``Clip`` when the request takes clips.
    clips = True

    def __init__(self, settings: PexelsSettings | None = None) -> None:
        self.settings = settings or PexelsSettings()
        self.picker = StockPicker()

    def __getstate__(self) -> dict[str, Any]:
        """Only the settings travel (to a Ray worker, or the contract's fresh process)."""
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"])  # type: ignore[misc]

    @property
    def concurrency(self) -> int:
        """How many scenes search and download at once: the ``concurrency`` setting."""
        return self.settings.concurrency

    def configure(self, settings: ProviderSettings) -> PexelsProvider:
        """A fresh copy for one run, with ``[providers.pexels]`` read into ``PexelsSettings``.

        Declared settings alone would let the core hand out this very object when the table is empty; a
        copy of its own per run keeps what one video has shown from leaking into the next.
        """
        return PexelsProvider(settings.structure(PexelsSettings, current=self.settings))

    def fingerprint(self) -> str:
        """What changes the scene's result: how results are searched and chosen, and how many it chooses among."""
        facts = {"choice": CHOICE_VERSION, "per_page": self.settings.per_page}
        return "pexels:" + json.dumps(facts, sort_keys=True, separators=(",", ":"))

    async def check(self) -> Availability:
        """Whether a key is set (it is tried on the first search: asking costs from the hourly allowance)."""
        key = self.settings.api_key
        if key.get() is None:
            return Availability(False, key.missing)
        return Availability(True, f"key in {key.env}; searches {self.settings.url}")

    async def generate(self, request: ImageRequest) -> Picture | Clip:
        """The scene's photo as a PNG of the frame's size, or a clip beside it when the request takes clips."""
        key = self.settings.api_key.value()

        async def search(kind: MediaKind, query: str, request: ImageRequest) -> Sequence[StockItem]:
            from aura_plugins_pexels import api  # httpx on first use: registering the plugin stays quick

            return await api.search(self.settings, key, kind, query, request)

        item = await find_stock(request, search, self.picker, vendor="pexels")
        try:
            visual = await fetch_stock(
                item,
                request,
                source="pexels",
                license=LICENSE,
                max_bytes=self.settings.max_bytes,
                timeout=self.settings.timeout,
                secrets=[key],
            )
        except DownloadTooLarge as error:
            raise ProviderError(
                f"pexels: {error.message}; raise providers.pexels.max_download_mb to allow it",
                transient=False,
            ) from None
        record_usage(**{f"{item.kind}s": 1})
        return visual
