"""A local server on 127.0.0.1 that speaks the OpenAI wire format, with scriptable faults.

It serves ``/v1/chat/completions`` (streamed as SSE over chunked HTTP/1.1, and not streamed),
``/v1/audio/speech`` (real WAV, FLAC, MP3 or PCM made with numpy and PyAV), ``/v1/images/generations``
(a base64 PNG gradient of the requested size) and ``/v1/models``. Every request is recorded.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import threading
import wave
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from aura_core import Brief, PlanSpec, ScriptRequest
from aura_plugins_openai.settings import OpenAISettings, read_settings

SAMPLE_RATE = 24_000
SCENES = [
    {
        "heading": "The scout returns",
        "narration": "A honeybee scout comes home with news.",
        "visual_prompt": "a bee",
    },
    {
        "heading": "The waggle dance",
        "narration": "She dances a figure eight on the comb.",
        "visual_prompt": "comb",
    },
    {
        "heading": "Angle is direction",
        "narration": "The angle points the way to flowers.",
        "visual_prompt": "sun",
    },
]


@dataclass
class Fault:
    """One scripted misbehaviour for the next request to a path."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "scripted failure"
    code: str | None = None
    drop_after_chunks: int | None = None
    content: str | None = None
    refusal: str | None = None
    reject_json_schema: bool = False


@dataclass
class Recorded:
    """A request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeOpenAI:
    """The scriptable state behind the local server; tests queue faults and read what was asked."""

    def __init__(self) -> None:
        self.url = ""
        self.script = json.dumps({"scenes": SCENES})
        self.faults: dict[str, deque[Fault]] = {}
        self.requests: list[Recorded] = []
        self.models = ["test-llm", "test-tts", "gpt-image-1", "dall-e-3"]
        self.gate: threading.Event | None = None
        self.stream_finished = threading.Event()
        self.audio_samples: list[int] = []
        self.streamed_wav_header = False
        self.stall_audio: threading.Event | None = None
        self.audio_started = threading.Event()
        self.usage = (41, 97)

    def fail(self, path: str, **fault: Any) -> None:
        """Queue a ``Fault(**fault)`` for the next request to ``path`` (for example ``/v1/chat/completions``)."""
        self.faults.setdefault(path, deque()).append(Fault(**fault))

    def asked(self, path: str) -> list[Recorded]:
        """The requests received for ``path``, in order."""
        return [r for r in self.requests if r.path == path]


def tone(samples: int) -> np.ndarray[Any, np.dtype[np.int16]]:
    """A 440 Hz tone of ``samples`` samples at 24 kHz, 16-bit."""
    t = np.arange(samples) / SAMPLE_RATE
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)


def wav_bytes(pcm: np.ndarray[Any, np.dtype[np.int16]], streamed_header: bool = False) -> bytes:
    """A mono 24 kHz WAV; ``streamed_header`` writes placeholder sizes as a streaming server does."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(pcm.tobytes())
    data = bytearray(buffer.getvalue())
    if streamed_header:
        data[4:8] = struct.pack("<I", 0xFFFFFFFF)
        data[40:44] = struct.pack("<I", 0xFFFFFFFF)
    return bytes(data)


