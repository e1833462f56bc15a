"""Speaking the Pixabay API: one search for photos or videos, its answer read into ``StockItem`` values, its
failures mapped to ``ProviderError`` with what to fix.

Photos: ``GET <url>/`` with ``image_type=photo`` and ``orientation`` (horizontal, vertical, all); videos:
``GET <url>/videos/`` with ``video_type`` (it takes no orientation). Both take the key as the ``key``
parameter, the query as ``q``, ``safesearch``, ``per_page`` (3 to 200) and ``page``. The answer lists
``hits``: a photo's ``previewURL``, ``webformatURL`` (its size given), ``largeImageURL`` (at most 1280 px
a side) and, with full API access, ``fullHDURL`` and ``imageURL``; a video's ``videos`` ``large``,
``medium``, ``small`` and ``tiny`` (``url``, ``width``, ``height``, ``size``; an empty ``url`` when there
is none); ``user`` and ``pageURL`` credit it. Errors are plain text with their status (a bad key: 400
``[ERROR 400] Invalid or missing API key``); past the allowance, 429 with ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (seconds until it resets).
"""

from __future__ import annotations

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
from aura_plugins_pixabay.settings import PixabaySettings

PATHS: dict[MediaKind, str] = {"photo": "/", "video": "/videos/"}

#: The orientation Pixabay's photo search takes for a frame's.
ORIENTATIONS = {"landscape": "horizontal", "portrait": "vertical", "square": "all"}

#: A photo's renditions: the address field and the longest side Pixabay scales it to (0: the original).
PHOTO_FIELDS = {"largeImageURL": 1280, "fullHDURL": 1920, "imageURL": 0}

#: A video's renditions, in the answer's ``videos``.
VIDEO_SIZES = ("large", "medium", "small", "tiny")


async def search(
    settings: PixabaySettings, key: str, kind: MediaKind, query: str, request: ImageRequest
) -> list[StockItem]:
    """The photos or videos Pixabay finds for ``query`` (photos in the orientation of ``request``'s frame)."""
    url = settings.url + PATHS[kind]
    params: dict[str, str | int] = {
        "key": key,
        "q": query,
        "safesearch": "true" if settings.safesearch else "false",
        "per_page": settings.per_page,
        "page": 1,
    }
    if kind == "photo":
        params["image_type"] = "photo"
        params["orientation"] = ORIENTATIONS[orientation_of(request.width, request.height)]
    else:
        params["video_type"] = settings.video_type
    timeout = httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout))
    # The key travels in the address: ``what`` names the address without its query.
    async with (
        transport_failures(f"the pixabay {kind} search at {url}"),
        httpx.AsyncClient(timeout=timeout) as client,
    ):
        response = await client.get(url, params=params)
    record_usage(searches=1)
    if not response.is_success:
        raise failure(response, settings, key)
    try:
        data = response.json()
    except ValueError:
        raise ProviderError(
            f"pixabay: the {kind} search at {url} answered HTTP {response.status_code} with something that is not JSON",
            transient=True,
        ) from None
    if not isinstance(data, dict):
        raise ProviderError(
            f"pixabay: the {kind} search at {url} answered JSON that is not a search result", transient=True
        )
    return read_videos(data) if kind == "video" else read_photos(data)


def failure(response: httpx.Response, settings: PixabaySettings, key: str) -> ProviderError:
    """The ``ProviderError`` for a search Pixabay refused: a bad key and a wrong address are permanent and
    say what to fix; the rate limit is transient, with the wait its headers give."""
    status, env = response.status_code, settings.api_key.env
    text = " ".join(response.text.split())[:200]
    path = response.request.url.path
    if status in (401, 403) or (status == 400 and "key" in text.casefold()):
        message = (
            f"pixabay refused the key in {env} (HTTP {status}: {text or response.reason_phrase}): "
            f"set {env} to the API key of your Pixabay account"
        )
    elif status == 429:
        message = (
            f"pixabay: rate limit reached (HTTP 429{_allowance(response.headers)}); waiting for it to reset"
        )
    elif status == 404:
        message = f"pixabay has no {path} at {settings.url} (HTTP 404): is providers.pixabay.url right?"
    else:
        message = f"pixabay answered HTTP {status} to {path}: {text or response.reason_phrase}"
    error = http_failure(status, response.headers, message, secrets=[key])
    if error.transient and error.retry_after is None:
        error.retry_after = _until_reset(response.headers)
    return error


