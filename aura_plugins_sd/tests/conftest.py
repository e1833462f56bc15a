"""Local servers on 127.0.0.1 speaking the WebUI, ComfyUI and Stability AI wire formats.

Each server draws a real PNG with Pillow at the size it was asked for: four coloured quadrants,
so a test can tell that the saved picture is the server's picture, scaled and cropped.
The server itself (lifecycle, recorded requests, scripted faults) is aura's ``FakeHTTPServer``
(``fake_http_server``); each class here holds only its vendor's routes, payloads and named faults.
"""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
from typing import Any, ClassVar

import pytest
from PIL import Image, ImageDraw

from aura_core.testing.http import ANY_PATH, FakeHTTPServer, Request, Response, json_response, refused_url

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


class VendorServer:
    """One vendor's wire format on a ``FakeHTTPServer``, which answers every path with ``handle``."""

    def __init__(self, http: FakeHTTPServer) -> None:
        self.http = http
        self.url = http.url
        http.route(ANY_PATH, self.handle)

    def handle(self, request: Request) -> Response:
        """Answer one request."""
        raise NotImplementedError

    @property
    def requests(self) -> list[Request]:
        """Every request received, in order."""
        return self.http.requests

    def calls(self, path: str) -> list[Request]:
        """The requests received for ``path``."""
        return self.http.calls(path)


class WebUIServer(VendorServer):
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

    #: Scripted faults by name (``fail``): the status, body and headers of the next txt2img answer.
    FAULTS: ClassVar[dict[str, tuple[int, Any, dict[str, str]]]] = {
        "500": (500, {"error": "RuntimeError", "detail": "", "body": "", "errors": "boom"}, {}),
        "503": (503, {"detail": "busy"}, {"retry-after": "7"}),
        # "try again later" 4xx answers
        "409": (409, {"detail": "try again later"}, {"retry-after": "3"}),
        "425": (425, {"detail": "try again later"}, {"retry-after": "3"}),
        "oom": (
            500,
            {
                "error": "OutOfMemoryError",
                "detail": "",
                "body": "",
                "errors": "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 8.00 GiB total capacity)",
            },
            {},
        ),
    }

    def fail(self, fault: str) -> None:
        """Answer the next txt2img call with the fault named ``fault``."""
        self.http.fail("/sdapi/v1/txt2img", *self.FAULTS[fault], method="POST")

    def handle(self, request: Request) -> Response:
        if request.path == "/sdapi/v1/sd-models":
            return json_response(self.MODELS)
        if request.path == "/sdapi/v1/options":
            return json_response({"sd_model_checkpoint": self.MODELS[0]["title"]})
        if request.path != "/sdapi/v1/txt2img" or request.method != "POST":
            return json_response({"detail": "Not Found"}, 404)
        body = request.json
        png = draw_png(int(body["width"]), int(body["height"]))
        info = {"seed": body["seed"], "width": body["width"], "height": body["height"]}
        return json_response(
            {"images": [base64.b64encode(png).decode()], "parameters": body, "info": json.dumps(info)}
        )


