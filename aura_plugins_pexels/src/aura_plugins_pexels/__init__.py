"""aura's Pexels provider: stock photos and video clips for each scene, from the Pexels API."""

from aura_plugins_pexels.provider import PexelsProvider
from aura_plugins_pexels.settings import PexelsSettings

__all__ = ["PexelsProvider", "PexelsSettings"]
