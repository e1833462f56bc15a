"""A local server speaking the ElevenLabs wire format, on 127.0.0.1, for the real SDK to talk to.

It implements what the provider uses: ``POST /v1/text-to-speech/{voice_id}/with-timestamps``
(JSON with ``audio_base64`` and a character ``alignment``), ``GET /v1/voices`` and ``GET /v1/models``.
The audio is real: a tone shaped per character, as long as the alignment says, encoded as asked
(raw PCM, WAV or MP3). Faults are scripted per path prefix.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import wave
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av
import numpy as np
import pytest

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
    """State of the local server: voices, the expected key, recorded requests and scripted faults."""

    def __init__(self) -> None:
        self.api_key = SECRET_KEY
        self.voices = list(VOICES)
        self.models = ["eleven_multilingual_v2", "eleven_flash_v2_5"]
        self.requests: list[dict[str, Any]] = []
        self.faults: list[tuple[str, int, Any, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.base_url = ""
        self.last_alignment: dict[str, Any] = {}
        self.alignments: dict[str, dict[str, Any]] = {}

    def fail(self, path_prefix: str, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """Answer the next request whose path starts with ``path_prefix`` with this error."""
        with self.lock:
            self.faults.append((path_prefix, status, body, headers or {}))

    def calls(self, path_prefix: str) -> list[dict[str, Any]]:
        """The requests received so far whose path starts with ``path_prefix``."""
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(path_prefix)]

    def take_fault(self, path: str) -> tuple[int, Any, dict[str, str]] | None:
        """Remove and return the first fault scripted for ``path``."""
        with self.lock:
            for i, (prefix, status, body, headers) in enumerate(self.faults):
                if path.startswith(prefix):
                    del self.faults[i]
                    return status, body, headers
        return None

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
        with self.lock:
            self.last_alignment = alignment
            self.alignments[text] = alignment
        return {
            "audio_base64": base64.b64encode(encode_audio(samples, output_format)).decode(),
            "alignment": alignment,
            "normalized_alignment": alignment,
        }


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        with fake.lock:
            fake.requests.append(
                {
                    "method": method,
                    "path": url.path,
                    "query": {k: v[0] for k, v in parse_qs(url.query).items()},
                    "json": body,
                    "key": self.headers.get("xi-api-key"),
                }
            )
        fault = fake.take_fault(url.path)
        if fault is not None:
            self._send(*fault)
            return
        key = self.headers.get("xi-api-key")
        if key != fake.api_key:
            # Like some real servers, echo what was sent: the provider must keep it out of its messages.
            self._send(401, {"detail": {"status": "invalid_api_key", "message": f"Invalid API key: {key}"}})
            return
        if method == "GET" and url.path == "/v1/voices":
            self._send(200, {"voices": fake.voices})
        elif method == "GET" and url.path == "/v1/models":
            self._send(200, [{"model_id": m, "can_do_text_to_speech": True} for m in fake.models])
        elif (
            method == "POST"
            and url.path.startswith("/v1/text-to-speech/")
            and url.path.endswith("/with-timestamps")
        ):
            voice_id = url.path.split("/")[3]
            if voice_id not in {v["voice_id"] for v in fake.voices}:
                message = f"A voice with voice_id {voice_id} was not found."
                self._send(404, {"detail": {"status": "voice_not_found", "message": message}})
                return
            assert body is not None
            output_format = parse_qs(url.query).get("output_format", ["mp3_44100_128"])[0]
            speed = float((body.get("voice_settings") or {}).get("speed") or 1.0)
            self._send(200, fake.speak(body["text"], speed, output_format))
        else:
            self._send(404, {"detail": {"status": "not_found", "message": f"no route {method} {url.path}"}})

    def do_GET(self) -> None:
        """Serve a GET."""
        self._handle("GET")

    def do_POST(self) -> None:
        """Serve a POST."""
        self._handle("POST")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeElevenLabs


@pytest.fixture
def elevenlabs_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeElevenLabs]:
    """A running fake ElevenLabs API on a random loopback port, with the key set in the environment."""
    clear_voice_cache()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeElevenLabs()
    server.fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("ELEVENLABS_API_KEY", SECRET_KEY)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        clear_voice_cache()


@pytest.fixture
def anyio_backend() -> str:
    """Plugin code runs on asyncio."""
    return "asyncio"
