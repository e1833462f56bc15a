"""The ``openai`` voice: ``audio.speech`` received, written to the request's path and decoded there to a measured WAV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aura_core import (
    AudioDecodeError,
    Availability,
    ProviderError,
    ProviderSettings,
    Speech,
    SpeechRequest,
    decode_to_wav,
    record_usage,
    write_in_thread,
)
from aura_plugins_openai.client import check_service, fingerprint_of, open_client
from aura_plugins_openai.failures import from_transport_error, to_provider_error, transport_errors
from aura_plugins_openai.settings import OpenAISettings

OPENAI_VOICES = frozenset(
    {
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "fable",
        "nova",
        "onyx",
        "sage",
        "shimmer",
        "verse",
        "marin",
        "cedar",
    }
)
"""The built-in voices; a brief's ``[voice] name`` is used when it is one of them."""

DEFAULT_VOICE = "alloy"

PCM_SAMPLE_RATE = 24_000
"""OpenAI's ``pcm`` format: raw 16-bit little-endian mono at 24 kHz."""


def _save(audio: bytes, path: Path, audio_format: str) -> tuple[float, int]:
    """Decode the speech into a 16-bit mono WAV at ``path`` and measure it by its samples (blocks: run in a thread)."""
    decoded = decode_to_wav(audio, path, pcm_rate=PCM_SAMPLE_RATE if audio_format == "pcm" else None)
    return decoded.duration, decoded.sample_rate


class OpenAIVoice:
    """kind ``tts``: speaks the text with ``tts_model`` and ``voice``; WAV by default, any format measured."""

    kind = "tts"
    name = "openai"

    def __init__(self, settings: OpenAISettings | None = None) -> None:
        self.settings = settings or OpenAISettings()
        self.concurrency = self.settings.effective_concurrency()

    def configure(self, settings: ProviderSettings) -> OpenAIVoice:
        """A copy set up from the brief's ``[providers.openai]`` table, read by the core into
        ``OpenAISettings`` (a key the table leaves out keeps this provider's value)."""
        return OpenAIVoice(settings.structure(OpenAISettings, current=self.settings))

    def fingerprint(self) -> str:
        """Server, model, voice setting, speed, format and instructions."""
        s = self.settings
        return fingerprint_of(
            "tts",
            s,
            model=s.tts_model,
            voice=s.voice,
            speed=s.speed,
            format=s.audio_format,
            instructions=s.tts_instructions,
        )

    async def check(self) -> Availability:
        """Key present and server reachable."""
        return await check_service(self.settings, model=self.settings.tts_model, model_key="tts_model")

    def voice_for(self, request: SpeechRequest) -> str:
        """The ``voice`` setting, else the brief's voice name when it is an OpenAI voice, else ``alloy``."""
        if self.settings.voice is not None:
            return self.settings.voice
        name = request.voice.name.lower()
        return name if name in OPENAI_VOICES else DEFAULT_VOICE

    async def synthesize(self, request: SpeechRequest) -> Speech:
        """Write the speech to ``request.out_path`` and return its measured duration and sample rate."""
        import openai

        s = self.settings
        out = request.out_path
        if not request.text.strip():
            # Refused before any call: a server would bill for, or fail on, speaking nothing.
            raise ProviderError("openai: there is no text to speak (it is empty or blank)", transient=False)
        speed = min(4.0, max(0.25, s.speed * request.voice.rate))
        extra: dict[str, Any] = {}
        if s.tts_instructions is not None:
            extra["instructions"] = s.tts_instructions
        try:
            async with open_client(s) as client:
                speech = client.audio.speech.with_streaming_response.create(
                    model=s.tts_model,
                    voice=self.voice_for(request),
                    input=request.text,
                    response_format=s.audio_format,
                    speed=speed,
                    **extra,
                )
                async with speech as response:
                    audio = await response.read()
            # Decoded and measured in a worker thread: a cancellation meanwhile lands before the result,
            # and a failed or cancelled call leaves no file at ``out`` or beside it.
            duration, rate = await write_in_thread(out, lambda path: _save(audio, path, s.audio_format))
        except openai.OpenAIError as error:
            raise to_provider_error(error, s, model=s.tts_model, model_key="tts_model") from None
        except transport_errors() as error:
            raise from_transport_error(error, s) from None
        except AudioDecodeError as error:
            raise ProviderError(
                f"openai: the speech from {s.base_url} cannot be read as {s.audio_format} ({error.message}); "
                "check [providers.openai] audio_format",
                transient=False,
            ) from None
        characters = len(request.text)
        cost = characters * s.price(s.tts_model).characters / 1_000_000
        record_usage(characters=characters, cost_usd=cost)
        return Speech(
            path=out,
            duration=duration,
            sample_rate=rate,
            voice=self.voice_for(request),
        )
