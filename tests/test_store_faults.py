"""The run directory under damage and faults, with the real CLI and the real offline plugins.

A damaged journal or shared-cache index, an unreadable stored row, a deleted lock file, a full disk:
each ends in one line on stderr (or none), never a traceback, and the finished work is kept.
The full-disk test mounts small tmpfs filesystems in a user and mount namespace (``unshare -rm``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import pytest

if TYPE_CHECKING:
    from conftest import AuraCli

AURA = Path(sys.executable).with_name("aura")

BRIEF = """\
[brief]
topic = "Why the sky is blue"

[plan]
duration = "6s"
scenes = 2

[render]
resolution = "320x180"
fps = 10
captions = "off"

[providers]
llm = ["template"]
tts = ["piper"]
image = ["cards"]
composer = ["ffmpeg"]
"""


def _env(**extra: str) -> dict[str, str]:
    """This process's environment without aura settings (no shared cache unless asked), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURA_")}
    env.update(extra)
    return env


def aura_cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``aura`` to completion."""
    return subprocess.run(
        [str(AURA), *map(str, args)],
        env=env if env is not None else _env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_brief(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``aura run`` the small offline brief in ``folder`` (runs under ``folder/runs``)."""
    brief = folder / "sky.toml"
    if not brief.exists():
        brief.write_text(BRIEF, encoding="utf-8")
    return aura_cli("run", brief, "--plugins", "local,ffmpeg", "--runs-dir", folder / "runs", *args, env=env)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The only stderr line of ``result`` (no traceback)."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def video_seconds(path: Path) -> float:
    """The decoded duration of a video file's video stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the brief and its finished run (copied by each test that damages it)."""
    folder = tmp_path_factory.mktemp("finished")
    result = run_brief(folder)
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture
def copy(finished: Path, tmp_path: Path) -> Path:
    """A copy of the finished folder this test may damage."""
    target = tmp_path / "copy"
    shutil.copytree(finished, target)
    return target


