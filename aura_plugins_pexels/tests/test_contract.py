"""The ``pexels`` provider keeps the contract aura offers third parties (``check_provider``), over loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aura_core.testing import check_provider

from .test_search import provider


@pytest.mark.anyio
async def test_the_pexels_provider_keeps_the_contract(pexels: Any, tmp_path: Path) -> None:
    """A PNG of the requested size from a real search and download, a 0x0 request refused before any request,
    nothing left when cancelled, a fingerprint the same in a fresh process."""
    report = await check_provider(provider(pexels), tmp_path)
    assert {r.name: r.status for r in report.results} == dict.fromkeys(
        ("identity", "result", "decode", "refusal", "cancellation", "fingerprint"), "passed"
    ), report
    assert pexels.http.calls("/v1/search"), "the contract's pictures came from the server"
