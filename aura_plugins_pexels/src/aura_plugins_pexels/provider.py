"""The image provider ``pexels``: a stock photo, or a video clip when the composer takes clips, per scene."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aura_core import ImageRequest, MediaKind, StockItem, StockProvider
from aura_plugins_pexels.settings import PexelsSettings

#: Pexels's licence: free to use, attribution appreciated (the report credits each author anyway).
LICENSE = "Pexels License"


class PexelsProvider(StockProvider[PexelsSettings]):
    """kind ``image``, name ``pexels``: searches Pexels with the keywords of a scene's visual prompt.

    The core reads the brief's ``[providers.pexels]`` table into ``settings`` (``PexelsSettings``); the
    search, the choice, the download and the credits are the core's ``StockProvider``.
    """

    name = "pexels"
    license = LICENSE
    settings_class = PexelsSettings

    def fingerprint_facts(self) -> dict[str, Any]:
        """How many results a scene chooses among."""
        return {"per_page": self.settings.per_page}

    async def search(
        self, key: str, kind: MediaKind, query: str, request: ImageRequest
    ) -> Sequence[StockItem]:
        """Pexels's results for ``query``, in its wire format."""
        from aura_plugins_pexels import api  # httpx on first use: registering the plugin stays quick

        return await api.search(self.settings, key, kind, query, request)
