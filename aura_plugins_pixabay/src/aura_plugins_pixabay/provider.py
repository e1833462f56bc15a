"""The image provider ``pixabay``: a stock photo, or a video clip when the composer takes clips, per scene."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aura_core import ImageRequest, MediaKind, StockItem, StockProvider
from aura_plugins_pixabay.settings import PixabaySettings

#: Pixabay's licence: free to use without attribution (the report credits each author anyway).
LICENSE = "Pixabay Content License"


class PixabayProvider(StockProvider[PixabaySettings]):
    """kind ``image``, name ``pixabay``: searches Pixabay with the keywords of a scene's visual prompt.

    The core reads the brief's ``[providers.pixabay]`` table into ``settings`` (``PixabaySettings``); the
    search, the choice, the download and the credits are the core's ``StockProvider``.
    """

    name = "pixabay"
    license = LICENSE
    settings_class = PixabaySettings

    def fingerprint_facts(self) -> dict[str, Any]:
        """How many results a scene chooses among, and which kinds are searched."""
        s = self.settings
        return {
            "per_page": s.per_page,
            "safesearch": s.safesearch,
            "video_type": s.video_type,
        }

    async def search(
        self, key: str, kind: MediaKind, query: str, request: ImageRequest
    ) -> Sequence[StockItem]:
        """Pixabay's results for ``query``, in its wire format."""
        from aura_plugins_pixabay import api  # httpx on first use: registering the plugin stays quick

        return await api.search(self.settings, key, kind, query, request)
