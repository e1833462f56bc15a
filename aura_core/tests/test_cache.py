"""The optional shared artifact cache and ``aura cache info|prune``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_core import Pipeline
from aura_core.cli import cli

from .conftest import fake_providers as fakes
from .conftest import make_spec


@pytest.mark.anyio
async def test_a_second_run_elsewhere_reuses_results_from_the_shared_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another run directory needing the same results gets them from the cache: no provider call at all."""
    monkeypatch.setenv("AURA_CACHE_DIR", str(tmp_path / "cache"))
    first = await Pipeline(list(fakes().values())).run(make_spec(), run_dir=tmp_path / "one")
    second = fakes()
    video = await Pipeline(list(second.values())).run(make_spec(), run_dir=tmp_path / "two")
    assert [p.calls for p in second.values()] == [0, 0, 0, 0]
    assert video.path.read_bytes() == first.path.read_bytes()
    # the second run holds its own copies: removing the cache leaves it complete
    report = json.loads((tmp_path / "two" / "report.json").read_text())
    assert report["calls_saved"] == 17


@pytest.mark.anyio
async def test_the_cache_is_off_unless_asked_for_and_fresh_runs_bypass_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without AURA_CACHE/AURA_CACHE_DIR nothing is shared; with --fresh nothing is read from it."""
    monkeypatch.delenv("AURA_CACHE", raising=False)
    monkeypatch.delenv("AURA_CACHE_DIR", raising=False)
    await Pipeline(list(fakes().values())).run(make_spec(), run_dir=tmp_path / "one")
    again = fakes()
    await Pipeline(list(again.values())).run(make_spec(), run_dir=tmp_path / "two")
    assert again["tts"].calls == 5
    monkeypatch.setenv("AURA_CACHE_DIR", str(tmp_path / "cache"))
    await Pipeline(list(fakes().values())).run(make_spec(), run_dir=tmp_path / "three")
    fresh = fakes()
    await Pipeline(list(fresh.values())).run(make_spec(), run_dir=tmp_path / "four", fresh=True)
    assert fresh["tts"].calls == 5


@pytest.mark.anyio
async def test_a_corrupt_file_in_the_shared_cache_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached file whose checksum no longer matches is not used."""
    monkeypatch.setenv("AURA_CACHE_DIR", str(tmp_path / "cache"))
    await Pipeline(list(fakes().values())).run(make_spec(), run_dir=tmp_path / "one")
    wav = sorted((tmp_path / "cache" / "artifacts").glob("*.wav"))[0]
    wav.unlink()
    wav.write_bytes(b"RIFF garbage")
    again = fakes()
    await Pipeline(list(again.values())).run(make_spec(), run_dir=tmp_path / "two")
    assert again["tts"].calls == 1


@pytest.fixture
def anyio_backend() -> str:
    """The CLI test below is synchronous; async ones here run on asyncio only."""
    return "asyncio"


def test_cache_info_and_prune_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``aura cache info`` counts what runs stored; ``prune`` removes least recently used results."""
    import anyio

    monkeypatch.setenv("AURA_CACHE_DIR", str(tmp_path / "cache"))
    anyio.run(lambda: Pipeline(list(fakes().values())).run(make_spec(), run_dir=tmp_path / "one"))
    runner = CliRunner()
    info = json.loads(runner.invoke(cli, ["cache", "info", "--json"]).output)
    assert info["entries"] == 17
    assert info["by_kind"]["tts"]["entries"] == 5
    assert info["bytes"] > 0
    result = runner.invoke(cli, ["cache", "prune", "--max-size", "1KB"])
    assert result.exit_code == 0, result.output
    left = json.loads(runner.invoke(cli, ["cache", "info", "--json"]).output)
    assert left["bytes"] <= 1024
    assert left["entries"] < 17
    assert runner.invoke(cli, ["cache", "prune", "--all"]).exit_code == 0
    assert json.loads(runner.invoke(cli, ["cache", "info", "--json"]).output)["entries"] == 0
    assert list((tmp_path / "cache" / "artifacts").iterdir()) == []
    bad = runner.invoke(cli, ["cache", "prune", "--older-than", "soon"])
    assert bad.exit_code == 2
    monkeypatch.delenv("AURA_CACHE_DIR")
    off = runner.invoke(cli, ["cache", "info"])
    assert off.exit_code == 2
