"""aura as a library logs nowhere until the application asks; asked, its lines reach run.log."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

#: A library run with the core's fakes whose voice fails once (transiently), so aura retries and logs it.
_APP = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import anyio
    import stamina
    from aura_core import Pipeline, parse_brief
    from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice, Faults

    if sys.argv[2] == "enable":
        from loguru import logger
        logger.enable("aura_core")
    stamina.set_testing(True, attempts=3)
    spec = parse_brief(
        {"brief": {"topic": "Honeybees"}, "plan": {"duration": "40s"}, "render": {"resolution": "64x36", "fps": 10}},
        None,
    )
    voice = FakeVoice(faults=Faults(calls=frozenset({1}), transient=True))
    pipeline = Pipeline([FakeScriptWriter(), voice, FakeIllustrator(), FakeComposer()])
    anyio.run(lambda: pipeline.run(spec, run_dir=Path(sys.argv[1])))
    """
)


def _library_run(run_dir: Path, mode: str) -> subprocess.CompletedProcess[str]:
    """Run ``_APP`` in a fresh interpreter (no earlier test's logging setup), as an application would."""
    return subprocess.run(
        [sys.executable, "-c", _APP, str(run_dir), mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_library_run_with_a_retry_writes_nothing_to_stderr_or_stdout(tmp_path: Path) -> None:
    """Loguru's default sink is the app's stderr: aura's retry warning and run lines must not reach it."""
    done = _library_run(tmp_path / "run", "default")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run" / "final.mp4").exists()
    assert done.stderr == ""
    assert done.stdout == ""


def test_an_app_that_enables_aura_core_gets_the_lines_and_run_log(tmp_path: Path) -> None:
    """``logger.enable("aura_core")`` (docs/library.md) turns the lines on: on the app's sink and in run.log."""
    done = _library_run(tmp_path / "run", "enable")
    assert done.returncode == 0, done.stderr
    assert "run started" in done.stderr
    assert "run started" in (tmp_path / "run" / "run.log").read_text(encoding="utf-8")
