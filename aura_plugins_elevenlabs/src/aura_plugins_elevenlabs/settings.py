"""The ``[providers.elevenlabs]`` table, declared: the core reads it and names each bad key on one line."""

from __future__ import annotations

from typing import Any

from attrs import frozen

from aura_core import Secret, secret, setting
from aura_plugins_elevenlabs.audio import parse_format

#: George, one of the premade voices every ElevenLabs account has.
DEFAULT_VOICE = "JBFqnCBsd6RMkjVDRZzb"

#: The speed range the API accepts; ``speed`` times ``VoiceSpec.rate`` is clamped into it.
SPEED_RANGE = (0.7, 1.2)


@frozen
class ElevenLabsSettings:
    """Every setting of the provider, with its default (docs/plugins/elevenlabs.md says what each does)."""

    #: A voice id or name that wins over the brief's ``[voice] name``; None: that name, else ``DEFAULT_VOICE``.
    voice: str | None = setting(None, help="a voice id or a voice name of the account")
    model: str = setting("eleven_multilingual_v2", help="the model id")
    output_format: str = setting("pcm_24000", check=parse_format, help="what the API sends, like pcm_24000")
    stability: float | None = setting(None, between=(0, 1))
    similarity_boost: float | None = setting(None, between=(0, 1))
    style: float | None = setting(None, between=(0, 1))
    speed: float = setting(1.0, between=SPEED_RANGE)
    use_speaker_boost: bool | None = None
    language: str | None = setting(None, help="an ISO 639-1 code sent as language_code")
    seed: int | None = setting(None, between=(0, 2**32 - 1))
    base_url: str | None = setting(None, url=True, help="another API address; default: the SDK's")
    api_key: Secret = secret("ELEVENLABS_API_KEY", key="api_key_env")
    timeout: float = setting(120.0, between=(1, 3600), help="seconds per request")
    concurrency: int = setting(2, at_least=1, help="how many syntheses run at once")
    price_per_1k_characters: float = setting(0.30, between=(0, 1000))

    def voice_settings(self, rate: float) -> dict[str, Any]:
        """The ``voice_settings`` body for a request spoken at ``rate`` times the natural pace."""
        low, high = SPEED_RANGE
        values: dict[str, Any] = {
            "stability": self.stability,
            "similarity_boost": self.similarity_boost,
            "style": self.style,
            "use_speaker_boost": self.use_speaker_boost,
            "speed": round(min(high, max(low, self.speed * rate)), 4),
        }
        return {key: value for key, value in values.items() if value is not None}