def encoded_bytes(pcm: np.ndarray[Any, np.dtype[np.int16]], container: str, codec: str) -> bytes:
    """``pcm`` encoded by PyAV into ``container`` with ``codec``, in memory."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=SAMPLE_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def gradient_png(width: int, height: int) -> bytes:
    """A PNG whose red grows left to right and green grows top to bottom."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
    rgb = np.stack([x, y, np.full_like(x, 60)], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def make_handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to ``fake``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read ``fake.requests`` instead."""

        # --- plumbing -------------------------------------------------------------------------
        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _error(self, fault: Fault) -> None:
            status = fault.status or 500
            error = {"message": fault.message, "type": "test_error", "code": fault.code}
            self._json(status, {"error": error}, fault.headers)

        def _start_chunked(self, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _end_chunked(self) -> None:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _drop(self) -> None:
            """Close the socket in the middle of a chunked body, as a crashed server or proxy does."""
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)

        # --- routes ---------------------------------------------------------------------------
        def do_GET(self) -> None:
            """``/v1/models``."""
            fake.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, {}))
            fault = self._next_fault()
            if fault is not None and fault.status:
                self._error(fault)
                return
            if self.path != "/v1/models":
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in fake.models]
            self._json(200, {"object": "list", "data": data})

        def do_POST(self) -> None:
            """Chat completions, speech and images."""
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            fault = self._next_fault()
            if self.path == "/v1/chat/completions":
                self._chat(body, fault)
            elif self.path == "/v1/audio/speech":
                self._speech(body, fault)
            elif self.path == "/v1/images/generations":
                self._images(body, fault)
            else:
                self._json(404, {"error": {"message": f"no route {self.path}"}})

        def _next_fault(self) -> Fault | None:
            queue = fake.faults.get(self.path)
            return queue.popleft() if queue else None

        def _chat(self, body: dict[str, Any], fault: Fault | None) -> None:
            if body.get("model") not in fake.models:
                message = f"The model `{body.get('model')}` does not exist"
                self._json(404, {"error": {"message": message, "code": "model_not_found"}})
                return
            if fault is not None and fault.reject_json_schema:
                if body.get("response_format", {}).get("type") == "json_schema":
                    message = "Invalid parameter: 'response_format' of type 'json_schema' is not supported"
                    self._json(400, {"error": {"message": message, "type": "invalid_request_error"}})
                    return
                fault = None
            if fault is not None and fault.status:
                if fault.status == 401:
                    # Like the real service, echo the key back in the message (the plugin must not).
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    fault = Fault(status=401, message=f"Incorrect API key provided: {token}.")
                self._error(fault)
                return
            content = fault.content if fault is not None and fault.content is not None else fake.script
            refusal = fault.refusal if fault is not None else None
            if body.get("stream"):
                self._chat_stream(body, content, refusal, fault.drop_after_chunks if fault else None)
            else:
                message: dict[str, Any] = {"role": "assistant", "content": None if refusal else content}
                message["refusal"] = refusal
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                usage = {
                    "prompt_tokens": fake.usage[0],
                    "completion_tokens": fake.usage[1],
                    "total_tokens": 0,
                }
                payload = {"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"]}
                self._json(200, {**payload, "choices": [choice], "usage": usage})

        def _chat_stream(
            self, body: dict[str, Any], content: str, refusal: str | None, drop: int | None
        ) -> None:
            self._start_chunked("text/event-stream")
            base = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}

            def event(payload: dict[str, Any]) -> None:
                self._chunk(b"data: " + json.dumps({**base, **payload}).encode() + b"\n\n")

            pieces = [content[i : i + 9] for i in range(0, len(content), 9)]
            first_scene_end = content.find("}") + 1 if fake.gate is not None else -1
            sent = 0
            if refusal:
                for i in range(0, len(refusal), 9):
                    delta = {"refusal": refusal[i : i + 9], "content": None}
                    event({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            else:
                for number, piece in enumerate(pieces):
                    if drop is not None and number == drop:
                        self._drop()
                        return
                    event({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
                    before, sent = sent, sent + len(piece)
                    if fake.gate is not None and before < first_scene_end <= sent:
                        fake.gate.wait(timeout=10)
            event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            usage = {"prompt_tokens": fake.usage[0], "completion_tokens": fake.usage[1], "total_tokens": 0}
            event({"choices": [], "usage": usage})
            self._chunk(b"data: [DONE]\n\n")
            self._end_chunked()
            fake.stream_finished.set()

        def _speech(self, body: dict[str, Any], fault: Fault | None) -> None:
            if fault is not None and fault.status:
                self._error(fault)
                return
            words = len(str(body["input"]).split())
            samples = int(SAMPLE_RATE * (0.2 + 0.4 * words) / float(body.get("speed", 1.0)))
            fake.audio_samples.append(samples)
            pcm = tone(samples)
            fmt = body.get("response_format", "mp3")
            if fmt == "wav":
                data = wav_bytes(pcm, streamed_header=fake.streamed_wav_header)
            elif fmt == "pcm":
                data = pcm.tobytes()
            elif fmt == "flac":
                data = encoded_bytes(pcm, "flac", "flac")
            elif fmt == "mp3":
                data = encoded_bytes(pcm, "mp3", "libmp3lame")
            else:
                self._json(400, {"error": {"message": f"format {fmt} not in this test server"}})
                return
            self._start_chunked("audio/" + fmt)
            half = len(data) // 2
            self._chunk(data[:half])
            if fault is not None and fault.drop_after_chunks is not None:
                self._drop()
                return
            if fake.stall_audio is not None:
                fake.audio_started.set()
                fake.stall_audio.wait(timeout=10)
            self._chunk(data[half:])
            self._end_chunked()

        def _images(self, body: dict[str, Any], fault: Fault | None) -> None:
            if fault is not None and fault.status:
                self._error(fault)
                return
            width, height = (int(v) for v in str(body.get("size", "1024x1024")).split("x"))
            encoded = base64.b64encode(gradient_png(width, height)).decode()
            self._json(200, {"created": 0, "data": [{"b64_json": encoded, "revised_prompt": body["prompt"]}]})

    return Handler


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running local OpenAI-compatible server on a free port; stopped after the test."""
    fake = FakeOpenAI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    server.daemon_threads = True
    server.block_on_close = False
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        if fake.gate is not None:
            fake.gate.set()
        if fake.stall_audio is not None:
            fake.stall_audio.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def make_settings(fake_openai: FakeOpenAI) -> Callable[..., OpenAISettings]:
    """Settings pointing at the local server, read through the same checks as a brief's table."""

    def make(**values: Any) -> OpenAISettings:
        table: dict[str, Any] = {"base_url": fake_openai.url, "model": "test-llm", "tts_model": "test-tts"}
        table["timeout"] = 20
        table.update(values)
        return read_settings(table)

    return make


@pytest.fixture
def script_request() -> Callable[..., ScriptRequest]:
    """A small script request for a given aspect."""

    def make(aspect: Any = "16:9", scenes: int = 3) -> ScriptRequest:
        brief = Brief(topic="How honeybees share where flowers are", aspect=aspect, goal="explain the dance")
        plan = PlanSpec(duration=30.0, pacing="fast")
        return ScriptRequest(brief=brief, plan=plan, scene_count=scenes, word_target=75)

    return make
