"""The ``ffmpeg`` plugin: registers the ffmpeg composer with aura."""

from __future__ import annotations

from typing import Any

from aura_core import hookimpl
from aura_plugins_ffmpeg.composer import FfmpegComposer


@hookimpl
def aura_register_providers(register: Any) -> None:
    """Register the ffmpeg composer."""
    register(FfmpegComposer())
