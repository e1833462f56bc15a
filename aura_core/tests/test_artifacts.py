"""The read-only ``ArtifactIndex`` and the locked ``RunStore`` built on it; the dry run reads through an index only."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aura_core import Picture, Pipeline, SceneDraft, UserError
from aura_core.artifacts import ArtifactIndex
from aura_core.dryrun import dry_run
from aura_core.planning import plan_script
from aura_core.runner import script_request
from aura_core.store import RunStore
from aura_core.testing.fakes import write_gradient_png

from .conftest import fake_providers as fakes
from .conftest import make_spec

DRAFTS = (SceneDraft(heading="Bees", narration="Bees dance.", visual_prompt="a hive"),)
SCRIPT = script_request(make_spec(), plan_script(make_spec()))


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder`` with its size and modification time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    """A run in progress: its store open (the run's lock held) with a picture and a script committed."""
    run = RunStore(tmp_path / "run")
    made = run.temp_path(".png")
    write_gradient_png(made, 8, 8, seed=1)
    picture = Picture(path=made, width=8, height=8, source="fake", license="CC0")
    run.commit(run.key("fake", "fp", picture), "image", "fake", picture)
    run.commit_value(run.key("fake", "fp", SCRIPT), "llm", "fake", DRAFTS)
    yield run
    run.close()


def picture_key(store: RunStore) -> tuple[str, Picture]:
    """The stored picture's key and its result as the store gives it."""
    (key,) = [k for k, kind in store._sql("SELECT key, kind FROM artifacts").fetchall() if kind == "image"]
    found = store.lookup(key, Picture)
    assert found is not None
    return key, found


def test_the_index_reads_a_locked_run_and_writes_nothing(store: RunStore, tmp_path: Path) -> None:
    """While the run holds its lock, an index over a copy of its journal finds every result, with the same
    keys and the same values as the store, and leaves the run directory as it was."""
    key, picture = picture_key(store)
    script_key = store.key("fake", "fp", SCRIPT)
    (tmp_path / "scratch").mkdir()
    before = tree(store.run_dir)

    index = ArtifactIndex.snapshot(store.run_dir, tmp_path / "scratch")
    try:
        assert index.key("fake", "fp", SCRIPT) == script_key
        assert index.lookup(key, Picture) == picture
        assert index.lookup(script_key, tuple[SceneDraft, ...]) == DRAFTS
        assert index.lookup("0" * 40, Picture) is None
        assert index.calls_saved == 2
        with pytest.raises(UserError, match="in use by another aura process"):
            RunStore(store.run_dir)  # the lock is still the run's: the index took none
    finally:
        index.close()
    assert tree(store.run_dir) == before


def test_the_index_leaves_a_damaged_result_alone_where_the_store_repairs_it(store: RunStore) -> None:
    """A corrupt artifact or an unreadable row is "not stored" for both; only the store drops it (row and file)."""
    key, picture = picture_key(store)
    picture.path.write_bytes(b"not the picture that was stored")
    script_key = store.key("fake", "fp", SCRIPT)
    store._sql("UPDATE artifacts SET result = '{not json' WHERE key = ?", (script_key,))
    before = tree(store.run_dir)

    # over the run's own journal, opened read-only: a write would raise
    journal = sqlite3.connect(f"{store.journal.as_uri()}?mode=ro", uri=True, isolation_level=None)
    index = ArtifactIndex(store.run_dir, journal)
    try:
        assert index.lookup(key, Picture) is None
        assert index.lookup(script_key, tuple[SceneDraft, ...]) is None
        assert index.calls_saved == 0
    finally:
        index.close()
    assert tree(store.run_dir) == before
    assert len(store._sql("SELECT key FROM artifacts").fetchall()) == 2

    assert store.lookup(key, Picture) is None
    assert store.lookup(script_key, tuple[SceneDraft, ...]) is None
    assert store._sql("SELECT key FROM artifacts").fetchall() == []
    assert not picture.path.exists()


def test_a_damaged_journal_copy_is_the_runs_own_user_error(tmp_path: Path) -> None:
    """A journal that is not a database: the index says so in the line a run gives."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "journal.sqlite").write_bytes(b"garbage" * 1000)
    (tmp_path / "scratch").mkdir()
    with pytest.raises(UserError, match=r"journal\.sqlite: the run's journal is damaged .*--fresh"):
        ArtifactIndex.snapshot(run_dir, tmp_path / "scratch")


@pytest.mark.anyio
async def test_the_dry_run_reads_through_a_plain_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dry run of a finished run that is open elsewhere finds every result, and each key it computes is a
    plain ``ArtifactIndex``'s: no ``RunStore`` (made through its constructor or around it) that could lock or write."""
    run_dir = tmp_path / "run"
    await Pipeline(list(fakes().values())).run(make_spec(), run_dir=run_dir)
    keyed_by: list[type] = []
    key = ArtifactIndex.key

    def recorded(self: ArtifactIndex, *args: Any, **kwargs: Any) -> str:
        keyed_by.append(type(self))
        return key(self, *args, **kwargs)

    running = RunStore(run_dir)
    try:
        monkeypatch.setattr(ArtifactIndex, "key", recorded)
        plan = await dry_run(Pipeline(list(fakes().values())).registry, make_spec(), run_dir)
    finally:
        running.close()
    assert set(keyed_by) == {ArtifactIndex}
    assert plan.scenes_known
    assert sum(plan.calls().values()) == 0
    assert plan.cached == {"llm": 1, "tts": 5, "image": 5, "composer": 6}


def test_the_run_store_is_the_index_of_the_run_it_owns(tmp_path: Path) -> None:
    """Keys and read-only lookups are the index's: the store adds the lock, the writes and the repairs."""
    assert issubclass(RunStore, ArtifactIndex)
    run = RunStore(tmp_path / "run")
    try:
        with sqlite3.connect(":memory:") as db:
            index = ArtifactIndex(tmp_path / "run", db)
            assert index.key("p", "f", SCRIPT) == run.key("p", "f", SCRIPT)
            assert (index.run_dir, index.artifacts, index.journal) == (
                run.run_dir,
                run.artifacts,
                run.journal,
            )
    finally:
        run.close()
