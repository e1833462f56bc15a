"""A local server speaking the ElevenLabs wire format, on 127.0.0.1, for the real SDK to talk to.

It implements what the provider uses: ``POST /v1/text-to-speech/{voice_id}/with-timestamps``
(JSON with ``audio_base64`` and a character ``alignment``), ``GET /v1/voices`` and ``GET /v1/models``.
The audio is real: a tone shaped per character, as long as the alignment says, encoded as asked
(raw PCM, WAV or MP3). The server itself (lifecycle, recorded requests, faults scripted per path prefix)
is aura's ``FakeHTTPServer``.
"""

from __future__ import annotations

import base64
import io
import re
import wave
from collections.abc import Iterator
from typing import Any

import av
import numpy as np
import pytest

from aura_core.testing.http import ANY_PATH, FakeHTTPServer, Request, Response, json_response
from aura_plugins_elevenlabs import clear_voice_cache

#: A key shaped like a real ElevenLabs key: the tests check it never shows up in an exception text.
SECRET_KEY = "sk_" + "5f3a9c2e7b1d4086a9e2c7f1b3d5e8a0c4f6b2d9e1a7c3f5"

VOICES = [
    {"voice_id": "JBFqnCBsd6RMkjVDRZzb", "name": "George", "category": "premade"},
    {"voice_id": "21m00Tcm4TlvDq8ikWAM", "name": "Rachel", "category": "premade"},
    {"voice_id": "pNInz6obpgDQGcFmaJgB", "name": "Adam - Dominant, Firm", "category": "premade"},
]


def char_seconds(char: str) -> float:
    """How long the fake voice takes over one character at speed 1."""
    if char.isspace():
        return 0.04
    if char.isalnum():
        return 0.06
    return 0.02


def encode_audio(samples: np.ndarray, output_format: str) -> bytes:
    """Encode int16 mono ``samples`` as the API would for ``output_format``."""
    codec, rate = output_format.split("_")[0], int(output_format.split("_")[1])
    if codec == "pcm":
        return samples.astype("<i2").tobytes()
    if codec == "wav":
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(samples.astype("<i2").tobytes())
        return buffer.getvalue()
    if codec == "mp3":
        buffer = io.BytesIO()
        with av.open(buffer, mode="w", format="mp3") as container:
            stream = container.add_stream("libmp3lame", rate=rate)
            stream.layout = "mono"
            frame_size = 1152
            for offset in range(0, len(samples), frame_size):
                chunk = samples[offset : offset + frame_size].astype(np.int16).reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
                frame.sample_rate = rate
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        return buffer.getvalue()
    raise ValueError(output_format)


class FakeElevenLabs:
    """The ElevenLabs routes on a ``FakeHTTPServer``: voices, the expected key, and the speech."""

    def __init__(self, http: FakeHTTPServer) -> None:
        self.http = http
        self.base_url = http.url
        self.api_key = SECRET_KEY
        self.voices = list(VOICES)
        self.models = ["eleven_multilingual_v2", "eleven_flash_v2_5"]
        self.last_alignment: dict[str, Any] = {}
        self.alignments: dict[str, dict[str, Any]] = {}
        http.route(ANY_PATH, self.handle)

    def fail(self, path_prefix: str, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """Answer the next request whose path starts with ``path_prefix`` with this error."""
        self.http.fail(re.compile(re.escape(path_prefix)), status, body, headers)

    @property
    def requests(self) -> list[Request]:
        """Every request received, in order."""
        return self.http.requests

    def calls(self, path_prefix: str) -> list[Request]:
        """The requests received so far whose path starts with ``path_prefix``."""
        return self.http.calls(re.compile(re.escape(path_prefix)))

    def handle(self, request: Request) -> Response:
        """Check the key, then answer the voices, the models or the speech."""
        key = request.headers.get("xi-api-key")
        if key != self.api_key:
            # Like some real servers, echo what was sent: the provider must keep it out of its messages.
            return json_response(
                {"detail": {"status": "invalid_api_key", "message": f"Invalid API key: {key}"}}, 401
            )
        path = request.path
        if request.method == "GET" and path == "/v1/voices":
            return json_response({"voices": self.voices})
        if request.method == "GET" and path == "/v1/models":
            return json_response([{"model_id": m, "can_do_text_to_speech": True} for m in self.models])
        if (
            request.method == "POST"
            and path.startswith("/v1/text-to-speech/")
            and path.endswith("/with-timestamps")
        ):
            voice_id = path.split("/")[3]
            if voice_id not in {v["voice_id"] for v in self.voices}:
                message = f"A voice with voice_id {voice_id} was not found."
                return json_response({"detail": {"status": "voice_not_found", "message": message}}, 404)
            body = request.json
            output_format = request.args.get("output_format", "mp3_44100_128")
            speed = float((body.get("voice_settings") or {}).get("speed") or 1.0)
            return json_response(self.speak(body["text"], speed, output_format))
        message = f"no route {request.method} {path}"
        return json_response({"detail": {"status": "not_found", "message": message}}, 404)

    def speak(self, text: str, speed: float, output_format: str) -> dict[str, Any]:
        """Alignment and audio for ``text``: each character takes its time divided by ``speed``."""
        rate = int(output_format.split("_")[1])
        starts, ends = [], []
        clock = 0.05
        for char in text:
            length = char_seconds(char) / speed
            starts.append(round(clock, 3))
            ends.append(round(clock + length, 3))
            clock += length
        total = clock + 0.1
        t = np.arange(round(total * rate)) / rate
        envelope = np.zeros_like(t)
        for char, start, end in zip(text, starts, ends, strict=True):
            if not char.isspace():
                envelope[(t >= start) & (t < end)] = 0.5
        samples = (envelope * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)
        alignment = {
            "characters": list(text),
            "character_start_times_seconds": starts,
            "character_end_times_seconds": ends,
        }
        self.last_alignment = alignment
        self.alignments[text] = alignment
        return {
            "audio_base64": base64.b64encode(encode_audio(samples, output_format)).decode(),
            "alignment": alignment,
            "normalized_alignment": alignment,
        }


@pytest.fixture
def elevenlabs_server(
    fake_http_server: FakeHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeElevenLabs]:
    """A running fake ElevenLabs API on a random loopback port, with the key set in the environment."""
    clear_voice_cache()
    monkeypatch.setenv("ELEVENLABS_API_KEY", SECRET_KEY)
    yield FakeElevenLabs(fake_http_server)
    clear_voice_cache()


@pytest.fixture
def anyio_backend() -> str:
    """Plugin code runs on asyncio."""
    return "asyncio"
