"""Shared fixtures for the end-to-end CLI tests: third-party plugin distributions built and installed in a temp folder.

Two tiny distributions are written as source trees, built by pip (hatchling, no build isolation)
and installed with ``pip install --target`` into a private site folder, never into the shared venv:

* ``aura-thirdparty`` (entry point ``thirdparty``) registers fake providers ``tp-llm``, ``tp-voice``,
  ``tp-image`` and ``tp-composer`` from ``aura_core.testing``. Environment variables read at
  registration script them: ``AURA_TP_LATENCY`` (seconds per call), ``AURA_TP_FAIL`` (provider names
  that fail permanently), ``AURA_TP_FAIL_FROM`` (first failing call, 1-based), ``AURA_TP_FAIL_DETAIL``
  (text added to the failure message, e.g. what a careless vendor SDK would echo back) and
  ``AURA_TP_FAIL_TRANSIENT`` (a number n: the failures are transient and stop after n calls).
  ``AURA_TP_PARTIAL=1`` makes ``tp-voice`` write a partial file to ``out_path`` before its latency.
  ``AURA_TP_CALL_LOG=path`` appends one line per finished provider call to ``path`` (across processes).
  ``AURA_TP_VENDOR_LOG=1`` makes ``tp-voice`` act like a vendor SDK: it retries its first request with stamina and
  logs a warning through the stdlib ``logging`` module (logger ``vendor.sdk``).
* ``aura-broken`` (entry point ``broken``) raises when its plugin module is imported.

The ``aura`` console script of the venv runs as a subprocess with ``PYTHONPATH`` set to the site folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from attrs import define

AURA = Path(sys.executable).with_name("aura")

_THIRDPARTY_PLUGIN = '''\
"""A third-party aura plugin made of the core's fake providers, scripted from the environment."""

from __future__ import annotations

import logging
import os

import stamina
from attrs import define

from aura_core import ProviderError, hookimpl
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice, Faults


@define
class DetailedFaults(Faults):
    """Faults whose message carries extra text (what a vendor's error body might say)."""

    detail: str = ""

    async def maybe_fail(self, name: str, call_number: int) -> None:
        """Fail like ``Faults`` does, with ``detail`` appended to the message."""
        try:
            await super().maybe_fail(name, call_number)
        except ProviderError as exc:
            message = f"{exc.message}: {self.detail}" if self.detail else exc.message
            raise ProviderError(message, transient=exc.transient, retry_after=exc.retry_after) from None


def _faults(name: str) -> Faults:
    failing = {n.strip() for n in os.environ.get("AURA_TP_FAIL", "").split(",") if n.strip()}
    if name not in failing:
        return Faults()
    first = int(os.environ.get("AURA_TP_FAIL_FROM", "1"))
    transient = int(os.environ.get("AURA_TP_FAIL_TRANSIENT", "0"))
    return DetailedFaults(
        calls=frozenset(range(first, first + transient if transient else 100_000)),
        transient=bool(transient),
        detail=os.environ.get("AURA_TP_FAIL_DETAIL", ""),
    )


@define
class PartialVoice(FakeVoice):
    """A voice that first writes a partial file to out_path, like a streaming download, then finishes it."""

    async def synthesize(self, request):  # type: ignore[no-untyped-def]
        """Leave a partial file at out_path for the length of the call, then write the real one."""
        request.out_path.write_bytes(b"RIFF partial")
        return await FakeVoice.synthesize(self, request)


@define
class VendorVoice(FakeVoice):
    """A voice whose vendor SDK retries a reset connection itself (stamina) and logs through stdlib logging."""

    requests: int = 0

    async def synthesize(self, request):  # type: ignore[no-untyped-def]
        """The first request of the process fails once and is retried by the SDK; every call logs a warning."""
        for attempt in stamina.retry_context(on=ConnectionError, attempts=2, wait_initial=0.01, wait_jitter=0):
            with attempt:
                self.requests += 1
                if self.requests == 1:
                    raise ConnectionError("connection reset by peer")
        logging.getLogger("vendor.sdk").warning("vendor sdk: request %d needed a second try", self.requests)
        return await FakeVoice.synthesize(self, request)


@hookimpl
def aura_register_providers(register):  # type: ignore[no-untyped-def]
    """Register one fake of every kind, named tp-*."""
    latency = float(os.environ.get("AURA_TP_LATENCY", "0"))
    log = os.environ.get("AURA_TP_CALL_LOG") or None
    register(FakeScriptWriter(name="tp-llm", latency=latency, faults=_faults("tp-llm"), auto=False, call_log=log))
    voice = PartialVoice if os.environ.get("AURA_TP_PARTIAL") else FakeVoice
    voice = VendorVoice if os.environ.get("AURA_TP_VENDOR_LOG") else voice
    register(voice(name="tp-voice", latency=latency, faults=_faults("tp-voice"), auto=False, call_log=log))
    register(FakeIllustrator(name="tp-image", latency=latency, faults=_faults("tp-image"), auto=False, call_log=log))
    register(FakeComposer(name="tp-composer", latency=latency, faults=_faults("tp-composer"), auto=False, call_log=log))
