"""How the ``pixabay`` provider fails, over loopback: the rate limit is transient with the wait its headers
give, a bad or missing key permanent with what to fix (and never the key, which travels in the address),
nothing found permanent so the chain's next provider takes the scene, a download too large or cut off leaves
no file, and a bad setting is named on one line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from aura_core import BriefError, ProviderError
from aura_core.testing import configured
from aura_core.testing.http import Response, refused_url, streamed
from aura_plugins_pixabay import PixabayProvider

from .test_search import provider, request


async def failure(pixabay: Any, tmp_path: Path, **settings: Any) -> ProviderError:
    """The error a photo request raises, having checked it left no file."""
    with pytest.raises(ProviderError) as caught:
        await provider(pixabay, **settings).generate(request(tmp_path))
    assert list(tmp_path.iterdir()) == []
    return caught.value


@pytest.mark.anyio
async def test_the_rate_limit_is_transient_and_waits_until_its_reset(pixabay: Any, tmp_path: Path) -> None:
    """Pixabay's 429 says how many seconds until the allowance resets in X-RateLimit-Reset."""
    headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "42"}
    pixabay.http.fail("/api/", 429, b"API rate limit exceeded", headers)

    error = await failure(pixabay, tmp_path)
    assert (error.transient, error.retry_after) == (True, 42.0)
    assert (
        error.message
        == "pixabay: rate limit reached (HTTP 429, 0 of 100 requests left); waiting for it to reset"
    )


@pytest.mark.anyio
async def test_a_retry_after_wins_over_the_reset_time(pixabay: Any, tmp_path: Path) -> None:
    pixabay.http.fail(
        "/api/videos/", 429, b"API rate limit exceeded", {"Retry-After": "3", "X-RateLimit-Reset": "50"}
    )
    with pytest.raises(ProviderError) as caught:
        await provider(pixabay).generate(request(tmp_path, clips=True))
    assert (caught.value.transient, caught.value.retry_after) == (True, 3.0)


@pytest.mark.anyio
async def test_after_the_rate_limit_the_same_scene_succeeds(pixabay: Any, tmp_path: Path) -> None:
    pixabay.http.fail("/api/", 429, b"API rate limit exceeded", {"X-RateLimit-Reset": "0"})
    stock = provider(pixabay)
    with pytest.raises(ProviderError):
        await stock.generate(request(tmp_path))
    picture = await stock.generate(request(tmp_path))
    assert picture.path.is_file() and len(pixabay.http.calls("/api/")) == 2


