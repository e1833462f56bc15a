"""A run killed with SIGKILL at any moment resumes to the same video, never paying twice for finished work."""

from __future__ import annotations

import json
import signal
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from .conftest import AuraCli

SCENES = 6

#: Where to kill: after the n-th ``item_done`` of a stage (or the first ``item_started`` of assembly).
MOMENTS = [
    ("script-streaming", "item_done", "voice", 1),
    ("voices", "item_done", "voice", 3),
    ("pictures", "item_done", "visuals", 4),
    ("segments", "item_done", "segments", 2),
    ("assembly", "item_started", "assembly", 1),
]


def call_counts(log: Path) -> Counter[str]:
    """Finished provider calls by request, from the plugin's call log (both processes)."""
    return Counter(log.read_text(encoding="utf-8").splitlines()) if log.exists() else Counter()


def journal_states(run_dir: Path) -> Counter[str]:
    """How many journal items are in each state."""
    with sqlite3.connect(run_dir / "journal.sqlite") as db:
        return Counter(state for (state,) in db.execute("SELECT state FROM items"))


@pytest.fixture(scope="module")
def clean_video(aura: AuraCli, tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, int]:
    """An uninterrupted run's video and its number of provider calls."""
    folder = tmp_path_factory.mktemp("clean")
    log = folder / "calls.log"
    brief = aura.brief(folder, scenes=SCENES)
    result = aura.run("run", brief, "--runs-dir", folder / "runs", env=aura.env(AURA_TP_CALL_LOG=str(log)))
    assert result.returncode == 0, result.stderr
    return (folder / "runs" / "brief" / "final.mp4").read_bytes(), sum(call_counts(log).values())


@pytest.mark.parametrize(("moment", "event", "stage", "nth"), MOMENTS, ids=[m[0] for m in MOMENTS])
def test_sigkill_then_resume_gives_the_same_video_without_redoing_finished_calls(
    aura: AuraCli,
    tmp_path: Path,
    clean_video: tuple[bytes, int],
    moment: str,
    event: str,
    stage: str,
    nth: int,
) -> None:
    """Kill ``aura run`` at ``moment``; ``aura resume`` ends with the clean run's video.

    Every call the journal had finished at the kill is never made again: only calls that were in
    flight (journal state ``running``) may be made twice.
    """
    expected, clean_calls = clean_video
    log = tmp_path / "calls.log"
    env = aura.env(AURA_TP_CALL_LOG=str(log), AURA_TP_LATENCY="0.15")
    brief = aura.brief(tmp_path, scenes=SCENES)
    run_dir = tmp_path / "runs" / "brief"
    process = aura.start("run", brief, "--runs-dir", tmp_path / "runs", "--json", env=env)
    assert process.stdout is not None
    seen = 0
    for line in process.stdout:
        data = json.loads(line)
        if data["event"] == event and data.get("stage") == stage:
            seen += 1
            if seen == nth:
                process.send_signal(signal.SIGKILL)
                break
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, f"the run ended before the {moment} kill point"
    assert not (run_dir / "final.mp4").exists()
    states = journal_states(run_dir)
    in_flight = states["running"]
    before = call_counts(log)

    resumed = aura.run("resume", run_dir, env=aura.env(AURA_TP_CALL_LOG=str(log)))
    assert resumed.returncode == 0, resumed.stderr
    assert (run_dir / "final.mp4").read_bytes() == expected

    after = call_counts(log)
    made_again = sum(after.values()) - clean_calls
    assert made_again <= in_flight + (1 if moment == "script-streaming" else 0)
    assert max(after.values()) <= 2
    report = aura.report(run_dir)
    assert report["state"] == "succeeded"
    if states["done"]:
        assert report["calls_saved"] >= states["done"] - 1
    assert sum(before.values()) > 0
