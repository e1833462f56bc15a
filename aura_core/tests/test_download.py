"""``download``: a file streamed to disk over loopback from the fake HTTP server, within a size limit,
redirects to http(s) only, failures mapped as every HTTP provider maps them, and nothing left behind when a
download fails or is cancelled."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from aura_core import DownloadTooLarge, ProviderError, download
from aura_core.testing.http import FakeHTTPServer, Request, Response, refused_url, streamed

BODY = bytes(range(256)) * 1024  # 256 KiB, more than one chunk


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _chunks(data: bytes, size: int = 50_000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.anyio
async def test_a_file_is_streamed_to_out_path_and_nothing_else_is_left(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    fake_http_server.route(
        "/clip.mp4", lambda request: streamed(request, _chunks(BODY), content_type="video/mp4")
    )
    out = tmp_path / "sub" / "clip.mp4"

    assert await download(f"{fake_http_server.url}/clip.mp4", out, max_bytes=len(BODY)) == out
    assert out.read_bytes() == BODY
    assert _files(out.parent) == ["clip.mp4"]


@pytest.mark.anyio
async def test_headers_are_sent_and_redirects_to_http_are_followed(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    fake_http_server.route("/short", lambda _r: Response(status=302, headers={"Location": "/long/clip.mp4"}))
    fake_http_server.route("/long/clip.mp4", lambda _r: Response(BODY, content_type="video/mp4"))

    out = await download(
        f"{fake_http_server.url}/short", tmp_path / "c.mp4", max_bytes=len(BODY), headers={"X-Token": "t1"}
    )
    assert out.read_bytes() == BODY
    assert [r.path for r in fake_http_server.requests] == ["/short", "/long/clip.mp4"]
    assert fake_http_server.requests[0].headers["X-Token"] == "t1"


@pytest.mark.anyio
async def test_a_redirect_to_another_scheme_is_refused_for_good(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    fake_http_server.route(
        "/clip.mp4", lambda _r: Response(status=302, headers={"Location": "file:///etc/passwd"})
    )

    with pytest.raises(
        ProviderError, match=r"/clip\.mp4 was redirected to an address that is not http\(s\)"
    ) as caught:
        await download(f"{fake_http_server.url}/clip.mp4", tmp_path / "c.mp4", max_bytes=len(BODY))
    assert caught.value.transient is False
    assert _files(tmp_path) == []


@pytest.mark.anyio
async def test_an_address_that_is_not_http_is_refused_before_any_request(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="only http") as caught:
        await download("file:///etc/passwd", tmp_path / "c.mp4", max_bytes=10)
    assert caught.value.transient is False


@pytest.mark.anyio
async def test_a_declared_length_over_the_limit_is_refused_before_writing(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    fake_http_server.route("/clip.mp4", lambda _r: Response(BODY, content_type="video/mp4"))

    with pytest.raises(
        DownloadTooLarge, match=r"clip\.mp4 is 0\.3 MB, over the download limit of 0\.1 MB"
    ) as caught:
        await download(f"{fake_http_server.url}/clip.mp4", tmp_path / "c.mp4", max_bytes=100_000)
    assert caught.value.transient is False
    assert _files(tmp_path) == []


@pytest.mark.anyio
async def test_a_body_without_length_is_cut_off_once_it_passes_the_limit(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    """Chunked, so no Content-Length: the bytes read are counted; the server keeps sending forever."""
    sent: list[int] = []

    def endless() -> Iterator[bytes]:
        while len(sent) < 10_000:
            sent.append(1)
            yield b"x" * 10_000

    fake_http_server.route(
        "/clip.mp4", lambda request: streamed(request, endless(), content_type="video/mp4")
    )

    with pytest.raises(DownloadTooLarge, match=r"is more than 0\.1 MB, over the download limit") as caught:
        await download(f"{fake_http_server.url}/clip.mp4", tmp_path / "c.mp4", max_bytes=100_000)
    assert caught.value.transient is False
    assert _files(tmp_path) == []
    assert len(sent) < 10_000  # the download stopped reading: the server never finished


@pytest.mark.anyio
async def test_a_dropped_connection_is_transient_and_leaves_no_file(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    fake_http_server.route(
        "/clip.mp4", lambda request: streamed(request, _chunks(BODY), content_type="video/mp4", drop_after=2)
    )

    with pytest.raises(
        ProviderError, match=r"^downloading http://127\.0\.0\.1:\d+/clip\.mp4 failed"
    ) as caught:
        await download(f"{fake_http_server.url}/clip.mp4", tmp_path / "c.mp4", max_bytes=len(BODY))
    assert caught.value.transient is True
    assert _files(tmp_path) == []


@pytest.mark.anyio
async def test_a_short_body_for_its_declared_length_is_transient(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    """The server promises the whole file and closes after half of it."""

    def half(request: Request) -> Response:
        return streamed(
            request,
            _chunks(BODY),
            content_type="video/mp4",
            headers={"Content-Length": str(len(BODY))},
            drop_after=2,
        )

    fake_http_server.route("/clip.mp4", half)

    with pytest.raises(ProviderError) as caught:
        await download(f"{fake_http_server.url}/clip.mp4", tmp_path / "c.mp4", max_bytes=len(BODY))
    assert caught.value.transient is True
    assert _files(tmp_path) == []


@pytest.mark.anyio
async def test_not_found_is_permanent_on_one_line(fake_http_server: FakeHTTPServer, tmp_path: Path) -> None:
    fake_http_server.fail("/clip.mp4", 404, b"<html>\n<body>Not Found</body>\n</html>")

    with pytest.raises(ProviderError) as caught:
        await download(f"{fake_http_server.url}/clip.mp4?token=abc", tmp_path / "c.mp4", max_bytes=10)
    assert caught.value.transient is False
    assert caught.value.message == (
        f"{fake_http_server.url}/clip.mp4 was not found (HTTP 404): the address is gone or wrong"
    )
    assert _files(tmp_path) == []


@pytest.mark.anyio
async def test_a_rate_limit_is_transient_with_the_servers_retry_after(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    fake_http_server.fail("/clip.mp4", 429, b"Too many requests", {"Retry-After": "7"})

    with pytest.raises(ProviderError, match=r"answered HTTP 429: Too many requests$") as caught:
        await download(f"{fake_http_server.url}/clip.mp4", tmp_path / "c.mp4", max_bytes=10)
    assert caught.value.transient is True
    assert caught.value.retry_after == 7.0


@pytest.mark.anyio
async def test_a_refused_answer_never_shows_the_key_in_the_address_or_the_body(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    key = "zq81Hw0rLdPlX4"
    fake_http_server.fail("/clip.mp4", 403, f"[ERROR 403] key {key} is not valid".encode())

    with pytest.raises(ProviderError) as caught:
        await download(
            f"{fake_http_server.url}/clip.mp4?key={key}", tmp_path / "c.mp4", max_bytes=10, secrets=[key]
        )
    assert caught.value.transient is False
    assert key not in str(caught.value)
    assert "HTTP 403: [ERROR 403] key *** is not valid" in str(caught.value)


@pytest.mark.anyio
async def test_a_refused_connection_is_transient(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match=r"^downloading http://127\.0\.0\.1") as caught:
        await download(f"{refused_url()}/clip.mp4", tmp_path / "c.mp4", max_bytes=10)
    assert caught.value.transient is True


@pytest.mark.anyio
async def test_a_cancelled_download_leaves_no_file(fake_http_server: FakeHTTPServer, tmp_path: Path) -> None:
    """Cancelled once its partial file is open, while the server holds back the rest of the body."""
    release = threading.Event()

    def slow() -> Iterator[bytes]:
        yield b"a" * 1000
        release.wait(10)
        yield b"b" * 1000

    fake_http_server.route("/clip.mp4", lambda request: streamed(request, slow(), content_type="video/mp4"))
    out = tmp_path / "c.mp4"
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: download(f"{fake_http_server.url}/clip.mp4", out, max_bytes=10_000))
            with anyio.fail_after(10):
                while not any(tmp_path.iterdir()):
                    await anyio.sleep(0.01)
            group.cancel_scope.cancel()
    finally:
        release.set()
    assert _files(tmp_path) == []


@pytest.mark.anyio
async def test_a_server_that_stops_answering_times_out_as_transient(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    release = threading.Event()

    def stalled() -> Iterator[bytes]:
        yield b"a" * 100
        release.wait(10)

    fake_http_server.route(
        "/clip.mp4", lambda request: streamed(request, stalled(), content_type="video/mp4")
    )
    try:
        with pytest.raises(
            ProviderError, match=r"^downloading http://127\.0\.0\.1:\d+/clip\.mp4 timed out \(ReadTimeout\)$"
        ) as caught:
            await download(
                f"{fake_http_server.url}/clip.mp4", tmp_path / "c.mp4", max_bytes=10_000, timeout=0.3
            )
    finally:
        release.set()
    assert caught.value.transient is True
    assert _files(tmp_path) == []
