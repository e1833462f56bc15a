"""The ``elevenlabs`` voice: speech with word timings through the official ElevenLabs SDK."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel

from aura_core import (
    AudioDecodeError,
    Availability,
    ProviderError,
    Speech,
    SpeechRequest,
    record_usage,
    write_in_thread,
)
from aura_plugins_elevenlabs.alignment import group_words
from aura_plugins_elevenlabs.audio import write_audio
from aura_plugins_elevenlabs.errors import map_error
from aura_plugins_elevenlabs.settings import DEFAULT_VOICE, ElevenLabsSettings

if TYPE_CHECKING:
    from elevenlabs.client import AsyncElevenLabs
    from elevenlabs.core.request_options import RequestOptions

#: A voice id as ElevenLabs makes them: 20 letters and digits. Anything else is looked up as a name.
VOICE_ID = re.compile(r"^[A-Za-z0-9]{20}$")

#: The account's voices as read in this process: (base url, key digest) -> {casefolded name or id: (voice id,
#: its name)}.
_VOICES: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}


def _key_digest(key: str) -> str:
    """A short digest standing for the key in cache keys, so the key itself is never stored twice."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def clear_voice_cache() -> None:
    """Forget every voice name resolved in this process (for tests and long-lived apps)."""
    _VOICES.clear()


