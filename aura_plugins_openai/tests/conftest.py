"""A local server on 127.0.0.1 that speaks the OpenAI wire format, with scriptable faults.

It serves ``/v1/chat/completions`` (streamed as SSE over chunked HTTP/1.1, and not streamed),
``/v1/audio/speech`` (real WAV, FLAC, MP3 or PCM made with numpy and PyAV), ``/v1/images/generations``
(a base64 PNG gradient of the requested size) and ``/v1/models``. The server itself (lifecycle, recorded
requests, one-shot faults, chunked streaming, dropped connections) is aura's ``FakeHTTPServer``.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import threading
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from aura_core import Brief, PlanSpec, ScriptRequest
from aura_core.testing.http import ANY_PATH, FakeHTTPServer, Request, Response, json_response, sse, streamed
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


class FakeOpenAI:
    """The OpenAI routes on a ``FakeHTTPServer``; tests queue faults and read what was asked."""

    def __init__(self, http: FakeHTTPServer) -> None:
        self.http = http
        self.url = f"{http.url}/v1"
        self.script = json.dumps({"scenes": SCENES})
        self.models = ["test-llm", "test-tts", "gpt-image-1", "dall-e-3"]
        self.gate: threading.Event | None = None
        self.stream_finished = threading.Event()
        self.audio_samples: list[int] = []
        self.streamed_wav_header = False
        self.stall_audio: threading.Event | None = None
        self.audio_started = threading.Event()
        self.usage = (41, 97)
        http.route("/v1/models", self.answer, method="GET")
        for path in ("/v1/chat/completions", "/v1/audio/speech", "/v1/images/generations"):
            http.route(path, self.answer, method="POST")
        http.route(
            ANY_PATH, lambda request: json_response({"error": {"message": f"no route {request.path}"}}, 404)
        )

    def fail(self, path: str, **fault: Any) -> None:
        """Queue a ``Fault(**fault)`` for the next request to ``path`` (for example ``/v1/chat/completions``)."""
        scripted = Fault(**fault)
        self.http.once(path, lambda request: self.answer(request, scripted))

    def asked(self, path: str) -> list[Request]:
        """The requests received for ``path``, in order."""
        return self.http.calls(path)

    def answer(self, request: Request, fault: Fault | None = None) -> Response:
        """The route of ``request``'s path, misbehaving as ``fault`` says."""
        if request.path == "/v1/models":
            if fault is not None and fault.status:
                return error(fault)
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in self.models]
            return json_response({"object": "list", "data": data})
        body = json.loads(request.get_data() or b"{}")
        if request.path == "/v1/chat/completions":
            return self.chat(request, body, fault)
        if request.path == "/v1/audio/speech":
            return self.speech(request, body, fault)
        return self.images(body, fault)

    def chat(self, request: Request, body: dict[str, Any], fault: Fault | None) -> Response:
        if body.get("model") not in self.models:
            message = f"The model `{body.get('model')}` does not exist"
            return json_response({"error": {"message": message, "code": "model_not_found"}}, 404)
        if fault is not None and fault.reject_json_schema:
            if body.get("response_format", {}).get("type") == "json_schema":
                message = "Invalid parameter: 'response_format' of type 'json_schema' is not supported"
                return json_response({"error": {"message": message, "type": "invalid_request_error"}}, 400)
            fault = None
        if fault is not None and fault.status:
            if fault.status == 401:
                # Like the real service, echo the key back in the message (the plugin must not).
                token = request.headers.get("Authorization", "").removeprefix("Bearer ")
                fault = Fault(status=401, message=f"Incorrect API key provided: {token}.")
            return error(fault)
        content = fault.content if fault is not None and fault.content is not None else self.script
        refusal = fault.refusal if fault is not None else None
        if body.get("stream"):
            events = sse(self.chat_events(body["model"], content, refusal))
            drop = fault.drop_after_chunks if fault is not None else None
            return streamed(request, events, content_type="text/event-stream", drop_after=drop)
        message: dict[str, Any] = {"role": "assistant", "content": None if refusal else content}
        message["refusal"] = refusal
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        usage = {"prompt_tokens": self.usage[0], "completion_tokens": self.usage[1], "total_tokens": 0}
        payload = {"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"]}
        return json_response({**payload, "choices": [choice], "usage": usage})

    def chat_events(self, model: str, content: str, refusal: str | None) -> Iterator[Any]:
        """The chunks of a streamed completion: the content 9 characters at a time (held at ``gate`` after
        the first scene's closing brace), or the refusal; then the finish, the usage and ``[DONE]``."""
        base = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model}
        if refusal:
            for i in range(0, len(refusal), 9):
                delta = {"refusal": refusal[i : i + 9], "content": None}
                yield {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        else:
            first_scene_end = content.find("}") + 1 if self.gate is not None else -1
            sent = 0
            for i in range(0, len(content), 9):
                piece = content[i : i + 9]
                yield {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                before, sent = sent, sent + len(piece)
                if self.gate is not None and before < first_scene_end <= sent:
                    self.gate.wait(timeout=10)
        yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        usage = {"prompt_tokens": self.usage[0], "completion_tokens": self.usage[1], "total_tokens": 0}
        yield {**base, "choices": [], "usage": usage}
        yield "[DONE]"
        self.stream_finished.set()

    def speech(self, request: Request, body: dict[str, Any], fault: Fault | None) -> Response:
        if fault is not None and fault.status:
            return error(fault)
        words = len(str(body["input"]).split())
        samples = int(SAMPLE_RATE * (0.2 + 0.4 * words) / float(body.get("speed", 1.0)))
        self.audio_samples.append(samples)
        pcm = tone(samples)
        fmt = body.get("response_format", "mp3")
        if fault is not None and fault.content is not None:  # a garbled answer in place of the audio
            data = fault.content.encode()
        elif fmt == "wav":
            data = wav_bytes(pcm, streamed_header=self.streamed_wav_header)
        elif fmt == "pcm":
            data = pcm.tobytes()
        elif fmt == "flac":
            data = encoded_bytes(pcm, "flac", "flac")
        elif fmt == "mp3":
            data = encoded_bytes(pcm, "mp3", "libmp3lame")
        else:
            return json_response({"error": {"message": f"format {fmt} not in this test server"}}, 400)
        drop = 1 if fault is not None and fault.drop_after_chunks is not None else None
        return streamed(request, self.audio_halves(data), content_type="audio/" + fmt, drop_after=drop)

    def audio_halves(self, data: bytes) -> Iterator[bytes]:
        """The audio in two chunks, held between them while ``stall_audio`` is set."""
        half = len(data) // 2
        yield data[:half]
        if self.stall_audio is not None:
            self.audio_started.set()
            self.stall_audio.wait(timeout=10)
        yield data[half:]

    def images(self, body: dict[str, Any], fault: Fault | None) -> Response:
        if fault is not None and fault.status:
            return error(fault)
        width, height = (int(v) for v in str(body.get("size", "1024x1024")).split("x"))
        encoded = base64.b64encode(gradient_png(width, height)).decode()
        return json_response(
            {"created": 0, "data": [{"b64_json": encoded, "revised_prompt": body["prompt"]}]}
        )


def error(fault: Fault) -> Response:
    """OpenAI's error answer for ``fault``."""
    payload = {"error": {"message": fault.message, "type": "test_error", "code": fault.code}}
    return json_response(payload, fault.status or 500, fault.headers)


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


@pytest.fixture
def fake_openai(fake_http_server: FakeHTTPServer) -> Iterator[FakeOpenAI]:
    """A running local OpenAI-compatible server on a free port; stopped after the test."""
    fake = FakeOpenAI(fake_http_server)
    yield fake
    for held in (fake.gate, fake.stall_audio):
        if held is not None:
            held.set()


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
