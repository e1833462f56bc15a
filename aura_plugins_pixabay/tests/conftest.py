"""A local server speaking the Pixabay wire format, on 127.0.0.1, for the provider's httpx client to talk to.

It implements what the provider uses, as Pixabay documents it: ``GET /api/`` (photos: ``hits`` with
``previewURL``, ``webformatURL``, ``largeImageURL`` and, with full access, ``fullHDURL`` and ``imageURL``) and
``GET /api/videos/`` (``hits`` with ``videos`` ``large``/``medium``/``small``/``tiny``, an empty ``url``
where a size is missing), the key as the ``key`` parameter, ``q``/``orientation``/``per_page``/``page``,
errors as plain text with their status, and the ``X-RateLimit-*`` headers on every answer. Its files are
real: a photo scaled to the longest side its address names, an MP4 of the size its entry gives. The server
itself is aura's ``FakeHTTPServer``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest

from aura_core.testing.http import FakeHTTPServer, Request, Response, json_response
from aura_core.testing.stock import clip_bytes, photo_bytes

#: A key shaped like a Pixabay key (digits, a dash, 32 hex digits): tests check it never shows in an error.
PIXABAY_KEY = "48213957-3f9a0c2e7b1d4086a9e2c7f1b3d5e8a0"

RATE_HEADERS = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99", "X-RateLimit-Reset": "60"}


def photo(number: int, width: int, height: int, tags: str, colour: tuple[int, int, int]) -> dict[str, Any]:
    """A library photo: its size, tags and colour."""
    return {"id": number, "width": width, "height": height, "tags": tags, "colour": colour}


def video(
    number: int, sizes: dict[str, tuple[int, int]], seconds: int, tags: str, colour: tuple[int, int, int]
) -> dict[str, Any]:
    """A library video: its renditions by name (a missing one has no file), length, tags and colour."""
    return {"id": number, "sizes": sizes, "duration": seconds, "tags": tags, "colour": colour}


def fitted(width: int, height: int, longest: int) -> tuple[int, int]:
    """Pixabay's scaling: the longest side at most ``longest`` (0: the original), never enlarged."""
    scale = min(1.0, longest / max(width, height)) if longest else 1.0
    return round(width * scale), round(height * scale)


