"""Each hook spec works through a real plugin: ``test_hook_<name>`` per hook (tests/test_docs.py checks
that every spec has one).

The plugin ``aura-hooked`` (entry point ``hooked``) implements all three hooks. It is built by pip
(hatchling, no build isolation) and installed with ``--target`` into a temp folder, never into the
venv; the venv's ``aura`` runs with that folder on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import install_into, write_distribution

AURA = Path(sys.executable).with_name("aura")

_PLUGIN = '''\
"""A plugin that uses every aura hook."""

import json
import os

import click

from aura_core import hookimpl
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice


@hookimpl
def aura_register_providers(register):
    """One fake provider of every kind, named hk-*."""
    register(FakeScriptWriter(name="hk-llm", auto=False))
    register(FakeVoice(name="hk-voice", auto=False))
    register(FakeIllustrator(name="hk-image", auto=False))
    register(FakeComposer(name="hk-composer", auto=False))


@hookimpl
def aura_register_commands(cli):
    """Add `aura greet`."""

    @cli.command()
    @click.option("--name", default="world", help="Whom to greet.")
    def greet(name):
        """Greet NAME from the hooked plugin."""
        click.echo(f"hello {name}, from the hooked plugin")


@hookimpl
def aura_event(event):
    """Append every event to the file named by AURA_HOOKED_EVENTS."""
    path = os.environ.get("AURA_HOOKED_EVENTS")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(event.to_dict()) + "\\n")
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the ``aura-hooked`` distribution installed in it."""
    source = write_distribution(
        tmp_path_factory.mktemp("hooked-src"),
        "aura-hooked",
        "aura_hooked",
        "hooked",
        _PLUGIN,
        version="0.3.0",
        dependencies=("aura-core", "click"),
    )
    return install_into(tmp_path_factory.mktemp("hooked-site"), source)


def _aura(site: Path, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AURA_") and k != "PYTHONPATH"}
    return subprocess.run(
        [str(AURA), *args],
        env={**clean, "PYTHONPATH": str(site), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_hook_aura_register_providers(site: Path) -> None:
    """The providers the hook registers are listed by `aura providers`, each under the plugin's name."""
    result = _aura(site, "providers", "--plugins", "hooked", "--json")
    assert result.returncode == 0, result.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)}
    assert set(rows) == {
        ("llm", "hk-llm"),
        ("tts", "hk-voice"),
        ("image", "hk-image"),
        ("composer", "hk-composer"),
    }
    assert {r["plugin"] for r in rows.values()} == {"hooked"}
    plugins = json.loads(_aura(site, "plugins", "--plugins", "hooked").stdout)
    assert plugins[0]["hooks"] == ["aura_event", "aura_register_commands", "aura_register_providers"]


def test_hook_aura_register_commands(site: Path) -> None:
    """The command the hook adds is listed by `aura --help` and runs with its own option."""
    listed = _aura(site, "--help")
    assert listed.returncode == 0, listed.stderr
    assert "greet" in listed.stdout.split("Commands:", 1)[1]
    result = _aura(site, "greet", "--name", "bees")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello bees, from the hooked plugin\n"


def test_hook_aura_event(site: Path, tmp_path: Path) -> None:
    """A real `aura run` with the plugin's providers delivers every event to the hook, run_finished last."""
    brief = tmp_path / "hooked.toml"
    brief.write_text(
        textwrap.dedent(
            """\
            [brief]
            topic = "Hooks"

            [plan]
            duration = "12s"
            scenes = 2

            [render]
            resolution = "64x36"
            fps = 10
            captions = "off"

            [providers]
            llm = ["hk-llm"]
            tts = ["hk-voice"]
            image = ["hk-image"]
            composer = ["hk-composer"]
            """
        ),
        encoding="utf-8",
    )
    log = tmp_path / "events.jsonl"
    result = _aura(
        site,
        "run",
        str(brief),
        "--plugins",
        "hooked",
        "--runs-dir",
        str(tmp_path / "runs"),
        cwd=tmp_path,
        AURA_HOOKED_EVENTS=str(log),
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started"
    assert kinds[-1] == "run_finished"
    assert events[-1]["state"] == "succeeded"
    done = [e for e in events if e["event"] == "item_done"]
    assert len(done) >= 2 * 3 + 1  # two voices, two pictures, two segments, the script (and the assembly)
