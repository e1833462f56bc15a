"""A local server speaking the Pexels wire format, on 127.0.0.1, for the provider's httpx client to talk to.

It implements what the provider uses, as Pexels documents it: ``GET /v1/search`` (``photos``) and
``GET /videos/search`` (``videos`` with their ``video_files``), the key as the whole ``Authorization``
header, ``query``/``orientation``/``size``/``per_page``/``page``, 401 for a bad key, and the
``X-Ratelimit-*`` headers on every answer. Its files are real: a photo's ``src`` addresses resize it as
Pexels's image server does (fitted into ``w`` x ``h`` times ``dpr``, or to ``h`` alone), and a video file
is an MP4 of the size its entry gives. The server itself is aura's ``FakeHTTPServer``.
"""

from __future__ import annotations

import functools
import re
import time
from typing import Any

import pytest

from aura_core.testing.http import FakeHTTPServer, Request, Response, json_response
from aura_core.testing.stock import clip_bytes, photo_bytes

#: A key shaped like a Pexels key (56 letters and digits): tests check it never shows in an error.
PEXELS_KEY = "563492ad6f917000010000014c2b7e5d90a94b3c8f1e6a7d2b9c0e11"

#: The photo renditions of ``src`` and the query Pexels puts on each (the original has none).
SRC_QUERIES = {
    "large2x": "auto=compress&cs=tinysrgb&dpr=2&h=650&w=940",
    "large": "auto=compress&cs=tinysrgb&h=650&w=940",
    "medium": "auto=compress&cs=tinysrgb&h=350",
    "small": "auto=compress&cs=tinysrgb&h=130",
    "portrait": "auto=compress&cs=tinysrgb&fit=crop&h=1200&w=800",
    "landscape": "auto=compress&cs=tinysrgb&fit=crop&h=627&w=1200",
    "tiny": "auto=compress&cs=tinysrgb&dpr=1&fit=crop&h=200&w=280",
}


def photo(number: int, width: int, height: int, tags: str, colour: tuple[int, int, int]) -> dict[str, Any]:
    """A library photo: its Pexels fields and, privately, its tags and colour."""
    return {
        "id": number,
        "width": width,
        "height": height,
        "url": f"/photo/{tags.split()[0]}-{number}/",
        "photographer": f"Photographer {number}",
        "photographer_url": f"/@photographer-{number}",
        "photographer_id": 1000 + number,
        "avg_color": "#{:02X}{:02X}{:02X}".format(*colour),
        "liked": False,
        "alt": tags,
        "_tags": set(tags.split()),
        "_colour": colour,
    }


def video(
    number: int, sizes: list[tuple[int, int]], seconds: int, tags: str, colour: tuple[int, int, int]
) -> dict[str, Any]:
    """A library video in ``sizes`` (its MP4 files; the first is the original's), plus an HLS entry."""
    width, height = sizes[0]
    return {
        "id": number,
        "width": width,
        "height": height,
        "url": f"/video/{tags.split()[0]}-{number}/",
        "image": f"/videos/{number}/poster.jpeg",
        "duration": seconds,
        "user": {"id": 2000 + number, "name": f"Videographer {number}", "url": f"/@videographer-{number}"},
        "_files": sizes,
        "_tags": set(tags.split()),
        "_colour": colour,
    }


def orientation_of(width: int, height: int) -> str:
    """Pexels's orientation of a size."""
    if abs(width - height) <= 0.05 * max(width, height):
        return "square"
    return "landscape" if width > height else "portrait"


