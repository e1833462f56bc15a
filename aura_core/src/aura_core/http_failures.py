"""One mapping of HTTP error answers to ``ProviderError``: which statuses pass by waiting, and for how long."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager

from aura_core.errors import ProviderError, retry_after_seconds
from aura_core.logs import redact

#: 4xx statuses the same request may get past later: timeout (408), conflict with a concurrent change
#: (409), too early (425), rate limit (429). Every 5xx is transient too; any other 4xx is permanent.
TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})


def is_transient_status(status: int) -> bool:
    """Whether an HTTP error ``status`` may pass by sending the same request later."""
    return status in TRANSIENT_STATUSES or status >= 500


def retry_after_header(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` (OpenAI's) or ``Retry-After`` (seconds or an HTTP date),
    names in any case; None without either."""
    if not headers:
        return None
    lower = {name.lower(): value for name, value in headers.items()}
    millis = lower.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass  # not a number: fall back to Retry-After
    return retry_after_seconds(lower.get("retry-after"))


def http_failure(
    status: int,
    headers: Mapping[str, str] | None,
    message: str,
    *,
    secrets: Iterable[str | None] = (),
) -> ProviderError:
    """The ``ProviderError`` for an HTTP error answer: ``message`` (the provider's words of what went wrong
    and what to fix) with secrets redacted, transient by ``is_transient_status`` and, when transient,
    ``retry_after`` from the headers."""
    transient = is_transient_status(status)
    return ProviderError(
        redact(message, secrets),
        transient=transient,
        retry_after=retry_after_header(headers) if transient else None,
    )


@asynccontextmanager
async def transport_failures(what: str) -> AsyncIterator[None]:
    """httpx's failures to get an answer inside the block, as ``ProviderError`` naming ``what`` (``"the
    search at http://host/v1/search"``; never put a key or a query in it).

    A refused or dropped connection, a body cut short and a timeout are transient; a redirect to a scheme
    other than http(s), or too many redirects, permanent. httpx is imported when the block fails.
    """
    try:
        yield
    except Exception as error:
        import httpx  # only once something failed: ``import aura_core`` does not import httpx

        if isinstance(error, httpx.UnsupportedProtocol):
            raise ProviderError(
                f"{what} was redirected to an address that is not http(s): {error}", transient=False
            ) from None
        if isinstance(error, httpx.TooManyRedirects):
            raise ProviderError(f"{what} was redirected too many times", transient=False) from None
        if isinstance(error, httpx.TimeoutException):
            raise ProviderError(f"{what} timed out ({type(error).__name__})", transient=True) from error
        if isinstance(error, httpx.TransportError):
            # ConnectError, RemoteProtocolError (the connection dropped midway), ReadError …
            raise ProviderError(f"{what} failed: {error or type(error).__name__}", transient=True) from error
        raise