def _truncate(journal: Path) -> None:
    journal.write_bytes(journal.read_bytes()[: journal.stat().st_size // 2])


def _garble(journal: Path) -> None:
    journal.write_bytes(b"this is not a SQLite database, just bytes\n" * 200)


@pytest.mark.parametrize("damage", [_garble, _truncate], ids=["garbage", "truncated"])
def test_a_damaged_journal_is_one_line_naming_it_and_fresh_starts_over(copy: Path, damage: Any) -> None:
    """A journal of garbage bytes or cut in half: exit 2, one line naming it and --fresh (the dry run too), the video kept; --fresh then works."""
    run_dir = copy / "runs" / "sky"
    video = (run_dir / "final.mp4").read_bytes()
    damage(run_dir / "journal.sqlite")
    result = run_brief(copy)
    assert result.returncode == 2, result.stderr
    line = one_line(result)
    assert line.startswith(f"aura: error: {run_dir / 'journal.sqlite'}: the run's journal is damaged")
    assert "--fresh" in line
    dry = run_brief(copy, "--dry-run")
    assert dry.returncode == 2, dry.stderr
    assert one_line(dry) == line
    assert (run_dir / "final.mp4").read_bytes() == video  # finished work kept
    again = run_brief(copy, "--fresh")
    assert again.returncode == 0, again.stderr
    assert video_seconds(run_dir / "final.mp4") > 5


def test_an_unreadable_stored_row_is_made_again(copy: Path) -> None:
    """Speech rows whose result is not JSON, or JSON of another shape: dropped and remade, no error; the rest is reused."""
    run_dir = copy / "runs" / "sky"
    with sqlite3.connect(run_dir / "journal.sqlite") as db:
        keys = [k for (k,) in db.execute("SELECT key FROM artifacts WHERE kind = 'tts' ORDER BY key")]
        assert len(keys) == 2
        db.execute("UPDATE artifacts SET result = '{not json' WHERE key = ?", (keys[0],))
        db.execute("UPDATE artifacts SET result = '{\"path\": [1, 2]}' WHERE key = ?", (keys[1],))
    result = run_brief(copy)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr and "Traceback" not in result.stderr
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert [p["calls"] for p in report["providers"]["tts"]] == [2]  # both voices made again
    assert [p["calls"] for p in report["providers"]["image"]] == [0]  # the pictures reused
    assert video_seconds(run_dir / "final.mp4") > 5


def test_a_damaged_shared_cache_index_warns_once_and_the_run_goes_on(tmp_path: Path) -> None:
    """AURA_CACHE_DIR with an index of garbage: the run warns once (naming it) and makes its video; `aura cache info` is exit 2, one line."""
    cache = tmp_path / "cache"
    cache.mkdir()
    index = cache / "index.sqlite"
    index.write_bytes(b"garbage, not an index\n" * 100)
    env = _env(AURA_CACHE_DIR=str(cache))
    result = run_brief(tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    line = one_line(result)
    assert line.startswith(f"aura: warning: {index}: the shared cache index is damaged")
    assert line.endswith("this run goes on without the shared cache")
    assert video_seconds(tmp_path / "runs" / "sky" / "final.mp4") > 5
    info = aura_cli("cache", "info", env=env)
    assert info.returncode == 2, info.stderr
    assert one_line(info).startswith(f"aura: error: {index}: the shared cache index is damaged")


def test_deleting_the_lock_file_does_not_let_a_second_process_wipe_a_running_run(
    aura: AuraCli, tmp_path: Path
) -> None:
    """A run in progress (a real process), its `lock` file deleted: a second `aura run --fresh` is still refused (exit 2) and wipes nothing."""
    brief = aura.brief(tmp_path, scenes=2)
    runs = tmp_path / "runs"
    run_dir = runs / "brief"
    # This checkout's code (PYTHONPATH as the tests run) with the test plugins' site after it.
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH", ""), str(aura.site)) if p)
    slow = aura.env(AURA_TP_LATENCY="1.0", PYTHONPATH=path)
    first = aura.start("run", brief, "--plugins", "thirdparty", "--runs-dir", runs, "--json", env=slow)
    try:
        assert first.stdout is not None
        started = next((line for line in first.stdout if json.loads(line)["event"] == "run_started"), None)
        assert started is not None, first.stderr
        (run_dir / "lock").unlink()
        second = aura.run(
            "run",
            brief,
            "--plugins",
            "thirdparty",
            "--runs-dir",
            runs,
            "--fresh",
            env=aura.env(PYTHONPATH=path),
        )
        left = {p.name for p in run_dir.iterdir()}
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert second.returncode == 2, second.stderr
    line = one_line(second)
    assert line.startswith(f"aura: error: {run_dir}: this run is in use by another aura process")
    assert {"brief.toml", "journal.sqlite", "run.log"} <= left
    assert first.returncode == 130
    assert aura.report(run_dir)["state"] == "cancelled"  # the first run's own record, not the second's


def _namespaces_work(tmp_path: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    done = subprocess.run(
        ["unshare", "-rm", "mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(probe)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


#: tmpfs sizes from "not even the journal fits" to "the whole run fits" (a run takes about 1.5 MB).
#: Between about 1.5 and 3 MB the soundtrack's ffmpeg is what fills the disk: that one is found by
#: ffmpeg's own "No space left on device" line, which needs the composer to keep ffmpeg's error lines.
DISK_SIZES = ["16k", "64k", "256k", "1m", "2m", "3m", "16m"]

_FULL_DISK_SCRIPT = """\
set -u
mount -t tmpfs -o size={size} tmpfs {disk}
{aura} run {brief} --plugins local,ffmpeg --runs-dir {disk}/runs > {out}/first.out 2> {out}/first.err
echo $? > {out}/first.rc
cp -a {disk}/runs {out}/failed 2>/dev/null
mount -o remount,size=64m {disk}
if grep -q "aura resume" {out}/first.err; then
    {aura} resume {disk}/runs/sky > {out}/then.out 2> {out}/then.err
else
    {aura} run {brief} --plugins local,ffmpeg --runs-dir {disk}/runs > {out}/then.out 2> {out}/then.err
fi
echo $? > {out}/then.rc
cp -a {disk}/runs/sky/final.mp4 {out}/final.mp4 2>/dev/null
exit 0
"""


@pytest.mark.parametrize("size", DISK_SIZES)
def test_a_full_disk_at_any_level_is_one_line_and_the_run_then_finishes(tmp_path: Path, size: str) -> None:
    """`--runs-dir` on a tmpfs of `size`: exit 1 with `no space left on device under … free space, then …` (or 0), one line, a sound journal; with space again, resume (or run) finishes."""
    if not _namespaces_work(tmp_path):
        pytest.skip("unshare -rm with a tmpfs mount is not permitted here")
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    brief = tmp_path / "sky.toml"
    brief.write_text(BRIEF, encoding="utf-8")
    script = _FULL_DISK_SCRIPT.format(size=size, disk=disk, out=out, aura=AURA, brief=brief)
    subprocess.run(["unshare", "-rm", "sh", "-c", script], env=_env(), check=True, timeout=600)
    first_rc = int((out / "first.rc").read_text())
    first_err = (out / "first.err").read_text()
    assert first_rc in {0, 1}, first_err
    if first_rc == 1:
        line = one_line(subprocess.CompletedProcess([], first_rc, "", first_err))
        run_dir = disk / "runs" / "sky"
        assert line.startswith(f"aura: error: no space left on device under {run_dir}: free space, then ")
        assert line.endswith((f"aura resume {run_dir}", "run the brief again"))
        journal = out / "failed" / "sky" / "journal.sqlite"
        if journal.exists():
            with sqlite3.connect(journal) as db:
                assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    else:
        assert "Traceback" not in first_err and "error" not in first_err, first_err
    then_err = (out / "then.err").read_text()
    assert int((out / "then.rc").read_text()) == 0, then_err
    assert "Traceback" not in then_err
    assert video_seconds(out / "final.mp4") > 5
