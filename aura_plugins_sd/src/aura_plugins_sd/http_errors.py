"""Turning HTTP failures of an image server into ``ProviderError`` with a message that says what to fix."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import httpx

from aura_core import ProviderError, http_failure, is_transient_status, redact

_OOM = re.compile(r"out of memory|OutOfMemoryError|CUDA error: out of memory|MPS backend out of memory", re.I)


def body_text(response: httpx.Response, limit: int = 300) -> str:
    """The useful words of an error body: its JSON errors, error, detail or message, else its text."""
    try:
        data = response.json()
    except ValueError:
        data = None
    parts: list[str] = []
    if isinstance(data, dict):
        for key in ("errors", "error", "detail", "message", "name"):
            value = data.get(key)
            if isinstance(value, list):
                parts.extend(json.dumps(v) if not isinstance(v, str) else v for v in value)
            elif isinstance(value, dict):
                parts.append(str(value.get("message") or json.dumps(value)))
            elif value:
                parts.append(str(value))
    text = "; ".join(p for p in parts if p) or response.text.strip()
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_out_of_memory(text: str) -> bool:
    """Whether an error text says the server's GPU ran out of memory."""
    return bool(_OOM.search(text))


def out_of_memory(where: str, detail: str) -> ProviderError:
    """The permanent error for a server that ran out of (GPU) memory."""
    return ProviderError(
        f'{where} ran out of GPU memory ({detail}); use a smaller model family (family = "sd15"), '
        "fewer or smaller sizes, or start the server with its low-memory option (e.g. --medvram)",
        transient=False,
    )


def status_error(where: str, response: httpx.Response, secrets: Iterable[str] = ()) -> ProviderError:
    """The ``ProviderError`` for a non-success response; transient as the core's ``is_transient_status``."""
    status = response.status_code
    detail = redact(body_text(response), secrets)
    if is_out_of_memory(detail):
        return out_of_memory(where, detail)
    if is_transient_status(status):
        message = f"{where} answered HTTP {status}: {detail or response.reason_phrase}"
    elif status == 404:
        message = (
            f"{where} has no {response.request.method} {response.request.url.path} (HTTP 404): "
            "is the address right and its API enabled?"
        )
    else:
        message = f"{where} refused the request (HTTP {status}): {detail}"
    return http_failure(status, response.headers, message, secrets=secrets)


@asynccontextmanager
async def transport_errors(where: str, url: str) -> AsyncIterator[None]:
    """Turn connection failures and timeouts inside the block into transient ``ProviderError``."""
    try:
        yield
    except httpx.ConnectError as error:
        raise ProviderError(
            f"cannot reach {where} at {url} ({error}): is it running?", transient=True
        ) from error
    except httpx.TimeoutException as error:
        raise ProviderError(
            f"{where} at {url} did not answer in time ({type(error).__name__}); "
            "raise providers.sd.timeout if generation is slow",
            transient=True,
        ) from error
    except httpx.TransportError as error:
        raise ProviderError(f"the connection to {where} at {url} failed: {error}", transient=True) from error


def client(base_url: str, timeout: float, *, local: bool) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` with explicit timeouts; local servers ignore proxy variables."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        trust_env=not local,
        follow_redirects=False,
    )