'''

_BROKEN_PLUGIN = '''\
"""A plugin whose import fails, as one with a missing dependency would."""

raise ImportError("aura_broken needs the package 'nonexistent-sdk', which is not installed")
'''


def write_distribution(
    root: Path,
    dist: str,
    package: str,
    entry_name: str,
    plugin_source: str,
    *,
    version: str = "1.2.3",
    dependencies: tuple[str, ...] = ("aura-core",),
) -> Path:
    """Write the source tree of a one-module plugin distribution (hatchling) under ``root``; returns its folder."""
    folder = root / dist
    (folder / "src" / package).mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "{dist}"
            version = "{version}"
            requires-python = ">=3.11"
            dependencies = {json.dumps(list(dependencies))}

            [project.entry-points.aura]
            {entry_name} = "{package}.plugin"

            [tool.hatch.build.targets.wheel]
            packages = ["src/{package}"]
            """
        ),
        encoding="utf-8",
    )
    (folder / "src" / package / "__init__.py").write_text(f'"""The {dist} distribution."""\n')
    (folder / "src" / package / "plugin.py").write_text(plugin_source, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site folder holding the installed ``aura-thirdparty`` and ``aura-broken`` distributions."""
    root = tmp_path_factory.mktemp("plugin-src")
    site = tmp_path_factory.mktemp("plugin-site")
    install_into(
        site,
        write_distribution(root, "aura-thirdparty", "aura_thirdparty", "thirdparty", _THIRDPARTY_PLUGIN),
        write_distribution(root, "aura-broken", "aura_broken", "broken", _BROKEN_PLUGIN),
    )
    return site


def install_into(target: Path, *sources: Path) -> Path:
    """``pip install`` distributions from source folders into ``target`` (never into the venv), offline."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(target),
            *map(str, sources),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return target


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@define
class AuraCli:
    """Runs the venv's ``aura`` console script with the plugin site on ``PYTHONPATH``."""

    site: Path
    PROVIDERS: ClassVar[dict[str, str]] = {
        "llm": "tp-llm",
        "tts": "tp-voice",
        "image": "tp-image",
        "composer": "tp-composer",
    }

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for an ``aura`` subprocess: no stray aura settings or keys, plus ``extra``."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AURA_") and not k.endswith(("_API_KEY", "_TOKEN")) and k != "PYTHONPATH"
        }
        # The caller's PYTHONPATH stays after the site: a checkout run that way is the code under test.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.site), os.environ.get("PYTHONPATH")]))
        env.update(extra)
        return env

    def run(
        self, *args: str | Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``aura ARGS`` to completion and capture its output as text."""
        return subprocess.run(
            [str(AURA), *map(str, args)],
            env=dict(env) if env is not None else self.env(),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self, *args: str | Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start ``aura ARGS`` in the background with stdout and stderr piped."""
        return subprocess.Popen(
            [str(AURA), *map(str, args)],
            env=dict(env) if env is not None else self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # A shell's background job inherits SIGINT as ignored; Ctrl-C must reach aura as it would on a terminal.
            preexec_fn=_default_sigint,
        )

    @staticmethod
    def brief(folder: Path, name: str = "brief", *, topic: str = "Tide pools", scenes: int = 3) -> Path:
        """Write a small valid brief (``scenes`` scenes, 64x36 at 10 fps) naming the tp-* providers."""
        path = folder / f"{name}.toml"
        path.write_text(
            textwrap.dedent(
                f"""\
                [brief]
                topic = "{topic}"

                [plan]
                duration = "15s"
                scenes = {scenes}

                [render]
                resolution = "64x36"
                fps = 10
                captions = "off"

                [providers]
                llm = ["tp-llm"]
                tts = ["tp-voice"]
                image = ["tp-image"]
                composer = ["tp-composer"]
                """
            ),
            encoding="utf-8",
        )
        return path

    @staticmethod
    def report(run_dir: Path) -> dict[str, Any]:
        """The run's report.json as data."""
        data: dict[str, Any] = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
        return data


@pytest.fixture(scope="session")
def aura(plugin_site: Path) -> AuraCli:
    """The ``aura`` CLI with both test plugin distributions importable."""
    return AuraCli(plugin_site)