class FakePexels:
    """The Pexels routes on a ``FakeHTTPServer``: a small library of photos and videos, searched by tag."""

    def __init__(self, http: FakeHTTPServer) -> None:
        self.http = http
        self.url = http.url
        self.key = PEXELS_KEY
        self.photos = [
            photo(11, 4000, 2667, "honeybees flowers meadow", (200, 150, 40)),
            photo(12, 3000, 2000, "honeybees hive honeycomb", (180, 120, 30)),
            photo(13, 2000, 3000, "honeybees flowers portrait", (60, 140, 60)),
            photo(14, 1500, 1000, "honeybees flowers close", (160, 60, 120)),
            photo(15, 2400, 2400, "honeybees square", (90, 90, 200)),
        ]
        self.videos = [
            video(21, [(1280, 720), (640, 360), (320, 180)], 6, "honeybees flowers", (200, 120, 40)),
            video(22, [(640, 360), (320, 180)], 2, "honeybees hive", (40, 120, 200)),
            video(23, [(360, 640), (180, 320)], 8, "honeybees flowers portrait", (120, 40, 200)),
            video(24, [(960, 540), (480, 270)], 5, "honeybees dance", (40, 200, 120)),
        ]
        http.route("/v1/search", self.search_photos, method="GET")
        http.route("/videos/search", self.search_videos, method="GET")
        http.route(re.compile(r"/media/"), self.media, method="GET")

    # -- the API ----------------------------------------------------------------------------------------

    def _refused(self, request: Request) -> Response | None:
        if request.headers.get("Authorization") != self.key:
            return json_response({"error": "Unauthorized"}, 401, self.rate_headers())
        return None

    def rate_headers(self, remaining: int = 187) -> dict[str, str]:
        """The rate-limit headers Pexels sends: an hourly 200, reset as a UNIX time."""
        reset = int(time.time()) + 1800
        return {
            "X-Ratelimit-Limit": "200",
            "X-Ratelimit-Remaining": str(remaining),
            "X-Ratelimit-Reset": str(reset),
        }

    def _found(
        self, request: Request, entries: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], int, int]:
        words = set(request.args.get("query", "").casefold().split())
        orientation = request.args.get("orientation")
        per_page = min(80, int(request.args.get("per_page", 15)))
        page = int(request.args.get("page", 1))
        found = [
            e
            for e in entries
            if words & e["_tags"]
            and (orientation is None or orientation_of(e["width"], e["height"]) == orientation)
        ]
        return found[(page - 1) * per_page : page * per_page], len(found), per_page

    def search_photos(self, request: Request) -> Response:
        """``GET /v1/search``."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        found, total, per_page = self._found(request, self.photos)
        photos = [
            {
                **{k: v for k, v in p.items() if not k.startswith("_")},
                "url": self.url + p["url"],
                "src": self.src(p),
            }
            for p in found
        ]
        body = {
            "total_results": total,
            "page": int(request.args.get("page", 1)),
            "per_page": per_page,
            "photos": photos,
        }
        return json_response(body, 200, self.rate_headers())

    def search_videos(self, request: Request) -> Response:
        """``GET /videos/search``: ``size`` keeps videos at least HD (small), Full HD (medium) or 4K (large)."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        least = {"small": 1280 * 720, "medium": 1920 * 1080, "large": 3840 * 2160}.get(
            request.args.get("size", ""), 0
        )
        found, total, per_page = self._found(
            request, [v for v in self.videos if v["width"] * v["height"] >= least]
        )
        videos = [
            {
                **{k: v for k, v in entry.items() if not k.startswith("_")},
                "url": self.url + entry["url"],
                "video_files": self.files(entry),
                "video_pictures": [],
            }
            for entry in found
        ]
        body = {
            "total_results": total,
            "page": int(request.args.get("page", 1)),
            "per_page": per_page,
            "videos": videos,
        }
        return json_response(body, 200, self.rate_headers())

    def src(self, entry: dict[str, Any]) -> dict[str, str]:
        """A photo's ``src``: the original, and each rendition as its query asks the image server for it."""
        base = f"{self.url}/media/photos/{entry['id']}/pexels-photo-{entry['id']}.jpeg"
        return {"original": base, **{name: f"{base}?{query}" for name, query in SRC_QUERIES.items()}}

    def files(self, entry: dict[str, Any]) -> list[dict[str, Any]]:
        """A video's ``video_files``: each MP4 size, then an HLS playlist without a size."""
        files: list[dict[str, Any]] = [
            {
                "id": entry["id"] * 100 + n,
                "quality": "hd" if h >= 720 or w >= 720 else "sd",
                "file_type": "video/mp4",
                "width": w,
                "height": h,
                "fps": 25.0,
                "link": f"{self.url}/media/videos/{entry['id']}/{w}x{h}.mp4",
            }
            for n, (w, h) in enumerate(entry["_files"])
        ]
        files.append(
            {
                "id": entry["id"] * 100 + 99,
                "quality": "hls",
                "file_type": "hls",
                "width": None,
                "height": None,
                "fps": None,
                "link": f"{self.url}/media/videos/{entry['id']}/playlist.m3u8",
            }
        )
        return files

    # -- the files --------------------------------------------------------------------------------------

    def media(self, request: Request) -> Response:
        """A photo resized as its query asks (fitted into ``w`` x ``h`` times ``dpr``), or a video file."""
        photo_match = re.fullmatch(r"/media/photos/(\d+)/pexels-photo-\d+\.jpeg", request.path)
        if photo_match:
            entry = next(p for p in self.photos if p["id"] == int(photo_match[1]))
            size = served_size(entry["width"], entry["height"], request.args)
            return Response(jpeg(size, entry["_colour"]), content_type="image/jpeg")
        video_match = re.fullmatch(r"/media/videos/(\d+)/(\d+)x(\d+)\.mp4", request.path)
        if video_match:
            entry = next(v for v in self.videos if v["id"] == int(video_match[1]))
            size = (int(video_match[2]), int(video_match[3]))
            return Response(mp4(size, entry["duration"], entry["_colour"]), content_type="video/mp4")
        return Response(b"Not Found", status=404)

    def downloads(self) -> list[str]:
        """The files fetched, as path and query."""
        return [
            r.path + (f"?{r.query_string.decode()}" if r.query_string else "")
            for r in self.http.requests
            if r.path.startswith("/media/")
        ]


def served_size(width: int, height: int, args: Any) -> tuple[int, int]:
    """The size Pexels's image server gives a photo for ``w``, ``h`` and ``dpr`` (fit inside, never larger)."""
    dpr = float(args.get("dpr", 1))
    scales = [1.0]
    if "w" in args:
        scales.append(int(args["w"]) * dpr / width)
    if "h" in args:
        scales.append(int(args["h"]) * dpr / height)
    scale = min(scales)
    return round(width * scale), round(height * scale)


@functools.cache
def jpeg(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    """A JPEG photo of ``size`` (made once per size and colour)."""
    return photo_bytes(*size, colour=colour)


@functools.cache
def mp4(size: tuple[int, int], seconds: float, colour: tuple[int, int, int]) -> bytes:
    """An MP4 of ``size`` lasting ``seconds`` at 10 fps (made once per size, length and colour)."""
    return clip_bytes(*size, seconds=seconds, fps=10, colour=colour)


@pytest.fixture
def pexels(fake_http_server: FakeHTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakePexels:
    """The fake Pexels on a fresh server, its key in ``PEXELS_API_KEY``."""
    monkeypatch.setenv("PEXELS_API_KEY", PEXELS_KEY)
    return FakePexels(fake_http_server)
