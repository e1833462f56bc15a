"""Third-party plugins are discovered from their own installed distribution, and a broken one cannot break aura.

Every test runs the real ``aura`` console script in a subprocess against distributions that were built
and installed by pip into a private site folder (see ``conftest.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import AuraCli

THIRDPARTY = {
    "name": "thirdparty",
    "distribution": "aura-thirdparty",
    "version": "1.2.3",
    "hooks": ["aura_register_providers"],
    "providers": ["llm:tp-llm", "tts:tp-voice", "image:tp-image", "composer:tp-composer"],
}


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_plugins_lists_an_installed_third_party_distribution(aura: AuraCli) -> None:
    """`aura plugins` finds the pip-installed distribution by its entry point and shows what it registered.

    All installed plugins load; the broken distribution is left out of the list with one warning line.
    """
    result = aura.run("plugins")
    assert result.returncode == 0, result.stderr
    plugins = json.loads(result.stdout)
    by_name = {p["name"]: p for p in plugins}
    assert by_name["thirdparty"] == THIRDPARTY
    assert "broken" not in by_name
    assert "local" in by_name  # the venv's own plugins still load next to it
    lines = _error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("aura: warning: ")
    assert "'broken'" in lines[0] and "aura-broken" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("how", ["option", "environment"])
def test_load_only_local_excludes_the_third_party_plugin(aura: AuraCli, how: str) -> None:
    """`--plugins local` or AURA_LOAD_PLUGINS=local loads the local plugin alone: no third-party one, no warning."""
    if how == "option":
        result = aura.run("plugins", "--plugins", "local")
    else:
        result = aura.run("plugins", env=aura.env(AURA_LOAD_PLUGINS="local"))
    assert result.returncode == 0, result.stderr
    assert [p["name"] for p in json.loads(result.stdout)] == ["local"]
    assert result.stderr == ""


def test_run_uses_the_third_party_providers_named_in_the_brief(aura: AuraCli, tmp_path: Path) -> None:
    """`aura run --plugins thirdparty` renders a brief whose [providers] name only the tp-* providers."""
    brief = aura.brief(tmp_path)
    runs = tmp_path / "runs"
    result = aura.run("run", brief, "--plugins", "thirdparty", "--runs-dir", runs)
    assert result.returncode == 0, result.stderr
    run_dir = runs / "brief"
    final = run_dir / "final.mp4"
    assert final.is_file() and final.stat().st_size > 0
    assert str(final) in result.stdout
    report = aura.report(run_dir)
    assert report["state"] == "succeeded"
    assert {kind: [p["name"] for p in chain] for kind, chain in report["providers"].items()} == {
        kind: [name] for kind, name in aura.PROVIDERS.items()
    }
    assert all(p["calls"] > 0 for chain in report["providers"].values() for p in chain)
    # The fake composer's stand-in "video" records each of the 3 segments it assembled.
    assert final.read_text().count("segment ") == 3


def test_a_plugin_that_fails_to_import_leaves_the_others_working(aura: AuraCli, tmp_path: Path) -> None:
    """A distribution whose plugin raises on import is skipped with one warning line naming it and its distribution."""
    brief = aura.brief(tmp_path)
    result = aura.run("run", brief, "--plugins", "thirdparty,broken", "--runs-dir", tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "runs" / "brief" / "final.mp4").is_file()
    lines = _error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("aura: warning: ")
    assert "'broken'" in lines[0] and "aura-broken" in lines[0]
    assert "nonexistent-sdk" in lines[0]  # the reason, so the user knows what to install
    assert "Traceback" not in result.stderr


def test_strict_plugins_turns_a_broken_plugin_into_an_error(aura: AuraCli, tmp_path: Path) -> None:
    """With AURA_STRICT_PLUGINS=1 the same run stops before starting: exit 2, one line naming plugin and distribution."""
    brief = aura.brief(tmp_path)
    runs = tmp_path / "runs"
    result = aura.run(
        "run",
        brief,
        "--plugins",
        "thirdparty,broken",
        "--runs-dir",
        runs,
        env=aura.env(AURA_STRICT_PLUGINS="1"),
    )
    assert result.returncode == 2
    lines = _error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("aura: error: ")
    assert "'broken'" in lines[0] and "aura-broken" in lines[0]
    assert "Traceback" not in result.stderr
    assert not (runs / "brief" / "final.mp4").exists()


@pytest.mark.parametrize("command", ["plugins", "run"])
def test_an_unknown_plugin_name_is_a_one_line_user_error(aura: AuraCli, tmp_path: Path, command: str) -> None:
    """`--plugins nosuch` exits 2 with one line naming the missing plugin and what is installed."""
    args: list[str | Path] = [command, "--plugins", "nosuch"]
    if command == "run":
        args[1:1] = [aura.brief(tmp_path), "--runs-dir", tmp_path / "runs"]
    result = aura.run(*args)
    assert result.returncode == 2
    lines = _error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("aura: error: --plugins: ")
    assert "'nosuch'" in lines[0]
    assert "thirdparty" in lines[0]  # the installed names are listed as the alternatives
    assert result.stdout == ""
