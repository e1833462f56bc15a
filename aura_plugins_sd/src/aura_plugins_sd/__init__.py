"""aura's Stable Diffusion image provider ``sd``: WebUI/Forge, ComfyUI, Stability AI and local diffusers."""

from aura_plugins_sd.provider import SDProvider
from aura_plugins_sd.settings import (
    ComfyUISettings,
    DiffusersSettings,
    SDSettings,
    StabilitySettings,
    WebUISettings,
    read_settings,
)
from aura_plugins_sd.sizing import NATIVE_SIZES, native_size

__all__ = [
    "NATIVE_SIZES",
    "ComfyUISettings",
    "DiffusersSettings",
    "SDProvider",
    "SDSettings",
    "StabilitySettings",
    "WebUISettings",
    "native_size",
    "read_settings",
]
