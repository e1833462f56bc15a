"""The ``folder`` illustrator and the ``scriptfile`` writer keep the contract aura offers third parties
(``check_provider``); ``template``, ``cards`` and ``piper`` are run through it in ``aura_core``'s tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_core.testing import check_provider, write_gradient_png
from aura_plugins_local.folder import FolderIllustrator
from aura_plugins_local.scriptfile import ScriptFileWriter

SCRIPT = "\n\n".join(
    f"## Scene {i + 1}\n\n"
    + " ".join(["Bees dance a figure eight on the comb to show the way."] * 2)
    + " Then flowers follow."
    for i in range(3)
)


@pytest.mark.anyio
async def test_the_folder_illustrator_keeps_the_contract(tmp_path: Path) -> None:
    """A PNG of the requested size cut from the user's picture, a 0x0 request refused with no file,
    nothing left when cancelled, a fingerprint the same in a fresh process."""
    media = tmp_path / "media"
    media.mkdir()
    for seed, name in enumerate(("honeybee-dance.png", "flowers.png")):
        write_gradient_png(media / name, 320, 180, seed=seed + 1)
    report = await check_provider(FolderIllustrator(media), tmp_path / "work")
    statuses = {r.name: r.status for r in report.results}
    assert statuses["result"] == statuses["decode"] == statuses["refusal"] == "passed", report
    assert statuses["fingerprint"] == "passed", report


@pytest.mark.anyio
async def test_the_scriptfile_writer_keeps_the_contract(tmp_path: Path) -> None:
    """The user's three scenes, the same when asked again, a cancelled read that returns nothing."""
    (tmp_path / "script.md").write_text(SCRIPT, encoding="utf-8")
    report = await check_provider(ScriptFileWriter(tmp_path / "script.md"), tmp_path)
    statuses = {r.name: r.status for r in report.results}
    assert statuses["result"] == statuses["fingerprint"] == "passed", report
    assert statuses["cancellation"] != "failed", report


@pytest.mark.anyio
async def test_the_folder_illustrator_refuses_a_0x0_picture(tmp_path: Path) -> None:
    """A 0x0 request raises a permanent ProviderError naming the size (it raised ZeroDivisionError)."""
    write_gradient_png(tmp_path / "bees.png", 64, 36, seed=1)
    report = await check_provider(
        FolderIllustrator(tmp_path),
        tmp_path / "work",
        skip=["result", "decode", "cancellation", "fingerprint"],
    )
    assert report.status("refusal") == "passed", report
    assert "folder: 0x0 is too small" in str(report)