class FakePixabay:
    """The Pixabay routes on a ``FakeHTTPServer``: a small library of photos and videos, searched by tag."""

    def __init__(self, http: FakeHTTPServer) -> None:
        self.http = http
        self.url = f"{http.url}/api"
        self.key = PIXABAY_KEY
        #: Whether photos come with ``fullHDURL`` and ``imageURL`` (Pixabay's full API access).
        self.full_access = False
        self.photos = [
            photo(101, 5000, 3333, "honeybees, flowers, meadow", (210, 160, 50)),
            photo(102, 3000, 2000, "honeybees, hive, honeycomb", (170, 110, 40)),
            photo(103, 2000, 3000, "honeybees, flowers, portrait", (50, 150, 70)),
            photo(104, 1200, 800, "honeybees, flowers, close", (150, 50, 110)),
        ]
        self.videos = [
            video(
                201,
                {"large": (640, 360), "medium": (480, 270), "small": (320, 180), "tiny": (192, 108)},
                6,
                "honeybees, flowers",
                (200, 100, 40),
            ),
            video(
                202,
                {"medium": (480, 270), "small": (320, 180), "tiny": (192, 108)},
                3,
                "honeybees, hive",
                (40, 110, 210),
            ),
            video(
                203,
                {"large": (360, 640), "medium": (270, 480), "small": (180, 320), "tiny": (108, 192)},
                9,
                "honeybees, flowers, portrait",
                (110, 40, 210),
            ),
            video(
                204,
                {"large": (640, 360), "small": (320, 180), "tiny": (192, 108)},
                5,
                "honeybees, dance",
                (40, 210, 110),
            ),
        ]
        http.route("/api/", self.search_photos, method="GET")
        http.route("/api/videos/", self.search_videos, method="GET")
        http.route(re.compile(r"/files/"), self.media, method="GET")

    def _refused(self, request: Request) -> Response | None:
        if request.args.get("key") != self.key:
            return Response(
                b"[ERROR 400] Invalid or missing API key",
                status=400,
                headers=RATE_HEADERS,
                content_type="text/plain",
            )
        return None

    def _found(
        self, request: Request, entries: list[dict[str, Any]], orientation: Any
    ) -> tuple[list[dict[str, Any]], int]:
        words = set(request.args.get("q", "").casefold().split())
        per_page = int(request.args.get("per_page", 20))
        if not 3 <= per_page <= 200:
            raise AssertionError(f"Pixabay refuses per_page={per_page}")
        page = int(request.args.get("page", 1))
        found = [e for e in entries if words & {t.strip() for t in e["tags"].split(",")} and orientation(e)]
        return found[(page - 1) * per_page : page * per_page], len(found)

    def search_photos(self, request: Request) -> Response:
        """``GET /api/``: ``orientation`` horizontal, vertical or all."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        wanted = request.args.get("orientation", "all")

        def matches(e: dict[str, Any]) -> bool:
            return wanted == "all" or (wanted == "horizontal") == (e["width"] > e["height"])

        found, total = self._found(request, self.photos, matches)
        return json_response(
            {"total": total, "totalHits": total, "hits": [self.photo_hit(p) for p in found]},
            200,
            RATE_HEADERS,
        )

    def photo_hit(self, entry: dict[str, Any]) -> dict[str, Any]:
        """A photo as Pixabay lists it."""
        number, width, height = entry["id"], entry["width"], entry["height"]
        files = f"{self.http.url}/files/photo/{number}"
        preview, webformat = fitted(width, height, 150), fitted(width, height, 640)
        hit: dict[str, Any] = {
            "id": number,
            "pageURL": f"{self.http.url}/photos/{entry['tags'].split(',')[0]}-{number}/",
            "type": "photo",
            "tags": entry["tags"],
            "previewURL": f"{files}_150.jpg",
            "previewWidth": preview[0],
            "previewHeight": preview[1],
            "webformatURL": f"{files}_640.jpg",
            "webformatWidth": webformat[0],
            "webformatHeight": webformat[1],
            "largeImageURL": f"{files}_1280.jpg",
            "imageWidth": width,
            "imageHeight": height,
            "imageSize": width * height // 4,
            "views": 1000,
            "downloads": 500,
            "collections": 10,
            "likes": 50,
            "comments": 5,
            "user_id": 3000 + number,
            "user": f"user{number}",
            "userImageURL": "",
        }
        if self.full_access:
            hit |= {"fullHDURL": f"{files}_1920.jpg", "imageURL": f"{files}_0.jpg"}
        return hit

    def search_videos(self, request: Request) -> Response:
        """``GET /api/videos/``: no orientation, as Pixabay's video search has none."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        assert "orientation" not in request.args
        found, total = self._found(request, self.videos, lambda _e: True)
        return json_response(
            {"total": total, "totalHits": total, "hits": [self.video_hit(v) for v in found]},
            200,
            RATE_HEADERS,
        )

    def video_hit(self, entry: dict[str, Any]) -> dict[str, Any]:
        """A video as Pixabay lists it: each of the four sizes, empty where it has none."""
        videos = {}
        for name in ("large", "medium", "small", "tiny"):
            if name in entry["sizes"]:
                width, height = entry["sizes"][name]
                url = f"{self.http.url}/files/video/{entry['id']}_{name}.mp4"
                size = len(mp4((width, height), entry["duration"], entry["colour"]))
                videos[name] = {"url": url, "width": width, "height": height, "size": size, "thumbnail": ""}
            else:
                videos[name] = {"url": "", "width": 0, "height": 0, "size": 0, "thumbnail": ""}
        return {
            "id": entry["id"],
            "pageURL": f"{self.http.url}/videos/{entry['tags'].split(',')[0]}-{entry['id']}/",
            "type": "film",
            "tags": entry["tags"],
            "duration": entry["duration"],
            "videos": videos,
            "views": 100,
            "downloads": 50,
            "likes": 5,
            "comments": 1,
            "user_id": 4000 + entry["id"],
            "user": f"filmer{entry['id']}",
            "userImageURL": "",
        }

    def media(self, request: Request) -> Response:
        """A photo scaled to the longest side its address names, or a video file of its entry's size."""
        photo_match = re.fullmatch(r"/files/photo/(\d+)_(\d+)\.jpg", request.path)
        if photo_match:
            entry = next(p for p in self.photos if p["id"] == int(photo_match[1]))
            size = fitted(entry["width"], entry["height"], int(photo_match[2]))
            return Response(jpeg(size, entry["colour"]), content_type="image/jpeg")
        video_match = re.fullmatch(r"/files/video/(\d+)_(\w+)\.mp4", request.path)
        if video_match:
            entry = next(v for v in self.videos if v["id"] == int(video_match[1]))
            size = entry["sizes"][video_match[2]]
            return Response(mp4(size, entry["duration"], entry["colour"]), content_type="video/mp4")
        return Response(b"Not Found", status=404)

    def downloads(self) -> list[str]:
        """The files fetched."""
        return [r.path for r in self.http.requests if r.path.startswith("/files/")]


@functools.cache
def jpeg(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    """A JPEG photo of ``size`` (made once per size and colour)."""
    return photo_bytes(*size, colour=colour)


@functools.cache
def mp4(size: tuple[int, int], seconds: float, colour: tuple[int, int, int]) -> bytes:
    """An MP4 of ``size`` lasting ``seconds`` at 10 fps (made once per size, length and colour)."""
    return clip_bytes(*size, seconds=seconds, fps=10, colour=colour)


@pytest.fixture
def pixabay(fake_http_server: FakeHTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakePixabay:
    """The fake Pixabay on a fresh server, its key in ``PIXABAY_API_KEY``."""
    monkeypatch.setenv("PIXABAY_API_KEY", PIXABAY_KEY)
    return FakePixabay(fake_http_server)
