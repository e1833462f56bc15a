"""Local servers on 127.0.0.1 speaking the WebUI, ComfyUI and Stability AI wire formats.

Each server draws a real PNG with Pillow at the size it was asked for: four coloured quadrants,
so a test can tell that the saved picture is the server's picture, scaled and cropped.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import io
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image, ImageDraw

QUADRANTS = ((220, 30, 30), (30, 200, 30), (30, 30, 220), (230, 220, 30))  # TL, TR, BL, BR


def draw_png(width: int, height: int) -> bytes:
    """A PNG of ``width`` x ``height`` with red, green, blue and yellow quadrants."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    w2, h2 = width // 2, height // 2
    for (x0, y0, x1, y1), colour in zip(
        ((0, 0, w2, h2), (w2, 0, width, h2), (0, h2, w2, height), (w2, h2, width, height)),
        QUADRANTS,
        strict=True,
    ):
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def assert_quadrants(path: Any, width: int, height: int) -> None:
    """The PNG at ``path`` is ``width`` x ``height`` and shows the server's four quadrants in place."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (width, height)
        rgb = image.convert("RGB")
        points = [(width // 4, height // 4), (3 * width // 4, height // 4)]
        points += [(width // 4, 3 * height // 4), (3 * width // 4, 3 * height // 4)]
        for point, colour in zip(points, QUADRANTS, strict=True):
            pixel = rgb.getpixel(point)
            assert isinstance(pixel, tuple)
            assert all(abs(a - b) <= 12 for a, b in zip(pixel, colour, strict=True)), (point, pixel, colour)


class Recorded:
    """One request a fake server received."""

    def __init__(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ):
        self.method, self.path, self.query, self.headers, self.body = method, path, query, headers, body

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The body as a multipart form of text fields."""
        head = f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + self.body)
        fields: dict[str, str] = {}
        for part in message.iter_parts():
            name = str(part.get_param("name", header="content-disposition"))
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            fields[name] = payload.decode()
        return fields


Reply = tuple[int, dict[str, str], bytes]


