"""Each ``sd`` backend (webui, comfyui, stability) keeps the contract aura offers third parties
(``check_provider``), over its local server on 127.0.0.1. The local ``diffusers`` backend needs torch and
a model, so it is run only where they are installed."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from aura_core import ImageRequest, ProviderSettings
from aura_core.testing import check_provider
from aura_plugins_sd import SDProvider
from aura_plugins_sd import provider as sd_provider
from aura_plugins_sd.sizing import fit_png


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["webui", "comfyui", "stability"])
async def test_every_sd_backend_keeps_the_contract(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A PNG of the requested size, a 0x0 request refused with no file, nothing left when cancelled,
    a fingerprint the same in a fresh process."""
    server: Any = request.getfixturevalue(backend)
    provider = SDProvider().configure(ProviderSettings({"backend": backend, "url": server.url}, tmp_path))
    report = await check_provider(provider, tmp_path)
    statuses = {r.name: r.status for r in report.results}
    assert statuses["result"] == statuses["decode"] == statuses["refusal"] == "passed", report
    assert statuses["fingerprint"] == "passed", report


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["webui", "comfyui", "stability"])
async def test_a_0x0_picture_is_refused_before_any_request(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A 0x0 request raises a permanent ProviderError naming the size (it divided by zero), asking nothing."""
    server: Any = request.getfixturevalue(backend)
    provider = SDProvider().configure(ProviderSettings({"backend": backend, "url": server.url}, tmp_path))
    report = await check_provider(
        provider, tmp_path, skip=["result", "decode", "cancellation", "fingerprint"]
    )
    assert report.status("refusal") == "passed", report
    assert "0x0 is too small" in str(report)
    assert [r.path for r in server.requests if r.method == "POST"] == []  # check() may GET; nothing drawn


@pytest.mark.anyio
async def test_a_call_cancelled_while_its_png_is_written_leaves_no_file(
    webui: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled while the worker thread fits and writes the PNG, the call lets the cancellation through and
    leaves no file, at the picture's path or beside it (it returned its Picture and kept the file)."""
    written, release = threading.Event(), threading.Event()

    def fit_then_wait(*args: Any) -> tuple[int, int]:
        size = fit_png(*args)
        written.set()
        release.wait(30)
        return size

    monkeypatch.setattr(sd_provider, "fit_png", fit_then_wait)
    provider = SDProvider().configure(ProviderSettings({"backend": "webui", "url": webui.url}, tmp_path))
    wanted = ImageRequest(
        prompt="bees",
        negative_prompt="",
        width=64,
        height=36,
        style="",
        seed=1,
        out_path=tmp_path / "scene.png",
    )
    returned: list[Any] = []

    async def call() -> None:
        returned.append(await provider.generate(wanted))

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await anyio.to_thread.run_sync(written.wait, 30)
        assert [p.suffix for p in tmp_path.iterdir() if "scene" in p.name] == [".png"]  # being written
        group.cancel_scope.cancel()
        release.set()
    assert returned == []
    assert [p.name for p in tmp_path.iterdir() if "scene" in p.name] == []
