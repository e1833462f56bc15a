"""Speaking the Pexels API: one search for photos or videos, its answer read into ``StockItem`` values, its
failures mapped to ``ProviderError`` with what to fix.

Photos: ``GET /v1/search``; videos: ``GET /videos/search``; both take ``query``, ``orientation``
(landscape, portrait, square), ``per_page`` and ``page`` (videos also a minimum ``size``), and the key as
the whole ``Authorization`` header. The answer lists ``photos`` (``src`` renditions, ``photographer``,
``url``) or ``videos`` (``video_files`` with width, height and link, ``user``, ``url``, ``duration``).
A refused request answers 401 or 403; past the allowance, 429 with ``X-Ratelimit-Limit``,
``X-Ratelimit-Remaining`` and ``X-Ratelimit-Reset`` (when it resets, in UNIX seconds).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from aura_core import (
    ImageRequest,
    MediaKind,
    ProviderError,
    Rendition,
    StockItem,
    http_failure,
    orientation_of,
    record_usage,
    transport_failures,
)
from aura_plugins_pexels.settings import PexelsSettings

PATHS: dict[MediaKind, str] = {"photo": "/v1/search", "video": "/videos/search"}

#: The boxes Pexels fits its photo renditions into (``src``): width, height; 0 for "any".
PHOTO_BOXES = {"large2x": (1880, 1300), "large": (940, 650), "medium": (0, 350), "small": (0, 130)}


def video_size(width: int, height: int) -> str | None:
    """The least ``size`` a video search asks for: Full HD (``medium``) or 4K (``large``) for a frame larger
    than HD, none for a smaller one (any file that fills it will do)."""
    pixels = width * height
    if pixels <= 1280 * 720:
        return None
    return "medium" if pixels <= 1920 * 1080 else "large"


async def search(
    settings: PexelsSettings, key: str, kind: MediaKind, query: str, request: ImageRequest
) -> list[StockItem]:
    """The photos or videos Pexels finds for ``query`` in the orientation of ``request``'s frame."""
    url = settings.url + PATHS[kind]
    params: dict[str, str | int] = {
        "query": query,
        "orientation": orientation_of(request.width, request.height),
        "per_page": settings.per_page,
        "page": 1,
    }
    size = video_size(request.width, request.height) if kind == "video" else None
    if size is not None:
        params["size"] = size
    async with (
        transport_failures(f"the pexels {kind} search at {url}"),
        httpx.AsyncClient(
            timeout=httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout))
        ) as client,
    ):
        response = await client.get(url, params=params, headers={"Authorization": key})
    record_usage(searches=1)
    if not response.is_success:
        raise failure(response, settings, key)
    try:
        data = response.json()
    except ValueError:
        raise ProviderError(
            f"pexels: the {kind} search at {url} answered HTTP {response.status_code} with something that is not JSON",
            transient=True,
        ) from None
    if not isinstance(data, dict):
        raise ProviderError(
            f"pexels: the {kind} search at {url} answered JSON that is not a search result", transient=True
        )
    return read_videos(data) if kind == "video" else read_photos(data)


def failure(response: httpx.Response, settings: PexelsSettings, key: str) -> ProviderError:
    """The ``ProviderError`` for a search Pexels refused: a bad key and a wrong address are permanent and say
    what to fix; the rate limit is transient, with the wait its headers give."""
    status, env = response.status_code, settings.api_key.env
    path = response.request.url.path
    if status in (401, 403):
        message = f"pexels refused the key in {env} (HTTP {status}): set {env} to the API key of your Pexels account"
    elif status == 429:
        message = (
            f"pexels: rate limit reached (HTTP 429{_allowance(response.headers)}); waiting for it to reset"
        )
    elif status == 404:
        message = f"pexels has no {path} at {settings.url} (HTTP 404): is providers.pexels.url right?"
    else:
        message = f"pexels answered HTTP {status} to {path}: {_detail(response)}"
    error = http_failure(status, response.headers, message, secrets=[key])
    if error.transient and error.retry_after is None:
        error.retry_after = _until_reset(response.headers)
    return error


def _allowance(headers: Mapping[str, str]) -> str:
    limit, remaining = headers.get("x-ratelimit-limit"), headers.get("x-ratelimit-remaining")
    return f", {remaining} of {limit} requests left" if limit and remaining else ""


def _until_reset(headers: Mapping[str, str]) -> float | None:
    """Seconds until ``X-Ratelimit-Reset`` (a UNIX time), never below 0; None without it."""
    try:
        return max(0.0, float(headers["x-ratelimit-reset"]) - time.time())
    except (KeyError, ValueError):
        return None


def _detail(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return text[:200] or response.reason_phrase


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _fitted(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """``width`` x ``height`` scaled down to fit ``box`` (0: no limit on that side)."""
    scales = [1.0] + [side / size for side, size in zip(box, (width, height), strict=True) if side]
    scale = min(scales)
    return max(1, round(width * scale)), max(1, round(height * scale))


def read_photos(data: Mapping[str, Any]) -> list[StockItem]:
    """The ``photos`` of a search answer; an entry without an id, a size or a picture is left out."""
    items = []
    for photo in data.get("photos") or []:
        if not isinstance(photo, dict) or not isinstance(photo.get("src"), dict):
            continue
        width, height, src = _int(photo.get("width")), _int(photo.get("height")), photo["src"]
        if not (width and height and photo.get("id") is not None):
            continue
        renditions = [Rendition(str(src["original"]), width, height)] if src.get("original") else []
        for name, box in PHOTO_BOXES.items():
            if src.get(name):
                renditions.append(Rendition(str(src[name]), *_fitted(width, height, box)))
        if renditions:
            items.append(
                StockItem(
                    key=str(photo["id"]),
                    kind="photo",
                    width=width,
                    height=height,
                    renditions=tuple(renditions),
                    author=str(photo.get("photographer") or ""),
                    link=str(photo.get("url") or ""),
                )
            )
    return items


def read_videos(data: Mapping[str, Any]) -> list[StockItem]:
    """The ``videos`` of a search answer, each with its MP4 ``video_files`` (HLS and sizeless ones left out)."""
    items = []
    for video in data.get("videos") or []:
        if not isinstance(video, dict) or video.get("id") is None:
            continue
        renditions = tuple(
            Rendition(str(file["link"]), _int(file.get("width")), _int(file.get("height")))
            for file in video.get("video_files") or []
            if isinstance(file, dict)
            and file.get("link")
            and file.get("file_type") == "video/mp4"
            and _int(file.get("width"))
            and _int(file.get("height"))
        )
        if not renditions:
            continue
        largest = max(renditions, key=lambda r: r.width * r.height)
        user = video.get("user")
        if not isinstance(user, dict):
            user = {}
        duration = video.get("duration")
        items.append(
            StockItem(
                key=str(video["id"]),
                kind="video",
                width=_int(video.get("width")) or largest.width,
                height=_int(video.get("height")) or largest.height,
                renditions=renditions,
                author=str(user.get("name") or ""),
                link=str(video.get("url") or ""),
                duration=float(duration) if isinstance(duration, int | float) else 0.0,
            )
        )
    return items
