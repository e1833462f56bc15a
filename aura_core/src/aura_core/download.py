"""Downloading one file over HTTP: streamed to disk, size-limited, never a half-written file.

A provider that fetches its result from an address (a stock clip, a rendered video a vendor hosts) does
the same things every time: stream the body to disk instead of holding it in memory, refuse a file over a
size limit before and while it arrives, follow redirects to ``http``/``https`` only, map a failed answer
to ``ProviderError`` the way every HTTP provider does (``http_failure``), and leave nothing behind when it
fails or is cancelled. ``download`` does them once, with httpx.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import anyio

from aura_core.errors import ProviderError
from aura_core.filework import partial_path
from aura_core.http_failures import http_failure, transport_failures

if TYPE_CHECKING:  # httpx is imported on the first download: ``import aura_core`` stays quick
    import httpx

#: How many redirects a download follows before giving up (a CDN sends one or two).
MAX_REDIRECTS = 5
_SCHEMES = ("http", "https")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def shown_url(url: str | httpx.URL) -> str:
    """``url`` as a message shows it: scheme, host and path, without the query (it may carry a signed
    token or a key) or any user and password."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _megabytes(count: int) -> str:
    return f"{count / 1_000_000:.1f} MB"


class DownloadTooLarge(ProviderError):
    """A file over ``download``'s ``max_bytes``: permanent (the same address gives the same file), so the
    caller may add which setting raises the limit. ``size`` is its length in bytes when the server said."""

    def __init__(self, where: str, max_bytes: int, size: int | None = None) -> None:
        told = _megabytes(size) if size is not None else f"more than {_megabytes(max_bytes)}"
        super().__init__(
            f"{where} is {told}, over the download limit of {_megabytes(max_bytes)} ({max_bytes} bytes)",
            transient=False,
        )
        self.max_bytes = max_bytes
        self.size = size


def _client(url: str, timeout: float) -> httpx.AsyncClient:
    """A client that follows redirects; a loopback address ignores proxy variables."""
    import httpx

    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        trust_env=urlsplit(url).hostname not in _LOOPBACK,
    )


async def download(
    url: str,
    out_path: Path,
    *,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    client: httpx.AsyncClient | None = None,
    secrets: Iterable[str | None] = (),
) -> Path:
    """Fetch ``url`` with a GET and stream its body to ``out_path``; returns ``out_path``.

    - ``max_bytes``: a larger file is refused before a byte is written when its ``Content-Length`` says
      so, and as soon as the bytes read pass it otherwise: ``DownloadTooLarge``, a permanent ``ProviderError``.
    - ``headers``: sent with the request (an ``Authorization``, say); httpx drops it on a redirect to
      another host.
    - ``timeout``: the longest wait, in seconds, for the connection and for each read.
    - ``client``: an ``httpx.AsyncClient`` to reuse (its own redirect and proxy settings apply);
      without it a client that follows up to ``MAX_REDIRECTS`` redirects is made for the call.
    - ``secrets``: values redacted from every message (a key the address or an answer may carry).

    Redirects are followed to ``http``/``https`` addresses only. An error answer becomes
    ``http_failure``'s ``ProviderError`` (429 and 5xx transient, with the server's ``Retry-After``; any
    other 4xx permanent); a refused or dropped connection or a timeout is transient. The body is written
    to a hidden partial sibling of ``out_path`` and renamed when complete: after a failure or a
    cancellation nothing is left at ``out_path`` or beside it. Messages show the address without its query.
    """
    where = shown_url(url)
    if urlsplit(url).scheme not in _SCHEMES:
        raise ProviderError(f"cannot download {where!r}: only http(s) addresses are fetched", transient=False)
    partial = partial_path(out_path)
    try:
        async with transport_failures(f"downloading {where}"):
            if client is None:
                async with _client(url, timeout) as own:
                    await _fetch(own, url, partial, max_bytes, headers, where, secrets)
            else:
                await _fetch(client, url, partial, max_bytes, headers, where, secrets)
        os.replace(partial, out_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return out_path


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    partial: Path,
    max_bytes: int,
    headers: Mapping[str, str] | None,
    where: str,
    secrets: Iterable[str | None],
) -> None:
    """Stream ``url``'s body into ``partial``, within ``max_bytes``."""
    async with client.stream("GET", url, headers=dict(headers or {})) as response:
        if not response.is_success:
            await response.aread()
            raise _status_error(response, where, secrets)
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise DownloadTooLarge(where, max_bytes, int(declared))
        partial.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        async with await anyio.open_file(partial, "wb") as file:
            # Each piece as it arrives (a fixed chunk size would hold bytes back until it filled).
            async for chunk in response.aiter_bytes():
                written += len(chunk)
                if written > max_bytes:
                    raise DownloadTooLarge(where, max_bytes)
                await file.write(chunk)


def _status_error(response: httpx.Response, where: str, secrets: Iterable[str | None]) -> ProviderError:
    """``http_failure``'s error for an answer that is not a success, with the start of its text."""
    status = response.status_code
    text = " ".join(response.text.split())[:200]
    detail = text or response.reason_phrase
    if 300 <= status < 400:  # a redirect without a Location, or one not followed by a caller's client
        message = f"{where} answered HTTP {status} without a usable redirect"
    elif status == 404:
        message = f"{where} was not found (HTTP 404): the address is gone or wrong"
    else:
        message = f"{where} answered HTTP {status}: {detail}"
    return http_failure(status, response.headers, message, secrets=secrets)
