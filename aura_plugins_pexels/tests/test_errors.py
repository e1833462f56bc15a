"""How the ``pexels`` provider fails, over loopback: the rate limit is transient with the wait its headers
give, a bad or missing key permanent with what to fix (and never the key), nothing found permanent so the
chain's next provider takes the scene, a download too large or cut off leaves no file, and a bad setting is
named on one line."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from aura_core import BriefError, ProviderError
from aura_core.testing import configured
from aura_core.testing.http import Response, refused_url, streamed
from aura_plugins_pexels import PexelsProvider

from .test_search import provider, request


async def failure(pexels: Any, tmp_path: Path, **settings: Any) -> ProviderError:
    """The error a photo request raises, having checked it left no file."""
    with pytest.raises(ProviderError) as caught:
        await provider(pexels, **settings).generate(request(tmp_path))
    assert list(tmp_path.iterdir()) == []
    return caught.value


@pytest.mark.anyio
async def test_the_rate_limit_is_transient_and_waits_until_its_reset(pexels: Any, tmp_path: Path) -> None:
    """Pexels's 429 carries no Retry-After: the wait is X-Ratelimit-Reset (a UNIX time) from now."""
    reset = int(time.time()) + 120
    headers = {"X-Ratelimit-Limit": "200", "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": str(reset)}
    pexels.http.fail("/v1/search", 429, b"Too Many Requests", headers)

    error = await failure(pexels, tmp_path)
    assert error.transient is True
    assert error.retry_after == pytest.approx(120, abs=3)
    assert (
        error.message
        == "pexels: rate limit reached (HTTP 429, 0 of 200 requests left); waiting for it to reset"
    )


@pytest.mark.anyio
async def test_a_retry_after_wins_over_the_reset_time(pexels: Any, tmp_path: Path) -> None:
    headers = {"Retry-After": "7", "X-Ratelimit-Reset": str(int(time.time()) + 900)}
    pexels.http.fail("/videos/search", 429, b"", headers)

    with pytest.raises(ProviderError) as caught:
        await provider(pexels).generate(request(tmp_path, clips=True))
    assert (caught.value.transient, caught.value.retry_after) == (True, 7.0)


