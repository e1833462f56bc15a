"""`aura run` and the resilience middleware, end to end: retries stay quiet, bad policies are one line, causes are whole.

Every test runs the real ``aura`` console script in a subprocess with the ``aura-thirdparty`` fakes (see ``conftest.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import AuraCli


def _with_table(brief: Path, table: str) -> Path:
    brief.write_text(brief.read_text(encoding="utf-8") + "\n" + table, encoding="utf-8")
    return brief


def test_a_transient_failure_is_retried_without_raw_stamina_lines(aura: AuraCli, tmp_path: Path) -> None:
    """A voice that fails once transiently is retried and the run succeeds; stderr has no `stamina.retry_scheduled` line (aura reports the retry as an event)."""
    brief = _with_table(aura.brief(tmp_path, scenes=2), "[providers.tp-voice]\nbackoff = 0\n")
    runs = tmp_path / "runs"
    env = aura.env(AURA_TP_FAIL="tp-voice", AURA_TP_FAIL_TRANSIENT="1")
    result = aura.run("run", brief, "--plugins", "thirdparty", "--runs-dir", runs, "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert "retry_scheduled" not in result.stderr
    assert "stamina" not in result.stderr + result.stdout
    events = [json.loads(line) for line in result.stdout.splitlines()]
    retries = [e for e in events if e["event"] == "retry"]
    assert [(r["provider"], r["attempt"], r["wait"]) for r in retries] == [("tp-voice", 2, 0.0)]


@pytest.mark.parametrize(
    ("table", "line"),
    [
        (
            "[providers.tp-voice]\nbackoff = inf\n",
            "providers.tp-voice.backoff: expected a number of seconds from 0 to 3600, got inf",
        ),
        (
            "[providers.tp-llm]\ntimeout = nan\n",
            "providers.tp-llm.timeout: expected a number of seconds from 0.01 to 86400, got nan",
        ),
        (
            "[providers.defaults.image]\nbudget = 1e300\n",
            "providers.defaults.image.budget: expected a number of seconds from 0.01 to 86400, got 1e+300",
        ),
        (
            "[providers.tp-composer]\nattempts = 1000\n",
            "providers.tp-composer.attempts: expected a whole number from 1 to 100, got 1000",
        ),
    ],
    ids=["backoff-inf", "timeout-nan", "kind-budget-huge", "attempts-too-many"],
)
def test_a_resilience_key_out_of_range_is_one_line_naming_it(
    aura: AuraCli, tmp_path: Path, table: str, line: str
) -> None:
    """`backoff = inf` (which slept for ever at the first retry), `nan`, `1e300`, too many attempts: exit 2 when the brief loads, one line naming the file and the key, no provider called."""
    brief = _with_table(aura.brief(tmp_path, scenes=2), table)
    log = tmp_path / "calls.log"
    env = aura.env(AURA_TP_CALL_LOG=str(log))
    result = aura.run("run", brief, "--plugins", "thirdparty", "--runs-dir", tmp_path / "runs", env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"aura: error: {brief}: {line}"]
    assert not log.exists()


def test_every_line_of_a_providers_error_reaches_stderr_the_log_and_the_report(
    aura: AuraCli, tmp_path: Path
) -> None:
    """A multi-line provider error (a tool's banner, then its real error) keeps its last line: stderr (one line), run.log and report.json."""
    brief = aura.brief(tmp_path, scenes=2)
    runs = tmp_path / "runs"
    detail = "Guessed Channel Layout: mono\n\n  music.mp3: Invalid data found when processing input\n"
    env = aura.env(AURA_TP_FAIL="tp-voice", AURA_TP_FAIL_DETAIL=detail)
    result = aura.run("run", brief, "--plugins", "thirdparty", "--runs-dir", runs, env=env)
    assert result.returncode == 1
    whole = "Guessed Channel Layout: mono | music.mp3: Invalid data found when processing input"
    [line] = result.stderr.splitlines()
    assert line.startswith("aura: error: voice of scene ")
    assert whole in line
    report = aura.report(runs / "brief")
    assert len(report["errors"]) == 1
    assert whole in report["errors"][0]
    assert whole in (runs / "brief" / "run.log").read_text(encoding="utf-8")