def json_reply(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON response."""
    return status, {"content-type": "application/json", **(headers or {})}, json.dumps(data).encode()


class FakeServer:
    """A threaded HTTP server on a random port; subclasses answer in ``handle``."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.faults: list[str] = []  # consumed one per generation call
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                parts = urlsplit(self.path)
                recorded = Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                server.requests.append(recorded)
                status, headers, body = server.handle(recorded)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def fault(self) -> str:
        """The next scripted fault, or ``""``."""
        return self.faults.pop(0) if self.faults else ""

    def handle(self, request: Recorded) -> Reply:
        """Answer one request."""
        raise NotImplementedError

    def calls(self, path: str) -> list[Recorded]:
        """The requests received for ``path``."""
        return [r for r in self.requests if r.path == path]


class WebUIServer(FakeServer):
    """AUTOMATIC1111/Forge: ``/sdapi/v1/sd-models``, ``/sdapi/v1/options``, ``/sdapi/v1/txt2img``."""

    MODELS: ClassVar[list[dict[str, str]]] = [
        {
            "title": "dreamshaper_8.safetensors [879db523c3]",
            "model_name": "dreamshaper_8",
            "hash": "879db523c3",
            "sha256": "879db523c30d3b9017143d56705015e15a2cb5628762c11d086fed9538abd7fd",
            "filename": "/models/Stable-diffusion/dreamshaper_8.safetensors",
        }
    ]

    def handle(self, request: Recorded) -> Reply:
        if request.path == "/sdapi/v1/sd-models":
            return json_reply(200, self.MODELS)
        if request.path == "/sdapi/v1/options":
            return json_reply(200, {"sd_model_checkpoint": self.MODELS[0]["title"]})
        if request.path != "/sdapi/v1/txt2img" or request.method != "POST":
            return json_reply(404, {"detail": "Not Found"})
        fault = self.fault()
        if fault == "500":
            return json_reply(500, {"error": "RuntimeError", "detail": "", "body": "", "errors": "boom"})
        if fault == "503":
            return json_reply(503, {"detail": "busy"}, {"retry-after": "7"})
        if fault in ("409", "425"):  # "try again later" 4xx answers
            return json_reply(int(fault), {"detail": "try again later"}, {"retry-after": "3"})
        if fault == "oom":
            return json_reply(
                500,
                {
                    "error": "OutOfMemoryError",
                    "detail": "",
                    "body": "",
                    "errors": "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 8.00 GiB total capacity)",
                },
            )
        body = request.json()
        png = draw_png(int(body["width"]), int(body["height"]))
        info = {"seed": body["seed"], "width": body["width"], "height": body["height"]}
        return json_reply(
            200, {"images": [base64.b64encode(png).decode()], "parameters": body, "info": json.dumps(info)}
        )


class ComfyUIServer(FakeServer):
    """ComfyUI: ``/prompt`` queue, ``/history/<id>`` (empty for ``pending_polls`` polls), ``/view``."""

    CHECKPOINTS: ClassVar[list[str]] = ["sd15base.safetensors", "sdxl_base_1.0.safetensors"]

    def __init__(self, pending_polls: int = 3) -> None:
        super().__init__()
        self.pending_polls = pending_polls
        self.jobs: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}

    def handle(self, request: Recorded) -> Reply:
        if request.path == "/system_stats":
            return json_reply(200, {"system": {"os": "posix"}, "devices": [{"name": "cuda:0 Fake GPU"}]})
        if request.path == "/object_info/CheckpointLoaderSimple":
            return json_reply(
                200,
                {"CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [self.CHECKPOINTS, {}]}}}},
            )
        if request.path == "/prompt" and request.method == "POST":
            return self._queue(request.json()["prompt"])
        if request.path.startswith("/history/"):
            return self._history(request.path.rsplit("/", 1)[1])
        if request.path == "/view":
            name = request.query["filename"][0]
            if request.query.get("type") != ["output"] or name not in self.files:
                return json_reply(404, {"error": "not found"})
            return 200, {"content-type": "image/png"}, self.files[name]
        if request.path in ("/queue", "/interrupt"):
            return json_reply(200, {})
        return json_reply(404, {"error": "not found"})

    def _queue(self, workflow: dict[str, Any]) -> Reply:
        for node_id, node in workflow.items():
            name = node["inputs"].get("ckpt_name")
            if name is not None and name not in self.CHECKPOINTS:
                error = {
                    "type": "value_not_in_list",
                    "message": "Value not in list",
                    "details": f"ckpt_name: '{name}' not in {self.CHECKPOINTS}",
                    "extra_info": {},
                }
                return json_reply(
                    400,
                    {
                        "error": {
                            "type": "prompt_outputs_failed_validation",
                            "message": "Prompt outputs failed",
                        },
                        "node_errors": {
                            node_id: {
                                "errors": [error],
                                "dependent_outputs": ["9"],
                                "class_type": node["class_type"],
                            }
                        },
                    },
                )
        prompt_id = str(uuid.uuid4())
        self.jobs[prompt_id] = {"workflow": workflow, "polls": 0, "fault": self.fault()}
        return json_reply(200, {"prompt_id": prompt_id, "number": len(self.jobs), "node_errors": {}})

    def _history(self, prompt_id: str) -> Reply:
        job = self.jobs.get(prompt_id)
        if job is None:
            return json_reply(200, {})
        job["polls"] += 1
        if job["polls"] <= self.pending_polls:
            return json_reply(200, {})  # still queued or running: ComfyUI's history has no entry yet
        if job["fault"] == "oom":
            message = {
                "prompt_id": prompt_id,
                "node_id": "3",
                "node_type": "KSampler",
                "exception_message": "Allocation on device 0 would exceed allowed memory. (out of memory)",
                "exception_type": "torch.OutOfMemoryError",
            }
            status = {"status_str": "error", "completed": False, "messages": [["execution_error", message]]}
            return json_reply(200, {prompt_id: {"prompt": [], "outputs": {}, "status": status}})
        workflow = job["workflow"]
        latent = next(n for n in workflow.values() if {"width", "height", "batch_size"} <= set(n["inputs"]))
        name = f"aura_{len(self.files) + 1:05d}_.png"
        self.files[name] = draw_png(latent["inputs"]["width"], latent["inputs"]["height"])
        outputs = {
            "10": {"images": [{"filename": "preview.png", "subfolder": "", "type": "temp"}]},
            "9": {"images": [{"filename": name, "subfolder": "", "type": "output"}]},
        }
        status = {"status_str": "success", "completed": True, "messages": []}
        return json_reply(200, {prompt_id: {"prompt": [], "outputs": outputs, "status": status}})


class StabilityServer(FakeServer):
    """Stability AI v2beta ``/v2beta/stable-image/generate/{core,ultra,sd3}`` with ``accept: image/*``."""

    KEY = "sk-test-0123456789abcdef"
    SIZES: ClassVar[dict[str, tuple[int, int]]] = {
        "16:9": (1344, 768),
        "1:1": (1024, 1024),
        "9:16": (768, 1344),
        "3:2": (1216, 832),
    }

    def handle(self, request: Recorded) -> Reply:
        if not request.path.startswith("/v2beta/stable-image/generate/") or request.method != "POST":
            return json_reply(404, {"name": "not_found", "errors": ["no such endpoint"]})
        if request.headers.get("authorization") != f"Bearer {self.KEY}":
            return json_reply(401, {"id": "a1", "name": "unauthorized", "errors": ["invalid api key"]})
        fault = self.fault()
        if fault == "moderation":
            errors = [
                "Your request was flagged by our content moderation system, as a result your request was denied."
            ]
            return json_reply(403, {"id": "b2", "name": "content_moderation", "errors": errors})
        if fault == "500":
            return json_reply(500, {"id": "c3", "name": "internal_error", "errors": ["try again"]})
        if fault == "429":
            return json_reply(
                429, {"id": "d4", "name": "rate_limit", "errors": ["slow down"]}, {"retry-after": "3"}
            )
        if fault == "echo-key":
            return json_reply(
                400, {"id": "e5", "name": "bad_request", "errors": [f"bad header Bearer {self.KEY}"]}
            )
        form = request.form()
        width, height = self.SIZES.get(form["aspect_ratio"], (1024, 1024))
        headers = {"content-type": "image/png", "seed": form.get("seed", "0")}
        headers["finish-reason"] = "CONTENT_FILTERED" if fault == "filtered" else "SUCCESS"
        return 200, headers, draw_png(width, height)


def _serve(server: FakeServer) -> Iterator[Any]:
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture
def webui() -> Iterator[WebUIServer]:
    """A WebUI server on a random local port."""
    yield from _serve(WebUIServer())


@pytest.fixture
def comfyui() -> Iterator[ComfyUIServer]:
    """A ComfyUI server on a random local port that answers 3 history polls with "not done yet"."""
    yield from _serve(ComfyUIServer())


@pytest.fixture
def stability(monkeypatch: pytest.MonkeyPatch) -> Iterator[StabilityServer]:
    """A Stability AI server on a random local port, with its key in ``STABILITY_API_KEY``."""
    monkeypatch.setenv("STABILITY_API_KEY", StabilityServer.KEY)
    yield from _serve(StabilityServer())


@pytest.fixture
def refused_url() -> str:
    """An address on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def anyio_backend() -> str:
    """Plugin code is tested on asyncio."""
    return "asyncio"


@pytest.fixture
def quadrants() -> Any:
    """``assert_quadrants(path, width, height)``: the picture is the servers' drawing, fitted to the size."""
    return assert_quadrants
