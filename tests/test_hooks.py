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
from typing import Any

import click
import pytest
from loguru import logger

from aura_core import RunStarted, hookimpl
from aura_core.plugins import PluginHost

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
        # The caller's PYTHONPATH stays after the site: a checkout run that way is the code under test.
        env={
            **clean,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
            **env,
        },
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


def _hooked_brief(path: Path, topic: str) -> Path:
    """A two-scene brief at 64x36 run by the hook plugin's providers."""
    path.write_text(
        textwrap.dedent(
            f"""\
            [brief]
            topic = "{topic}"

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
    return path


def test_hook_aura_event(site: Path, tmp_path: Path) -> None:
    """A real `aura run` with the plugin's providers delivers every event to the hook, run_finished last."""
    brief = _hooked_brief(tmp_path / "hooked.toml", "Hooks")
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


_COMMANDS_FAIL_PLUGIN = '''\
"""A plugin whose command registration raises, as one with a missing template folder would."""

from aura_core import hookimpl


@hookimpl
def aura_register_commands(cli):
    """Fail while adding commands."""
    raise RuntimeError("aura_cmdfail cannot find its templates")
'''

_RAISING_OBSERVER_PLUGIN = '''\
"""A plugin whose event observer raises on every event."""

from aura_core import hookimpl


@hookimpl
def aura_event(event):
    """Fail on every event."""
    raise ValueError(f"observer bug on {event.type}")
'''


@pytest.fixture(scope="module")
def troubled_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``aura-hooked`` beside ``aura-cmdfail`` (commands raise) and ``aura-badobserver`` (events raise)."""
    root = tmp_path_factory.mktemp("troubled-src")
    sources = [
        write_distribution(
            root, "aura-hooked", "aura_hooked", "hooked", _PLUGIN, dependencies=("aura-core", "click")
        ),
        write_distribution(root, "aura-cmdfail", "aura_cmdfail", "cmdfail", _COMMANDS_FAIL_PLUGIN),
        write_distribution(
            root, "aura-badobserver", "aura_badobserver", "badobserver", _RAISING_OBSERVER_PLUGIN
        ),
    ]
    return install_into(tmp_path_factory.mktemp("troubled-site"), *sources)


def _lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


CMDFAIL_WARNING = (
    "aura: warning: plugin 'cmdfail': aura_register_commands failed: "
    "RuntimeError: aura_cmdfail cannot find its templates"
)


@pytest.mark.parametrize(
    ("args", "code"),
    [(("--help",), 0), (("greet", "--name", "bees"), 0), (("plugins",), 0), (("doctor",), 1)],
    ids=["help", "another-plugins-command", "plugins", "doctor"],
)
def test_a_plugin_whose_register_commands_raises_breaks_no_command(
    troubled_site: Path, args: tuple[str, ...], code: int
) -> None:
    """`aura --help`, another plugin's command, `aura plugins` and `aura doctor` work; stderr has one warning line.

    `doctor` exits 1 because it lists the failing plugin as a problem, which is its job.
    """
    result = _aura(troubled_site, *args)
    assert result.returncode == code, result.stderr
    assert _lines(result.stderr) == [CMDFAIL_WARNING]
    assert "Traceback" not in result.stderr
    if args[0] == "--help":
        commands = result.stdout.split("Commands:", 1)[1]
        assert "doctor" in commands and "greet" in commands
    elif args[0] == "greet":
        assert result.stdout == "hello bees, from the hooked plugin\n"
    elif args[0] == "plugins":
        assert {"hooked", "cmdfail", "local"} <= {p["name"] for p in json.loads(result.stdout)}
    else:
        assert "!!  plugin cmdfail" in result.stdout and "cannot find its templates" in result.stdout


def test_strict_plugins_makes_a_raising_register_commands_an_error(troubled_site: Path) -> None:
    """With AURA_STRICT_PLUGINS=1 the same failure is one error line naming plugin and distribution, exit 2."""
    result = _aura(troubled_site, "--help", AURA_STRICT_PLUGINS="1")
    assert result.returncode == 2
    lines = _lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "aura: error: plugin 'cmdfail' from aura-cmdfail: aura_register_commands failed: "
    )
    assert "Traceback" not in result.stderr


def test_a_raising_aura_event_is_logged_once_and_the_run_finishes(
    troubled_site: Path, tmp_path: Path
) -> None:
    """An observer that raises on every event: the run succeeds, the other plugin still gets every event,
    and stderr has one warning line naming the plugin (not one per event)."""
    brief = _hooked_brief(tmp_path / "observed.toml", "Observers")
    log = tmp_path / "events.jsonl"
    runs = tmp_path / "runs"
    result = _aura(
        troubled_site,
        "run",
        str(brief),
        "--plugins",
        "hooked,badobserver",
        "--runs-dir",
        str(runs),
        cwd=tmp_path,
        AURA_HOOKED_EVENTS=str(log),
    )
    assert result.returncode == 0, result.stderr
    assert (runs / "observed" / "final.mp4").is_file()
    assert _lines(result.stderr) == [
        "aura: warning: plugin 'badobserver': aura_event failed on run_started: "
        "ValueError: observer bug on run_started (later failures of this run are not shown)"
    ]
    events = [json.loads(line)["event"] for line in log.read_text(encoding="utf-8").splitlines()]
    assert events[0] == "run_started" and events[-1] == "run_finished"


class _Documented:
    """A plugin whose implementations take each hook's argument under its documented name."""

    def __init__(self) -> None:
        self.got: dict[str, Any] = {}

    @hookimpl
    def aura_register_providers(self, register: Any) -> None:
        """Keep the callback."""
        self.got["register"] = register

    @hookimpl
    def aura_register_commands(self, cli: Any) -> None:
        """Keep the group."""
        self.got["cli"] = cli

    @hookimpl
    def aura_event(self, event: Any) -> None:
        """Keep the event."""
        self.got["event"] = event


class _Fewer:
    """A plugin written against specs that have since grown: its implementations take no argument at all."""

    def __init__(self) -> None:
        self.called: list[str] = []

    @hookimpl
    def aura_register_providers(self) -> None:
        """Count the call."""
        self.called.append("aura_register_providers")

    @hookimpl
    def aura_register_commands(self) -> None:
        """Count the call."""
        self.called.append("aura_register_commands")

    @hookimpl
    def aura_event(self) -> None:
        """Count the call."""
        self.called.append("aura_event")


def _event(run_id: str = "r1") -> RunStarted:
    return RunStarted(run_id=run_id, scene_count=1, word_target=10, chains={})


def test_every_hook_is_called_through_pluggy_by_keyword() -> None:
    """Each hook goes through pluggy (its hook-call monitoring sees it) with the spec's keyword argument;
    an implementation naming the documented argument gets the right value, one taking fewer arguments still runs."""
    host = PluginHost()
    documented, fewer = _Documented(), _Fewer()
    host.pm.register(documented, name="documented")
    host.pm.register(fewer, name="fewer")
    seen: list[tuple[str, list[str], tuple[str, ...]]] = []
    host.pm.add_hookcall_monitoring(
        lambda name, impls, kwargs: seen.append(
            (name, [i.plugin_name for i in impls], tuple(sorted(kwargs)))
        ),
        lambda outcome, name, impls, kwargs: None,
    )
    registered: list[tuple[Any, str]] = []
    group = click.Group()
    event = _event()
    host.register_providers(lambda provider, *, plugin, **options: registered.append((provider, plugin)))
    host.register_commands(group)
    host.emit(event)
    documented.got["register"]("a provider")
    assert registered == [("a provider", "documented")]
    assert documented.got["cli"] is group
    assert documented.got["event"] is event
    assert fewer.called == ["aura_register_providers", "aura_register_commands", "aura_event"]
    assert sorted(seen) == sorted(
        (hook, [plugin], (argument,))
        for hook, argument in [
            ("aura_register_providers", "register"),
            ("aura_register_commands", "cli"),
            ("aura_event", "event"),
        ]
        for plugin in ("documented", "fewer")
    )


class _RaisingObserver:
    """An observer that raises on every event."""

    @hookimpl
    def aura_event(self, event: Any) -> None:
        """Fail."""
        raise ValueError(f"observer bug on {event.type}")


def test_a_raising_observer_is_logged_once_per_run_and_the_others_still_see_every_event() -> None:
    """Three events of one run and one of the next: one warning per run naming the plugin; the other plugin sees all four."""
    host = PluginHost()
    host.pm.register(_RaisingObserver(), name="raiser")
    documented = _Documented()
    seen: list[str] = []
    host.pm.register(documented, name="documented")
    host.pm.add_hookcall_monitoring(
        lambda name, impls, kwargs: seen.append(kwargs["event"].run_id), lambda *a: None
    )
    warnings: list[str] = []
    sink = logger.add(lambda message: warnings.append(message.record["message"]), level="WARNING")
    logger.enable("aura_core")  # as an application does: the library logs nowhere until asked
    try:
        for run_id in ("r1", "r1", "r1", "r2"):
            host.emit(_event(run_id))
    finally:
        logger.disable("aura_core")
        logger.remove(sink)
    assert (
        warnings
        == [
            "plugin 'raiser': aura_event failed on run_started: ValueError: observer bug on run_started "
            "(later failures of this run are not shown)"
        ]
        * 2
    )
    assert documented.got["event"].run_id == "r2"
    assert seen.count("r1") == 2 * 3 and seen.count("r2") == 2
