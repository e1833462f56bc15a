"""aura's ElevenLabs voice: speech with word timings for captions, through the official SDK."""

from aura_plugins_elevenlabs.alignment import group_words
from aura_plugins_elevenlabs.provider import ElevenLabsVoice, clear_voice_cache
from aura_plugins_elevenlabs.settings import ElevenLabsSettings

__all__ = ["ElevenLabsSettings", "ElevenLabsVoice", "clear_voice_cache", "group_words"]
