"""Entry point of the ``elevenlabs`` plugin: registers the ``elevenlabs`` voice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aura_core import hookimpl
from aura_plugins_elevenlabs.provider import ElevenLabsVoice


@hookimpl
def aura_register_providers(register: Callable[..., Any]) -> None:
    """Register the ElevenLabs TTS provider."""
    register(ElevenLabsVoice())
