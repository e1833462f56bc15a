"""aura's Stable Diffusion image provider ``sd``: WebUI/Forge, ComfyUI, Stability AI and local diffusers."""

from aura_plugins_sd.provider import SDProvider
from aura_plugins_sd.settings import SDSettings, read_settings
from aura_plugins_sd.sizing import NATIVE_SIZES, native_size

__all__ = ["NATIVE_SIZES", "SDProvider", "SDSettings", "native_size", "read_settings"]
