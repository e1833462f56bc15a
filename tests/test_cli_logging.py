"""`aura run` prints aura's lines only: a dependency's stdlib logging goes to run.log, never raw onto the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import AuraCli


def test_a_dependencys_stdlib_logging_lands_in_run_log_not_raw_on_stderr(
    aura: AuraCli, tmp_path: Path
) -> None:
    """A vendor SDK inside tp-voice retries with stamina and logs a warning through ``logging``: before, Python
    printed ``stamina.retry_scheduled`` and the warning bare between the progress bars; now both are in run.log."""
    brief = aura.brief(tmp_path)
    done = aura.run("run", brief, "--runs-dir", tmp_path / "runs", env=aura.env(AURA_TP_VENDOR_LOG="1"))
    assert done.returncode == 0, done.stderr
    assert "stamina.retry_scheduled" not in done.stderr
    assert "needed a second try" not in done.stderr
    assert all(line.startswith("aura: ") for line in done.stderr.splitlines() if line.strip()), done.stderr
    log = (tmp_path / "runs" / "brief" / "run.log").read_text(encoding="utf-8")
    lines = [line for line in log.splitlines() if "stamina.retry_scheduled" in line]
    assert len(lines) == 1 and "[brief]" in lines[0], log
    assert "WARNING" in lines[0]
    assert "vendor sdk: request 2 needed a second try" in log
