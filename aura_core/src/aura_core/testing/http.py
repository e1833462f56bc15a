"""A fake HTTP server for testing HTTP plugins: the vendor's real SDK or client talks to it over loopback.

Built on pytest-httpserver (werkzeug), with what testing a provider against a vendor needs on top: a
threaded server on 127.0.0.1 that stops quickly, routes answered by plain functions, faults scripted for the
next request to a path (a status with its headers, a dropped connection), bodies streamed in chunks or as
server-sent events and cut off midway, and every request recorded. A plugin's tests keep only the vendor's
wire format: its routes and payloads. Comes with ``aura-core[testing]``.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pytest_httpserver import METHOD_ALL, URI_DEFAULT, HTTPServer, URIPattern
from werkzeug import Request, Response
from werkzeug.serving import WSGIRequestHandler

__all__ = [
    "ANY_PATH",
    "FakeHTTPServer",
    "Handler",
    "Path",
    "Request",
    "Response",
    "drop_connection",
    "json_response",
    "refused_url",
    "sse",
    "streamed",
]

#: Answers one request.
Handler = Callable[[Request], Response]
#: Which requests a route takes: an exact path, ``ANY_PATH``, a compiled regex matched from the start of
#: the path (``re.compile("/v1/voices/")`` takes every path beginning so), or a ``URIPattern``.
Path = str | re.Pattern[str] | URIPattern
#: Every path: for a vendor's "no such route" answer, registered after its real routes.
ANY_PATH = URI_DEFAULT


class _QuietRequestHandler(WSGIRequestHandler):
    """werkzeug's handler without its line per request on stderr (tests read ``requests`` instead)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing."""


class FakeHTTPServer(HTTPServer):
    """A threaded HTTP server on a free port of 127.0.0.1: ``url`` to point a client at, ``route``/``once``/
    ``fail``/``drop`` to script it, ``requests``/``calls`` to read what it was asked.

    A request is answered by the first scripted one-shot answer queued for its path (in the order queued),
    else by the first matching route. Handlers are called one at a time, so queued answers are taken in
    order even under concurrent requests; the bodies they return stream concurrently. Use it as a context
    manager, or the ``fake_http_server`` fixture of aura's pytest plugin.
    """

    def __init__(self) -> None:
        super().__init__(host="127.0.0.1", port=0, threaded=True)
        self._dispatching = threading.Lock()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start serving in a thread."""
        super().start()
        assert self.server is not None
        self.server.RequestHandlerClass = _QuietRequestHandler

    def thread_target(self) -> None:
        """Serve, noticing ``stop`` within 50 ms (werkzeug's default poll would add up to 0.5 s a test)."""
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.05)

    def dispatch(self, request: Request) -> Response:
        """Pick and call the handler for ``request``, one request at a time."""
        with self._dispatching:
            response: Response = super().dispatch(request)
            return response

    def route(self, path: Path, handler: Handler, *, method: str = METHOD_ALL) -> None:
        """Answer every request to ``path`` (and ``method``, any by default) with ``handler(request)``."""
        self.expect_request(path, method=method).respond_with_handler(handler)

    def once(self, path: Path, handler: Handler, *, method: str = METHOD_ALL) -> None:
        """Answer the next request to ``path`` with ``handler(request)``, before any route; queued in order."""
        self.expect_oneshot_request(path, method=method).respond_with_handler(handler)

    def fail(
        self,
        path: Path,
        status: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        method: str = METHOD_ALL,
    ) -> None:
        """Answer the next request to ``path`` with ``status``, ``body`` (JSON, or bytes as they are) and
        ``headers`` (``Retry-After``, …)."""
        answer = _answer(status, body, headers)
        self.once(path, lambda _request: answer(), method=method)

    def drop(self, path: Path, *, method: str = METHOD_ALL) -> None:
        """Close the connection of the next request to ``path`` without answering, as a crashed server does."""

        def dropped(request: Request) -> Response:
            drop_connection(request)
            return Response(b"")

        self.once(path, dropped, method=method)

    @property
    def requests(self) -> list[Request]:
        """Every request received so far, in order (their bodies read: ``get_data()``, ``json``, ``form``)."""
        return [request for request, _response in self.log]

    def calls(self, path: Path, *, method: str = METHOD_ALL) -> list[Request]:
        """The requests received for ``path`` (matched as routes are), in order."""
        matcher = self.create_matcher(path, method=method)
        return [request for request, _response in self.iter_matching_requests(matcher)]


def _answer(status: int, body: Any, headers: Mapping[str, str] | None) -> Callable[[], Response]:
    if isinstance(body, bytes):
        return lambda: Response(body, status=status, headers=dict(headers or {}))
    return lambda: json_response(body, status, headers)


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """``payload`` as a JSON answer."""
    return Response(
        json.dumps(payload), status=status, headers=dict(headers or {}), mimetype="application/json"
    )


def streamed(
    request: Request,
    chunks: Iterable[bytes],
    *,
    content_type: str,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    drop_after: int | None = None,
) -> Response:
    """An answer whose body is sent chunk by chunk (chunked transfer encoding, each chunk flushed as it comes:
    ``chunks`` may be a generator that waits); with ``drop_after`` the connection is closed after that many
    chunks, in the middle of the body."""

    def body() -> Iterator[bytes]:
        for number, chunk in enumerate(chunks):
            if number == drop_after:
                drop_connection(request)
                return
            yield chunk

    return Response(body(), status=status, headers=dict(headers or {}), content_type=content_type)


def sse(events: Iterable[Any]) -> Iterator[bytes]:
    """Server-sent events: each event is one ``data:`` line (a string as it is, anything else as JSON)."""
    for event in events:
        text = event if isinstance(event, str) else json.dumps(event)
        yield b"data: " + text.encode() + b"\n\n"


def drop_connection(request: Request) -> None:
    """Close the connection ``request`` came on, in both directions: the client reads the end of the stream
    (what it got so far, and no more)."""
    connection: socket.socket = request.environ["werkzeug.socket"]
    connection.shutdown(socket.SHUT_RDWR)


def refused_url() -> str:
    """``http://127.0.0.1:<port>`` where nothing listens: a connection there is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