@pytest.mark.anyio
async def test_a_bad_key_is_permanent_says_what_to_fix_and_never_shows_the_key(
    pixabay: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pixabay answers a bad key with 400 and plain text; the key is in the request's address, not the message."""
    wrong = "11111111-0badc0ffee0badc0ffee0badc0ffee00"
    monkeypatch.setenv("PIXABAY_API_KEY", wrong)

    error = await failure(pixabay, tmp_path)
    assert error.transient is False
    assert error.message == (
        "pixabay refused the key in PIXABAY_API_KEY (HTTP 400: [ERROR 400] Invalid or missing API key): "
        "set PIXABAY_API_KEY to the API key of your Pixabay account"
    )
    assert pixabay.http.calls("/api/")[0].args["key"] == wrong  # it was sent, only not shown


@pytest.mark.anyio
async def test_a_refusal_that_echoes_the_key_does_not_show_it(pixabay: Any, tmp_path: Path) -> None:
    pixabay.http.fail("/api/", 403, f"[ERROR 403] key {pixabay.key} is blocked".encode())
    error = await failure(pixabay, tmp_path)
    assert error.transient is False
    assert pixabay.key not in str(error) and "key *** is blocked" in error.message
    assert error.message.endswith("set PIXABAY_API_KEY to the API key of your Pixabay account")


@pytest.mark.anyio
async def test_another_bad_request_quotes_the_server(pixabay: Any, tmp_path: Path) -> None:
    pixabay.http.fail("/api/", 400, b'[ERROR 400] "per_page" is out of valid range.')
    error = await failure(pixabay, tmp_path)
    assert error.transient is False
    assert (
        error.message == 'pixabay answered HTTP 400 to /api/: [ERROR 400] "per_page" is out of valid range.'
    )


@pytest.mark.anyio
async def test_a_server_error_is_transient_without_the_address_query(pixabay: Any, tmp_path: Path) -> None:
    pixabay.http.fail("/api/", 503, b"Service Unavailable")
    error = await failure(pixabay, tmp_path)
    assert error.transient is True
    assert error.message == "pixabay answered HTTP 503 to /api/: Service Unavailable"


@pytest.mark.anyio
async def test_a_missing_key_is_permanent_and_asks_nothing(
    pixabay: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIXABAY_API_KEY")
    stock = provider(pixabay)
    availability = await stock.check()
    assert availability.ok is False and availability.detail.startswith(
        "PIXABAY_API_KEY is not set: export the key"
    )
    error = await failure(pixabay, tmp_path)
    assert (error.transient, error.message) == (False, availability.detail)
    assert pixabay.http.requests == []


@pytest.mark.anyio
async def test_nothing_found_is_permanent_so_the_next_provider_takes_the_scene(
    pixabay: Any, tmp_path: Path
) -> None:
    with pytest.raises(ProviderError) as caught:
        await provider(pixabay).generate(request(tmp_path, prompt="a submarine in the arctic", clips=True))
    assert caught.value.transient is False
    assert caught.value.message == "pixabay: no videos or photos found for 'submarine arctic'"


@pytest.mark.anyio
async def test_a_wrong_address_is_permanent_and_names_the_setting(pixabay: Any, tmp_path: Path) -> None:
    pixabay.http.route(re.compile(r"/wrong"), lambda _r: Response(b"Not Found", status=404))
    error = await failure(pixabay, tmp_path, url=f"{pixabay.http.url}/wrong")
    assert error.transient is False
    assert (
        error.message
        == f"pixabay has no /wrong/ at {pixabay.http.url}/wrong (HTTP 404): is providers.pixabay.url right?"
    )


@pytest.mark.anyio
async def test_a_server_that_is_down_is_transient_and_the_message_has_no_key(
    pixabay: Any, tmp_path: Path
) -> None:
    address = refused_url()
    error = await failure(pixabay, tmp_path, url=address)
    assert error.transient is True
    assert error.message.startswith(f"the pixabay photo search at {address}/ failed")
    assert pixabay.key not in error.message


@pytest.mark.anyio
async def test_a_download_over_the_limit_is_refused_and_names_the_setting(
    pixabay: Any, tmp_path: Path
) -> None:
    big = b"\xff\xd8" + b"x" * 2_500_000
    pixabay.http.once(re.compile(r"/files/"), lambda _r: Response(big, content_type="image/jpeg"))
    error = await failure(pixabay, tmp_path, max_download_mb=2)
    assert error.transient is False
    assert error.message.endswith(
        "is 2.5 MB, over the download limit of 2.0 MB (2000000 bytes); raise providers.pixabay.max_download_mb to allow it"
    )


@pytest.mark.anyio
async def test_a_dropped_download_is_transient_and_the_retry_gets_the_same_clip(
    pixabay: Any, tmp_path: Path
) -> None:
    def dropped(request: Any) -> Response:
        return streamed(request, [b"\x00" * 1000] * 5, content_type="video/mp4", drop_after=2)

    pixabay.http.once(re.compile(r"/files/video/"), dropped)
    stock = provider(pixabay)
    with pytest.raises(ProviderError) as caught:
        await stock.generate(request(tmp_path, clips=True, duration=1))
    assert caught.value.transient is True
    assert list(tmp_path.iterdir()) == []
    clip = await stock.generate(request(tmp_path, clips=True, duration=1))
    downloads = pixabay.downloads()
    assert len(downloads) == 2 and downloads[0] == downloads[1]
    assert clip.path.is_file()


def test_a_bad_setting_is_named_on_one_line() -> None:
    with pytest.raises(BriefError) as caught:
        configured(PixabayProvider(), {"per_page": 2, "video_type": "vector", "safesearch": "yes"})
    lines = caught.value.problems
    assert any(line.startswith("providers.pixabay.per_page: ") and "3" in line for line in lines), lines
    assert any(line.startswith("providers.pixabay.video_type: ") and "animation" in line for line in lines), (
        lines
    )
    assert any(line.startswith("providers.pixabay.safesearch: ") for line in lines), lines