class ComfyUIServer(VendorServer):
    """ComfyUI: ``/prompt`` queue, ``/history/<id>`` (empty for ``pending_polls`` polls), ``/view``."""

    CHECKPOINTS: ClassVar[list[str]] = ["sd15base.safetensors", "sdxl_base_1.0.safetensors"]

    def __init__(self, http: FakeHTTPServer, pending_polls: int = 3) -> None:
        super().__init__(http)
        self.pending_polls = pending_polls
        self.jobs: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}

    def fail(self, fault: str) -> None:
        """``oom``: the next queued prompt fails with CUDA out of memory in its history entry."""
        assert fault == "oom", fault
        self.http.once("/prompt", lambda request: self._queue(request.json["prompt"], fault), method="POST")

    def handle(self, request: Request) -> Response:
        if request.path == "/system_stats":
            return json_response({"system": {"os": "posix"}, "devices": [{"name": "cuda:0 Fake GPU"}]})
        if request.path == "/object_info/CheckpointLoaderSimple":
            return json_response(
                {"CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [self.CHECKPOINTS, {}]}}}}
            )
        if request.path == "/prompt" and request.method == "POST":
            return self._queue(request.json["prompt"])
        if request.path.startswith("/history/"):
            return self._history(request.path.rsplit("/", 1)[1])
        if request.path == "/view":
            name = request.args["filename"]
            if request.args.getlist("type") != ["output"] or name not in self.files:
                return json_response({"error": "not found"}, 404)
            return Response(self.files[name], content_type="image/png")
        if request.path in ("/queue", "/interrupt"):
            return json_response({})
        return json_response({"error": "not found"}, 404)

    def _queue(self, workflow: dict[str, Any], fault: str = "") -> Response:
        for node_id, node in workflow.items():
            name = node["inputs"].get("ckpt_name")
            if name is not None and name not in self.CHECKPOINTS:
                error = {
                    "type": "value_not_in_list",
                    "message": "Value not in list",
                    "details": f"ckpt_name: '{name}' not in {self.CHECKPOINTS}",
                    "extra_info": {},
                }
                return json_response(
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
                    400,
                )
        prompt_id = str(uuid.uuid4())
        self.jobs[prompt_id] = {"workflow": workflow, "polls": 0, "fault": fault}
        return json_response({"prompt_id": prompt_id, "number": len(self.jobs), "node_errors": {}})

    def _history(self, prompt_id: str) -> Response:
        job = self.jobs.get(prompt_id)
        if job is None:
            return json_response({})
        job["polls"] += 1
        if job["polls"] <= self.pending_polls:
            return json_response({}, 200)  # still queued or running: ComfyUI's history has no entry yet
        if job["fault"] == "oom":
            message = {
                "prompt_id": prompt_id,
                "node_id": "3",
                "node_type": "KSampler",
                "exception_message": "Allocation on device 0 would exceed allowed memory. (out of memory)",
                "exception_type": "torch.OutOfMemoryError",
            }
            status = {"status_str": "error", "completed": False, "messages": [["execution_error", message]]}
            return json_response({prompt_id: {"prompt": [], "outputs": {}, "status": status}})
        workflow = job["workflow"]
        latent = next(n for n in workflow.values() if {"width", "height", "batch_size"} <= set(n["inputs"]))
        name = f"aura_{len(self.files) + 1:05d}_.png"
        self.files[name] = draw_png(latent["inputs"]["width"], latent["inputs"]["height"])
        outputs = {
            "10": {"images": [{"filename": "preview.png", "subfolder": "", "type": "temp"}]},
            "9": {"images": [{"filename": name, "subfolder": "", "type": "output"}]},
        }
        status = {"status_str": "success", "completed": True, "messages": []}
        return json_response({prompt_id: {"prompt": [], "outputs": outputs, "status": status}})


class StabilityServer(VendorServer):
    """Stability AI v2beta ``/v2beta/stable-image/generate/{core,ultra,sd3}`` with ``accept: image/*``."""

    KEY = "sk-test-0123456789abcdef"
    SIZES: ClassVar[dict[str, tuple[int, int]]] = {
        "16:9": (1344, 768),
        "1:1": (1024, 1024),
        "9:16": (768, 1344),
        "3:2": (1216, 832),
    }

    #: Scripted faults by name (``fail``): the status, body and headers of the next generation's answer.
    FAULTS: ClassVar[dict[str, tuple[int, Any, dict[str, str]]]] = {
        "moderation": (
            403,
            {
                "id": "b2",
                "name": "content_moderation",
                "errors": [
                    "Your request was flagged by our content moderation system, as a result your request was denied."
                ],
            },
            {},
        ),
        "500": (500, {"id": "c3", "name": "internal_error", "errors": ["try again"]}, {}),
        "429": (429, {"id": "d4", "name": "rate_limit", "errors": ["slow down"]}, {"retry-after": "3"}),
        "echo-key": (400, {"id": "e5", "name": "bad_request", "errors": [f"bad header Bearer {KEY}"]}, {}),
    }

    def fail(self, fault: str) -> None:
        """Answer the next generation with the fault named ``fault``; ``filtered``: a picture the content
        filter blurred (200 with ``finish-reason: CONTENT_FILTERED``)."""
        if fault == "filtered":
            self.http.once(GENERATE, lambda request: self.handle(request, filtered=True), method="POST")
        else:
            self.http.fail(GENERATE, *self.FAULTS[fault], method="POST")

    def handle(self, request: Request, filtered: bool = False) -> Response:
        if not request.path.startswith("/v2beta/stable-image/generate/") or request.method != "POST":
            return json_response({"name": "not_found", "errors": ["no such endpoint"]}, 404)
        if request.headers.get("authorization") != f"Bearer {self.KEY}":
            return json_response({"id": "a1", "name": "unauthorized", "errors": ["invalid api key"]}, 401)
        form = request.form
        width, height = self.SIZES.get(form["aspect_ratio"], (1024, 1024))
        headers = {"seed": form.get("seed", "0")}
        headers["finish-reason"] = "CONTENT_FILTERED" if filtered else "SUCCESS"
        return Response(draw_png(width, height), headers=headers, content_type="image/png")


#: Every Stability generation endpoint (core, ultra, sd3).
GENERATE = re.compile("/v2beta/stable-image/generate/")


@pytest.fixture
def webui(fake_http_server: FakeHTTPServer) -> WebUIServer:
    """A WebUI server on a random local port."""
    return WebUIServer(fake_http_server)


@pytest.fixture
def comfyui(fake_http_server: FakeHTTPServer) -> ComfyUIServer:
    """A ComfyUI server on a random local port that answers 3 history polls with "not done yet"."""
    return ComfyUIServer(fake_http_server)


@pytest.fixture
def stability(fake_http_server: FakeHTTPServer, monkeypatch: pytest.MonkeyPatch) -> StabilityServer:
    """A Stability AI server on a random local port, with its key in ``STABILITY_API_KEY``."""
    monkeypatch.setenv("STABILITY_API_KEY", StabilityServer.KEY)
    return StabilityServer(fake_http_server)


@pytest.fixture(name="refused_url")
def refused_url_fixture() -> str:
    """An address on 127.0.0.1 where nothing listens."""
    return refused_url()


@pytest.fixture
def anyio_backend() -> str:
    """Plugin code is tested on asyncio."""
    return "asyncio"


@pytest.fixture
def quadrants() -> Any:
    """``assert_quadrants(path, width, height)``: the picture is the servers' drawing, fitted to the size."""
    return assert_quadrants