@pytest.mark.anyio
async def test_after_the_rate_limit_the_same_scene_succeeds(pexels: Any, tmp_path: Path) -> None:
    """The core's retry asks again: the provider holds no state from the refused search."""
    pexels.http.fail("/v1/search", 429, b"", {"Retry-After": "0"})
    stock = provider(pexels)
    with pytest.raises(ProviderError):
        await stock.generate(request(tmp_path))
    picture = await stock.generate(request(tmp_path))
    assert picture.path.is_file() and len(pexels.http.calls("/v1/search")) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_key_is_permanent_says_what_to_fix_and_never_shows_the_key(
    pexels: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    wrong = "Wr0ngKey" + "7c1d9e8f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e"
    monkeypatch.setenv("PEXELS_API_KEY", wrong)
    pexels.http.fail("/v1/search", status, f'{{"error": "the key {wrong} is not valid"}}'.encode())

    error = await failure(pexels, tmp_path)
    assert error.transient is False
    assert error.message.startswith(
        f"pexels refused the key in PEXELS_API_KEY (HTTP {status}): set PEXELS_API_KEY to the API key of your Pexels account"
    )
    assert wrong not in str(error) and wrong not in repr(error.args)
    assert pexels.http.calls("/v1/search")[0].headers["Authorization"] == wrong  # it was sent, only not shown


@pytest.mark.anyio
async def test_another_refusal_quotes_the_server_without_the_key(pexels: Any, tmp_path: Path) -> None:
    pexels.http.fail("/v1/search", 400, f"bad query for key {pexels.key}\n(try another)".encode())
    error = await failure(pexels, tmp_path)
    assert error.transient is False
    assert error.message == "pexels answered HTTP 400 to /v1/search: bad query for key *** (try another)"


@pytest.mark.anyio
async def test_a_missing_key_is_permanent_and_asks_nothing(
    pexels: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PEXELS_API_KEY")
    stock = provider(pexels)
    availability = await stock.check()
    assert availability.ok is False
    assert availability.detail.startswith("PEXELS_API_KEY is not set: export the key")
    error = await failure(pexels, tmp_path)
    assert (error.transient, error.message) == (False, availability.detail)
    assert pexels.http.requests == []


@pytest.mark.anyio
async def test_the_key_may_come_from_another_variable(
    pexels: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PEXELS_API_KEY")
    monkeypatch.setenv("MY_STOCK_KEY", pexels.key)
    stock = provider(pexels, api_key_env="MY_STOCK_KEY")
    assert (await stock.check()).ok
    assert (await stock.generate(request(tmp_path))).path.is_file()


@pytest.mark.anyio
async def test_nothing_found_is_permanent_so_the_next_provider_takes_the_scene(
    pexels: Any, tmp_path: Path
) -> None:
    with pytest.raises(ProviderError) as caught:
        await provider(pexels).generate(request(tmp_path, prompt="a submarine in the arctic", clips=True))
    assert caught.value.transient is False
    assert caught.value.message == "pexels: no videos or photos found for 'submarine arctic'"
    assert [c.path for c in pexels.http.requests] == ["/videos/search", "/v1/search"]


@pytest.mark.anyio
async def test_a_wrong_address_is_permanent_and_names_the_setting(pexels: Any, tmp_path: Path) -> None:
    pexels.http.route(re.compile(r"/wrong/"), lambda _r: Response(b"Not Found", status=404))
    error = await failure(pexels, tmp_path, url=f"{pexels.url}/wrong")
    assert error.transient is False
    assert (
        error.message
        == f"pexels has no /wrong/v1/search at {pexels.url}/wrong (HTTP 404): is providers.pexels.url right?"
    )


@pytest.mark.anyio
async def test_a_server_that_is_down_is_transient(pexels: Any, tmp_path: Path) -> None:
    address = refused_url()
    error = await failure(pexels, tmp_path, url=address)
    assert error.transient is True
    assert error.message.startswith(f"the pexels photo search at {address}/v1/search failed")


@pytest.mark.anyio
async def test_an_answer_that_is_not_json_is_transient(pexels: Any, tmp_path: Path) -> None:
    pexels.http.fail("/v1/search", 200, b"<html>maintenance</html>")
    error = await failure(pexels, tmp_path)
    assert error.transient is True
    assert "answered HTTP 200 with something that is not JSON" in error.message


@pytest.mark.anyio
async def test_a_download_over_the_limit_is_refused_and_names_the_setting(
    pexels: Any, tmp_path: Path
) -> None:
    big = b"\xff\xd8" + b"x" * 1_500_000
    pexels.http.once(re.compile(r"/media/"), lambda _r: Response(big, content_type="image/jpeg"))
    error = await failure(pexels, tmp_path, max_download_mb=1)
    assert error.transient is False
    assert re.fullmatch(
        r"pexels: http://127\.0\.0\.1:\d+/media/photos/\d+/pexels-photo-\d+\.jpeg is 1\.5 MB, over the download "
        r"limit of 1\.0 MB \(1000000 bytes\); raise providers\.pexels\.max_download_mb to allow it",
        error.message,
    )


@pytest.mark.anyio
async def test_a_dropped_download_is_transient_and_the_retry_gets_the_same_clip(
    pexels: Any, tmp_path: Path
) -> None:
    def dropped(request: Any) -> Response:
        return streamed(request, [b"\x00" * 1000] * 5, content_type="video/mp4", drop_after=2)

    pexels.http.once(re.compile(r"/media/videos/"), dropped)
    stock = provider(pexels)
    with pytest.raises(ProviderError) as caught:
        await stock.generate(request(tmp_path, clips=True, duration=1))
    assert caught.value.transient is True
    assert list(tmp_path.iterdir()) == []
    clip = await stock.generate(request(tmp_path, clips=True, duration=1))
    downloads = pexels.downloads()
    assert len(downloads) == 2 and downloads[0] == downloads[1]  # the scene kept its clip
    assert clip.path.is_file()


def test_a_bad_setting_is_named_on_one_line(tmp_path: Path) -> None:
    with pytest.raises(BriefError) as caught:
        configured(
            PexelsProvider(),
            {
                "per_page": 500,
                "url": "ftp://x",
                "api_key_env": "sk_live_abcdefghijklmnopqrstuvwxyz",
                "colour": 1,
            },
        )
    lines = caught.value.problems
    assert any(line.startswith("providers.pexels.per_page: ") and "80" in line for line in lines), lines
    assert any(line.startswith("providers.pexels.url: ") for line in lines), lines
    assert any(line.startswith("providers.pexels.api_key_env: ") for line in lines), lines
    assert any(line.startswith("providers.pexels.colour: unknown setting") for line in lines), lines
    assert "abcdefghijklmnopqrstuvwxyz" not in str(caught.value)
