"""`aura run` / `aura resume` end to end with a third-party plugin: events, caching, failures, resume, Ctrl-C, secrets, locking.

Every test runs the real ``aura`` console script in a subprocess; providers are the ``aura_core.testing`` fakes
shipped by the pip-installed ``aura-thirdparty`` distribution, scripted through environment variables
(see ``conftest.py``).
"""

from __future__ import annotations

import json
import secrets
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import AuraCli

SCENES = 4


def _events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _done_items(run_dir: Path) -> Counter[str]:
    """How many items of each stage the journal records as done."""
    with sqlite3.connect(run_dir / "journal.sqlite") as db:
        rows = db.execute("SELECT stage FROM items WHERE state = 'done'").fetchall()
    return Counter(stage for (stage,) in rows)


def _calls(report: dict[str, Any]) -> dict[str, int]:
    return {kind: sum(p["calls"] for p in chain) for kind, chain in report["providers"].items()}


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``condition`` until it holds (a wait for a state, not an assertion about time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def _wait_for_event(process: subprocess.Popen[str], name: str) -> None:
    """Read the JSON lines of a running ``aura … --json`` until event ``name`` arrives."""
    assert process.stdout is not None
    for line in process.stdout:
        if json.loads(line)["event"] == name:
            return
    raise AssertionError(f"aura ended before emitting {name}: {process.wait()}")


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGINT a background aura (if it still runs) and collect its output."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_json_prints_one_event_per_line_ending_in_success(aura: AuraCli, tmp_path: Path) -> None:
    """`--json` prints only JSON objects, one per line, each with an event; progress never goes back, reaches 1.0, and the last event is run_finished succeeded."""
    brief = aura.brief(tmp_path, scenes=SCENES)
    result = aura.run("run", brief, "--plugins", "thirdparty", "--runs-dir", tmp_path / "runs", "--json")
    assert result.returncode == 0, result.stderr
    events = _events(result.stdout)
    assert all(isinstance(e, dict) and isinstance(e.get("event"), str) for e in events)
    assert events[0]["event"] == "run_started"
    assert events[0]["chains"] == {kind: [name] for kind, name in aura.PROVIDERS.items()}
    assert events[-1]["event"] == "run_finished"
    assert events[-1]["state"] == "succeeded"
    assert Path(events[-1]["video"]).is_file()
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)
    assert progress[-1] == 1.0
    done = Counter((e["stage"]) for e in events if e["event"] == "item_done")
    assert done == {"script": 1, "voice": SCENES, "visuals": SCENES, "segments": SCENES, "assembly": 1}


def test_running_the_same_brief_again_makes_no_provider_call(aura: AuraCli, tmp_path: Path) -> None:
    """A second `aura run` of a finished brief takes every result from the run's store: zero calls, all cached."""
    brief = aura.brief(tmp_path, scenes=SCENES)
    runs = tmp_path / "runs"
    first = aura.run("run", brief, "--plugins", "thirdparty", "--runs-dir", runs)
    assert first.returncode == 0, first.stderr
    video = (runs / "brief" / "final.mp4").read_bytes()

    second = aura.run("run", brief, "--plugins", "thirdparty", "--runs-dir", runs)
    assert second.returncode == 0, second.stderr
    report = aura.report(runs / "brief")
    assert report["state"] == "succeeded"
    for chain in report["providers"].values():
        assert [p["calls"] for p in chain] == [0]
        assert chain[0]["cached"] > 0
    assert report["calls_saved"] == 1 + 3 * SCENES + 1
    assert (runs / "brief" / "final.mp4").read_bytes() == video


def test_fresh_starts_the_run_over(aura: AuraCli, tmp_path: Path) -> None:
    """`aura run --fresh` discards the finished run: every provider is called again and nothing is cached."""
    brief = aura.brief(tmp_path, scenes=SCENES)
    runs = tmp_path / "runs"
    assert aura.run("run", brief, "--plugins", "thirdparty", "--runs-dir", runs).returncode == 0

    fresh = aura.run("run", brief, "--plugins", "thirdparty", "--runs-dir", runs, "--fresh")
    assert fresh.returncode == 0, fresh.stderr
    report = aura.report(runs / "brief")
    assert report["state"] == "succeeded"
    assert _calls(report) == {"llm": 1, "tts": SCENES, "image": SCENES, "composer": SCENES + 1}
    assert all(p["cached"] == 0 for chain in report["providers"].values() for p in chain)
    assert report["calls_saved"] == 0