def _allowance(headers: Mapping[str, str]) -> str:
    limit, remaining = headers.get("x-ratelimit-limit"), headers.get("x-ratelimit-remaining")
    return f", {remaining} of {limit} requests left" if limit and remaining else ""


def _until_reset(headers: Mapping[str, str]) -> float | None:
    """``X-RateLimit-Reset``: the seconds until the allowance resets, never below 0; None without it."""
    try:
        return max(0.0, float(headers["x-ratelimit-reset"]))
    except (KeyError, ValueError):
        return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _fitted(width: int, height: int, longest: int) -> tuple[int, int]:
    """``width`` x ``height`` scaled down so that its longest side is at most ``longest`` (0: as it is)."""
    scale = min(1.0, longest / max(width, height)) if longest else 1.0
    return max(1, round(width * scale)), max(1, round(height * scale))


def read_photos(data: Mapping[str, Any]) -> list[StockItem]:
    """The ``hits`` of a photo search; a hit without an id, a size or a picture is left out."""
    items = []
    for hit in data.get("hits") or []:
        if not isinstance(hit, dict) or hit.get("id") is None:
            continue
        width, height = _int(hit.get("imageWidth")), _int(hit.get("imageHeight"))
        renditions = [
            Rendition(str(hit[field]), _int(hit.get(f"{prefix}Width")), _int(hit.get(f"{prefix}Height")))
            for field, prefix in (("previewURL", "preview"), ("webformatURL", "webformat"))
            if hit.get(field)
        ]
        if width and height:
            renditions += [
                Rendition(str(hit[field]), *_fitted(width, height, longest))
                for field, longest in PHOTO_FIELDS.items()
                if hit.get(field)
            ]
        renditions = [r for r in renditions if r.width and r.height]
        if renditions:
            largest = max(renditions, key=lambda r: r.width * r.height)
            items.append(
                StockItem(
                    key=str(hit["id"]),
                    kind="photo",
                    width=width or largest.width,
                    height=height or largest.height,
                    renditions=tuple(renditions),
                    author=str(hit.get("user") or ""),
                    link=str(hit.get("pageURL") or ""),
                )
            )
    return items


def read_videos(data: Mapping[str, Any]) -> list[StockItem]:
    """The ``hits`` of a video search, each with the renditions it has (an empty ``url`` is one it has not)."""
    items = []
    for hit in data.get("hits") or []:
        if not isinstance(hit, dict) or hit.get("id") is None or not isinstance(hit.get("videos"), dict):
            continue
        files = [hit["videos"].get(size) for size in VIDEO_SIZES]
        renditions = tuple(
            Rendition(
                str(file["url"]), _int(file.get("width")), _int(file.get("height")), _int(file.get("size"))
            )
            for file in files
            if isinstance(file, dict)
            and file.get("url")
            and _int(file.get("width"))
            and _int(file.get("height"))
        )
        if not renditions:
            continue
        largest = max(renditions, key=lambda r: r.width * r.height)
        duration = hit.get("duration")
        items.append(
            StockItem(
                key=str(hit["id"]),
                kind="video",
                width=largest.width,
                height=largest.height,
                renditions=renditions,
                author=str(hit.get("user") or ""),
                link=str(hit.get("pageURL") or ""),
                duration=float(duration) if isinstance(duration, int | float) else 0.0,
            )
        )
    return items
