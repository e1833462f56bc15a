"""aura's Pixabay provider: stock photos and video clips for each scene, from the Pixabay API."""

from aura_plugins_pixabay.provider import PixabayProvider
from aura_plugins_pixabay.settings import PixabaySettings

__all__ = ["PixabayProvider", "PixabaySettings"]
