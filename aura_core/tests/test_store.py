"""The run store under damage: the lock, an unreadable stored row, a damaged journal or cache index, a full disk."""

from __future__ import annotations

import errno
import json
import sqlite3
from pathlib import Path

import pytest

from aura_core import Pipeline, RunFailed, UserError
from aura_core.store import RunStore, out_of_space, raise_if_out_of_space

from .conftest import fake_providers as fakes
from .conftest import make_spec


def test_the_lock_holds_when_its_file_is_deleted(tmp_path: Path) -> None:
    """The lock is on the run directory itself: with `lock` deleted, a second store on the folder is still refused."""
    first = RunStore(tmp_path / "run")
    try:
        (tmp_path / "run" / "lock").unlink()
        with pytest.raises(UserError, match="in use by another aura process"):
            RunStore(tmp_path / "run", fresh=True)
        assert (tmp_path / "run" / "journal.sqlite").is_file()  # nothing wiped
    finally:
        first.close()
    RunStore(tmp_path / "run").close()  # free again once the first is closed


@pytest.mark.anyio
@pytest.mark.parametrize(
    "garble",
    ["{not json", '{"path": [1, 2]}', "[]"],
    ids=["not-json", "wrong-field", "wrong-shape"],
)
async def test_a_stored_row_that_cannot_be_read_is_made_again(tmp_path: Path, garble: str) -> None:
    """A voice's stored result garbled: the run drops the row and calls the voice again, for that scene only."""
    await Pipeline(list(fakes().values())).run(make_spec(), run_dir=tmp_path / "run")
    with sqlite3.connect(tmp_path / "run" / "journal.sqlite") as db:
        key = db.execute("SELECT key FROM artifacts WHERE kind = 'tts' ORDER BY key").fetchone()[0]
        db.execute("UPDATE artifacts SET result = ? WHERE key = ?", (garble, key))
    again = fakes()
    video = await Pipeline(list(again.values())).run(make_spec(), run_dir=tmp_path / "run")
    assert again["tts"].calls == 1
    assert again["image"].calls == 0
    assert video.path.is_file()


@pytest.mark.anyio
async def test_a_damaged_journal_is_a_user_error_and_fresh_starts_over(tmp_path: Path) -> None:
    """A journal of garbage: UserError naming it and --fresh; a fresh run then works in the same folder."""
    await Pipeline(list(fakes().values())).run(make_spec(), run_dir=tmp_path / "run")
    journal = tmp_path / "run" / "journal.sqlite"
    journal.write_bytes(b"garbage" * 1000)
    with pytest.raises(UserError, match=r"journal\.sqlite: the run's journal is damaged .*--fresh"):
        await Pipeline(list(fakes().values())).run(make_spec(), run_dir=tmp_path / "run")
    video = await Pipeline(list(fakes().values())).run(make_spec(), run_dir=tmp_path / "run", fresh=True)
    assert video.path.is_file()


@pytest.mark.anyio
async def test_a_damaged_shared_cache_index_is_left_out_of_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AURA_CACHE_DIR whose index is garbage: the run makes everything itself and finishes."""
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "index.sqlite").write_bytes(b"garbage" * 1000)
    monkeypatch.setenv("AURA_CACHE_DIR", str(tmp_path / "cache"))
    made = fakes()
    video = await Pipeline(list(made.values())).run(make_spec(), run_dir=tmp_path / "run")
    assert video.path.is_file()
    assert made["tts"].calls == 5
    assert json.loads((tmp_path / "run" / "report.json").read_text())["state"] == "succeeded"


def test_what_counts_as_a_full_disk(tmp_path: Path) -> None:
    """ENOSPC (with its file's folder), SQLite's full database, a tool's text: a full disk; a user error or another OSError is not."""
    enospc = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "x.wav"))
    assert out_of_space(enospc, tmp_path) == tmp_path / "run"
    assert out_of_space(sqlite3.OperationalError("database or disk is full"), tmp_path) == tmp_path
    wrapped = RunFailed("voice of scene 1 failed")
    wrapped.__cause__ = enospc
    assert out_of_space(ExceptionGroup("run", [wrapped]), tmp_path) == tmp_path / "run"
    assert out_of_space(UserError("No space left on device"), tmp_path) is None
    assert out_of_space(OSError(errno.EACCES, "Permission denied"), tmp_path) is None  # plenty of space here
    (tmp_path / "run").mkdir()
    with pytest.raises(
        RunFailed, match=r"^no space left on device under .*: free space, then run the brief again$"
    ):
        raise_if_out_of_space(enospc, tmp_path / "run")
    (tmp_path / "run" / "brief.toml").write_text("")
    with pytest.raises(RunFailed, match=r"free space, then aura resume .*run$"):
        raise_if_out_of_space(enospc, tmp_path / "run")
