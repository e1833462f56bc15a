"""``aura_core.testing.http``: the fake HTTP server plugin tests talk to, driven here by the standard library's
client over loopback: routes, one-shot faults in order, recorded requests, chunked and SSE bodies, dropped
connections, concurrent streams, and the teardown check of the ``fake_http_server`` fixture."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from aura_core.testing.http import (
    ANY_PATH,
    FakeHTTPServer,
    Request,
    Response,
    json_response,
    refused_url,
    sse,
    streamed,
)


def connect(server: FakeHTTPServer) -> http.client.HTTPConnection:
    """A client connection to ``server``."""
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)


def ask(
    server: FakeHTTPServer, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one request."""
    connection = connect(server)
    data = json.dumps(body).encode() if body is not None else None
    sent = {"content-type": "application/json"} if body is not None else {}
    connection.request(method, path, body=data, headers=sent | (headers or {}))
    response = connection.getresponse()
    answer = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    connection.close()
    return answer


@pytest.fixture
def server() -> Iterator[FakeHTTPServer]:
    """A started server, stopped after the test."""
    with FakeHTTPServer() as running:
        yield running


def echo(request: Request) -> Response:
    """Answer with what was asked."""
    return json_response(
        {"path": request.path, "json": request.get_json(silent=True), "q": request.args.get("q")}
    )


def test_a_route_answers_and_every_request_is_recorded(server: FakeHTTPServer) -> None:
    """A routed path is answered by its handler; the request (path, query, headers, JSON body) is kept."""
    server.route("/v1/echo", echo, method="POST")
    status, headers, body = ask(server, "POST", "/v1/echo?q=bees", {"text": "hi"}, {"X-Key": "k1"})
    assert (status, headers["content-type"]) == (200, "application/json")
    assert json.loads(body) == {"path": "/v1/echo", "json": {"text": "hi"}, "q": "bees"}
    assert server.url == f"http://127.0.0.1:{server.port}"
    [recorded] = server.calls("/v1/echo")
    assert (recorded.method, recorded.args["q"], recorded.headers["x-key"]) == ("POST", "bees", "k1")
    assert recorded.json == {"text": "hi"}
    assert server.requests == [recorded]


def test_queued_faults_answer_the_next_requests_in_order_then_the_route_again(server: FakeHTTPServer) -> None:
    """``fail`` answers the next request to its path with the status, JSON and headers given, each fault once
    and in the order queued; a regex path takes every path it starts; then the route answers again."""
    server.route(ANY_PATH, echo)
    server.fail("/v1/x", 429, {"error": "slow down"}, {"Retry-After": "7"})
    server.fail(re.compile("/v1/"), 503, b"busy")
    first, second, third = (ask(server, "GET", "/v1/x") for _ in range(3))
    assert (first[0], first[1]["retry-after"], json.loads(first[2])) == (429, "7", {"error": "slow down"})
    assert (second[0], second[2]) == (503, b"busy")
    assert third[0] == 200
    assert len(server.calls(re.compile("/v1/"))) == 3


def test_a_dropped_request_gets_no_answer(server: FakeHTTPServer) -> None:
    """``drop`` closes the next request's connection before any answer; the one after is answered."""
    server.route("/a", echo)
    server.drop("/a")
    with pytest.raises(http.client.RemoteDisconnected):
        ask(server, "GET", "/a")
    assert ask(server, "GET", "/a")[0] == 200


def test_a_streamed_body_arrives_chunk_by_chunk_as_server_sent_events(server: FakeHTTPServer) -> None:
    """``streamed`` sends each chunk with chunked transfer encoding; ``sse`` frames JSON and plain events."""
    events = [{"n": 1}, {"n": 2}, "[DONE]"]
    server.route("/sse", lambda request: streamed(request, sse(events), content_type="text/event-stream"))
    status, headers, body = ask(server, "GET", "/sse")
    assert (status, headers["transfer-encoding"]) == (200, "chunked")
    assert body == b'data: {"n": 1}\n\ndata: {"n": 2}\n\ndata: [DONE]\n\n'


def test_a_stream_dropped_midway_leaves_the_client_a_truncated_body(server: FakeHTTPServer) -> None:
    """With ``drop_after=2`` the client reads two chunks, then the connection ends inside the body."""
    chunks = [b"one-", b"two-", b"three"]
    server.route("/s", lambda request: streamed(request, chunks, content_type="text/plain", drop_after=2))
    connection = connect(server)
    connection.request("GET", "/s")
    response = connection.getresponse()
    with pytest.raises(http.client.IncompleteRead) as caught:
        response.read()
    assert caught.value.partial == b"one-two-"


def test_a_held_stream_does_not_hold_other_requests(server: FakeHTTPServer) -> None:
    """Requests are served in threads: while one body waits midway, another request is answered (and it is
    that request which lets the first body go on)."""
    released = threading.Event()

    def held() -> Iterator[bytes]:
        yield b"first-"
        yield b"released" if released.wait(5) else b"never released"

    def release(request: Request) -> Response:
        released.set()
        return json_response({})

    server.route("/held", lambda request: streamed(request, held(), content_type="text/plain"))
    server.route("/release", release)
    connection = connect(server)
    connection.request("GET", "/held")
    response = connection.getresponse()
    assert ask(server, "GET", "/release")[0] == 200
    assert response.read() == b"first-released"


def test_a_refused_url_refuses_connections() -> None:
    """``refused_url`` names a loopback port where nothing listens."""
    parts = urlsplit(refused_url())
    assert parts.hostname == "127.0.0.1"
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", parts.port or 0), 5):
        pass


def test_the_fixture_reports_a_request_no_route_took(tmp_path: Path) -> None:
    """A request that no route answers fails the test that made it, at the fixture's teardown."""
    test_file = tmp_path / "test_unrouted.py"
    test_file.write_text(
        "import http.client\n\n\n"
        "def test_unrouted(fake_http_server):\n"
        "    connection = http.client.HTTPConnection('127.0.0.1', fake_http_server.port, timeout=10)\n"
        "    connection.request('GET', '/nowhere')\n"
        "    assert connection.getresponse().status == 500\n"
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
    run = subprocess.run(
        [*command, str(test_file)], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert run.returncode == 1, run.stdout
    assert "1 passed, 1 error" in run.stdout
    assert "No handler found for request" in run.stdout and "/nowhere" in run.stdout