def test_failed_run_keeps_its_work_and_resume_makes_only_what_is_missing(
    aura: AuraCli, tmp_path: Path
) -> None:
    """A permanent provider failure exits 1 with one line naming the provider and its error; finished work is kept.

    `aura resume RUN_DIR` with the fault gone then calls providers only for the items the journal did not finish.
    """
    brief = aura.brief(tmp_path, scenes=SCENES)
    runs = tmp_path / "runs"
    run_dir = runs / "brief"
    failing = aura.env(AURA_TP_FAIL="tp-image", AURA_TP_FAIL_FROM="3")
    result = aura.run("run", brief, "--plugins", "thirdparty", "--runs-dir", runs, env=failing)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("aura: error: ")
    assert "tp-image: tp-image: injected failure on call" in lines[0]  # provider name, then its last error
    assert "Traceback" not in result.stderr
    report = aura.report(run_dir)
    assert report["state"] == "failed"
    assert "tp-image" in report["error"]
    assert not (run_dir / "final.mp4").exists()
    assert any((run_dir / "artifacts").iterdir())
    done = _done_items(run_dir)
    assert done["script"] == 1
    assert done["visuals"] < SCENES

    resumed = aura.run("resume", run_dir, "--plugins", "thirdparty")
    assert resumed.returncode == 0, resumed.stderr
    assert (run_dir / "final.mp4").is_file()
    report = aura.report(run_dir)
    assert report["state"] == "succeeded"
    assert _calls(report) == {
        "llm": 1 - done["script"],
        "tts": SCENES - done["voice"],
        "image": SCENES - done["visuals"],
        "composer": SCENES - done["segments"] + 1,
    }
    assert report["calls_saved"] == sum(done.values())


def test_sigint_cancels_the_run_and_cleans_its_tmp_folder(aura: AuraCli, tmp_path: Path) -> None:
    """Ctrl-C during a run (a voice is writing a partial file) exits 130, leaves tmp/ empty, and reports state cancelled."""
    brief = aura.brief(tmp_path, scenes=SCENES)
    run_dir = tmp_path / "runs" / "brief"
    env = aura.env(AURA_TP_LATENCY="0.5", AURA_TP_PARTIAL="1")
    process = aura.start(
        "run", brief, "--plugins", "thirdparty", "--runs-dir", tmp_path / "runs", "--json", env=env
    )
    try:
        tmp = run_dir / "tmp"
        _wait_until(lambda: tmp.is_dir() and any(tmp.iterdir()), "a partial file in tmp/")
    finally:
        stdout, stderr = _stop(process)
    assert process.returncode == 130, stderr
    assert list((run_dir / "tmp").iterdir()) == []
    assert aura.report(run_dir)["state"] == "cancelled"
    assert _events(stdout)[-1]["event"] == "run_finished"
    assert _events(stdout)[-1]["state"] == "cancelled"
    assert stderr.splitlines() == ["aura: interrupted; finished work is kept (aura resume continues it)"]


def test_a_key_in_a_provider_error_is_redacted_everywhere(aura: AuraCli, tmp_path: Path) -> None:
    """An API key that a provider puts in its error text appears as *** in stderr, --json output, run.log and report.json, and in no file of the run."""
    secret = "sk-test-" + secrets.token_hex(16)
    brief = aura.brief(tmp_path, scenes=2)
    runs = tmp_path / "runs"
    env = aura.env(
        OPENAI_API_KEY=secret,
        AURA_TP_FAIL="tp-voice",
        AURA_TP_FAIL_DETAIL=f"401 Unauthorized: incorrect API key provided: {secret}",
    )
    result = aura.run("run", brief, "--plugins", "thirdparty", "--runs-dir", runs, "--json", env=env)
    assert result.returncode == 1
    run_dir = runs / "brief"
    log = (run_dir / "run.log").read_text(encoding="utf-8")
    report = (run_dir / "report.json").read_text(encoding="utf-8")
    for text in (result.stderr, result.stdout, log, report):
        assert "incorrect API key provided: ***" in text
        assert secret not in text
    leaked = [p.name for p in run_dir.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert leaked == []


@pytest.mark.parametrize("fresh", [False, True], ids=["continue", "fresh"])
def test_a_run_in_use_is_refused(aura: AuraCli, tmp_path: Path, fresh: bool) -> None:
    """While one `aura run` holds a run directory, a second one on it (with or without --fresh) exits 2 saying it is in use and leaves it intact."""
    brief = aura.brief(tmp_path, scenes=SCENES)
    runs = tmp_path / "runs"
    run_dir = runs / "brief"
    slow = aura.env(AURA_TP_LATENCY="1.0")
    first = aura.start("run", brief, "--plugins", "thirdparty", "--runs-dir", runs, "--json", env=slow)
    try:
        _wait_for_event(first, "run_started")
        second = aura.run(
            "run", brief, "--plugins", "thirdparty", "--runs-dir", runs, *(["--fresh"] if fresh else [])
        )
        holder_files = sorted(p.name for p in run_dir.iterdir())
    finally:
        _stop(first)
    assert second.returncode == 2, second.stderr
    lines = second.stderr.splitlines()
    assert len(lines) == 1, second.stderr
    assert lines[0].startswith(f"aura: error: {run_dir}: ")
    assert "in use" in lines[0]
    assert {"brief.toml", "journal.sqlite", "lock"} <= set(holder_files)
    assert first.returncode == 130
    assert aura.report(run_dir)["state"] == "cancelled"  # the first run's own record, not the second's