class ElevenLabsVoice:
    """TTS provider ``elevenlabs``: writes a 16-bit mono WAV, with word timings from the API's alignment.

    The core reads the brief's ``[providers.elevenlabs]`` table into ``settings`` (``ElevenLabsSettings``).
    """

    kind = "tts"
    name = "elevenlabs"
    auto = False

    def __init__(self, settings: ElevenLabsSettings | None = None) -> None:
        self.settings = settings or ElevenLabsSettings()
        self._lock: anyio.Lock | None = None
        self._lock_loop: object = None

    @property
    def concurrency(self) -> int:
        """How many syntheses run at once: the ``concurrency`` setting."""
        return self.settings.concurrency

    def fingerprint(self) -> str:
        """Model, voice (id or name as set), output format and voice settings: what changes the audio."""
        s = self.settings
        facts = {
            "model": s.model,
            "voice": s.voice,
            "output_format": s.output_format,
            "voice_settings": s.voice_settings(1.0),
            "language": s.language,
            "seed": s.seed,
        }
        return "elevenlabs:" + json.dumps(facts, sort_keys=True, separators=(",", ":"))

    # -- the SDK ------------------------------------------------------------------------------------------

    def _options(self, timeout: float | None = None) -> RequestOptions:
        # The core's middleware owns retries and backoff: the SDK's own retries stay off for every call.
        return {"max_retries": 0, "timeout_in_seconds": math.ceil(timeout or self.settings.timeout)}

    @asynccontextmanager
    async def _client(self, key: str) -> AsyncIterator[AsyncElevenLabs]:
        """An SDK client for one call, with its own connection pool closed afterwards.

        The SDK and httpx are imported here, on first use, so that registering the voice stays quick.
        """
        import httpx
        from elevenlabs.client import AsyncElevenLabs

        async with httpx.AsyncClient(timeout=self.settings.timeout, follow_redirects=True) as http:
            yield AsyncElevenLabs(
                api_key=key,
                base_url=self.settings.base_url,
                timeout=self.settings.timeout,
                httpx_client=http,
            )

    def _mapped(self, exc: BaseException, key: str | None, voice: str | None = None) -> ProviderError | None:
        s = self.settings
        return map_error(
            exc,
            key=key,
            voice=voice or s.voice or DEFAULT_VOICE,
            model=s.model,
            key_env=s.api_key.env,
            base_url=s.base_url,
        )

    def _voice_lock(self) -> anyio.Lock:
        # One lookup at a time per event loop, so concurrent calls wait for the first one's answer.
        loop = anyio.lowlevel.current_token()
        if self._lock is None or self._lock_loop != loop:
            self._lock, self._lock_loop = anyio.Lock(), loop
        return self._lock

    async def _account_voices(
        self, client: AsyncElevenLabs, key: str, timeout: float | None
    ) -> dict[str, tuple[str, str]]:
        """The account's voices by casefolded id and name, read once per process from the voices API."""
        cache_key = (self.settings.base_url or "", _key_digest(key))
        async with self._voice_lock():
            known = _VOICES.get(cache_key)
            if known is None:
                try:
                    listing = await client.voices.get_all(request_options=self._options(timeout))
                except Exception as exc:
                    mapped = self._mapped(exc, key)
                    if mapped is None:
                        raise
                    raise mapped from None
                known = {}
                for entry in listing.voices:
                    # Library names read "George - Warm, Captivating Storyteller": "George" finds it too.
                    short = (entry.name or "").split(" - ")[0].strip()
                    known[entry.voice_id.casefold()] = (entry.voice_id, short or entry.voice_id)
                    if entry.name:
                        known.setdefault(entry.name.strip().casefold(), (entry.voice_id, short))
                        known.setdefault(short.casefold(), (entry.voice_id, short))
                _VOICES[cache_key] = known
        return known

    async def _voice(
        self, client: AsyncElevenLabs, key: str, asked: str | None, timeout: float | None = None
    ) -> tuple[str, str]:
        """The id and name of the voice that speaks.

        The ``voice`` setting wins (an id is used as it is; a name the account lacks is an error); else the
        brief's voice name ``asked`` when the account has it; else the default voice (George).
        """
        voice = self.settings.voice
        if voice is not None and VOICE_ID.match(voice):
            return voice, voice
        known = await self._account_voices(client, key, timeout)
        if voice is None:
            found = known.get((asked or "").strip().casefold())
            return found or known.get(DEFAULT_VOICE.casefold(), (DEFAULT_VOICE, DEFAULT_VOICE))
        chosen = known.get(voice.casefold())
        if chosen is None:
            names = sorted({name for name in known if not VOICE_ID.match(name)})
            sample = ", ".join(names[:15]) or "none"
            raise ProviderError(
                f"ElevenLabs has no voice named {voice!r} in this account: set providers.elevenlabs.voice "
                f"to a voice id or one of the account's voices ({sample})"
            )
        return chosen

    # -- the provider ---------------------------------------------------------------------------------------

    async def check(self) -> Availability:
        """Key present, server reachable and key accepted, model offered, voice found."""
        s = self.settings
        key = s.api_key.get()
        if key is None:
            return Availability(False, f"{s.api_key.env} is not set")
        try:
            async with self._client(key) as client:
                try:
                    models = await client.models.list(request_options=self._options(10.0))
                except Exception as exc:
                    mapped = self._mapped(exc, key)
                    if mapped is None:
                        raise
                    return Availability(False, mapped.message)
                offered = {m.model_id for m in models}
                if offered and s.model not in offered:
                    return Availability(
                        False,
                        f"ElevenLabs does not offer model {s.model!r}; set providers.elevenlabs.model "
                        f"to one of {', '.join(sorted(offered))}",
                    )
                voice_id, _name = await self._voice(client, key, None, timeout=10.0)
        except ProviderError as exc:
            return Availability(False, exc.message)
        return Availability(True, f"model {s.model}, voice {voice_id}, format {s.output_format}")

    async def synthesize(self, request: SpeechRequest) -> Speech:
        """Speak ``request.text`` into a WAV at ``request.out_path``, with word timings from the alignment."""
        from elevenlabs.types import VoiceSettings

        s = self.settings
        if not request.text.strip():
            # Refused before any call: speaking nothing would still be billed, and leave a file.
            raise ProviderError(
                "ElevenLabs was given no text to speak: the text is empty or blank", transient=False
            )
        key = s.api_key.value()
        async with self._client(key) as client:
            voice_id, voice_name = await self._voice(client, key, request.voice.name)
            optional: dict[str, Any] = {}
            if s.language:
                optional["language_code"] = s.language
            if s.seed is not None:
                optional["seed"] = s.seed
            try:
                response = await client.text_to_speech.convert_with_timestamps(
                    voice_id,
                    text=request.text,
                    model_id=s.model,
                    output_format=s.output_format,
                    voice_settings=VoiceSettings(**s.voice_settings(request.voice.rate)),
                    request_options=self._options(),
                    **optional,
                )
            except Exception as exc:
                mapped = self._mapped(exc, key, voice_id)
                if mapped is None:
                    raise
                raise mapped from None
        characters = len(request.text)
        record_usage(characters=characters, cost_usd=characters / 1000 * s.price_per_1k_characters)

        try:
            audio = base64.b64decode(response.audio_base_64, validate=True)
        except (binascii.Error, ValueError):
            raise ProviderError("ElevenLabs returned audio that is not valid base64") from None
        alignment = response.alignment or response.normalized_alignment
        try:
            words = (
                group_words(
                    alignment.characters,
                    alignment.character_start_times_seconds,
                    alignment.character_end_times_seconds,
                )
                if alignment is not None
                else ()
            )
        except ValueError as exc:
            raise ProviderError(f"ElevenLabs returned a malformed alignment: {exc}") from None
        try:
            # Written in a worker thread; a failure or a cancellation leaves no file behind.
            measured = await write_in_thread(
                request.out_path, lambda path: write_audio(path, audio, s.output_format)
            )
        except AudioDecodeError as exc:
            raise ProviderError(
                f"ElevenLabs returned audio that is not {s.output_format}: {exc.message}", transient=False
            ) from None
        return Speech(
            path=request.out_path,
            duration=measured.duration,
            sample_rate=measured.sample_rate,
            words=words,
            voice=voice_name,
        )
