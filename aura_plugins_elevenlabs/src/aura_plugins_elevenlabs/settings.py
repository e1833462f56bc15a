"""The ``[providers.elevenlabs]`` table of a brief, checked and typed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import frozen

from aura_core import UserError
from aura_plugins_elevenlabs.audio import parse_format

#: George, one of the premade voices every ElevenLabs account has.
DEFAULT_VOICE = "JBFqnCBsd6RMkjVDRZzb"

#: The speed range the API accepts; ``speed`` times ``VoiceSpec.rate`` is clamped into it.
SPEED_RANGE = (0.7, 1.2)

WHERE = "providers.elevenlabs"


@frozen
class ElevenLabsSettings:
    """Every setting of the provider, with its default."""

    #: A voice id or name that wins over the brief's ``[voice] name``; None: that name, else ``DEFAULT_VOICE``.
    voice: str | None = None
    model: str = "eleven_multilingual_v2"
    output_format: str = "pcm_24000"
    stability: float | None = None
    similarity_boost: float | None = None
    style: float | None = None
    speed: float = 1.0
    use_speaker_boost: bool | None = None
    language: str | None = None
    seed: int | None = None
    base_url: str | None = None
    api_key_env: str = "ELEVENLABS_API_KEY"
    timeout: float = 120.0
    concurrency: int = 2
    price_per_1k_characters: float = 0.30

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


def _number(values: Mapping[str, Any], key: str, low: float, high: float) -> float | None:
    raw = values.get(key)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise UserError(f"{WHERE}.{key}: expected a number from {low:g} to {high:g}, got {raw!r}")
    if not low <= raw <= high:
        raise UserError(f"{WHERE}.{key}: expected a number from {low:g} to {high:g}, got {raw:g}")
    return float(raw)


def _text(values: Mapping[str, Any], key: str) -> str | None:
    raw = values.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise UserError(f"{WHERE}.{key}: expected a non-empty string, got {raw!r}")
    return raw.strip()


def parse_settings(values: Mapping[str, Any]) -> ElevenLabsSettings:
    """Check the table as the user wrote it; raise ``UserError`` naming each unknown or bad key."""
    known = {a.name for a in ElevenLabsSettings.__attrs_attrs__}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(
            f"{WHERE}: unknown setting(s) {', '.join(unknown)}; known settings are {', '.join(sorted(known))}"
        )
    defaults = ElevenLabsSettings()
    output_format = _text(values, "output_format") or defaults.output_format
    try:
        parse_format(output_format)
    except ValueError as exc:
        raise UserError(f"{WHERE}.output_format: {exc}") from None
    speaker_boost = values.get("use_speaker_boost")
    if speaker_boost is not None and not isinstance(speaker_boost, bool):
        raise UserError(f"{WHERE}.use_speaker_boost: expected true or false, got {speaker_boost!r}")
    seed = values.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32):
        raise UserError(f"{WHERE}.seed: expected an integer from 0 to 4294967295, got {seed!r}")
    concurrency = values.get("concurrency", defaults.concurrency)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise UserError(f"{WHERE}.concurrency: expected a whole number of at least 1, got {concurrency!r}")
    base_url = _text(values, "base_url")
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise UserError(f"{WHERE}.base_url: expected an http:// or https:// address, got {base_url!r}")
    speed = _number(values, "speed", 0.7, 1.2)
    timeout = _number(values, "timeout", 1.0, 3600.0)
    price = _number(values, "price_per_1k_characters", 0.0, 1000.0)
    return ElevenLabsSettings(
        voice=_text(values, "voice") or defaults.voice,  # unset: the brief's [voice] name decides
        model=_text(values, "model") or defaults.model,
        output_format=output_format,
        stability=_number(values, "stability", 0.0, 1.0),
        similarity_boost=_number(values, "similarity_boost", 0.0, 1.0),
        style=_number(values, "style", 0.0, 1.0),
        speed=defaults.speed if speed is None else speed,
        use_speaker_boost=speaker_boost,
        language=_text(values, "language"),
        seed=seed,
        base_url=base_url.rstrip("/") if base_url else None,
        api_key_env=_text(values, "api_key_env") or defaults.api_key_env,
        timeout=defaults.timeout if timeout is None else timeout,
        concurrency=concurrency,
        price_per_1k_characters=defaults.price_per_1k_characters if price is None else price,
    )
