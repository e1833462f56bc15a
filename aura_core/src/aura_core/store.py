"""The run directory: a checkpoint journal (SQLite, WAL) and content-addressed artifacts, locked and written.

Every provider result is stored under a key hashed from (provider name, fingerprint, request)
(``ArtifactIndex.key``, the read-only side in ``aura_core.artifacts``).
A provider writes into ``tmp/``; ``commit`` fsyncs the file, renames it to ``artifacts/<key>…``,
records its SHA-256, and only then writes the journal row. ``lookup`` re-checks the checksum, so a
corrupt or truncated artifact is re-made, never used. Also here: atomic writes and telling a full disk.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import attrs
from loguru import logger

from aura_core.artifacts import SCHEMA, ArtifactIndex, Damage, damaged_journal, file_digest
from aura_core.cache import CacheEntry, SharedCache, damaged_database, link_or_copy
from aura_core.errors import RunFailed, UserError

T = TypeVar("T")

#: Below this much free space, a run that failed on a write is taken to have failed for want of space:
#: SQLite reports some full-disk writes only as "disk I/O error", ffmpeg as an exit code.
_LOW_SPACE = 1 << 20

#: The texts that say "full disk" when no errno comes with them (ffmpeg's stderr, SQLite's SQLITE_FULL).
_NO_SPACE_TEXTS = ("No space left on device", "Disk quota exceeded", "database or disk is full")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file, fsync, rename); a failed write leaves nothing behind."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a half-written temporary file would hold on to the space that ran out
        raise


def _free_bytes(path: Path) -> int | None:
    """Free space (for an unprivileged writer) on the filesystem holding ``path`` or its nearest existing parent."""
    for folder in (path, *path.parents):
        try:
            stat = os.statvfs(folder)
        except OSError:
            continue
        return stat.f_bavail * stat.f_frsize
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, what it was raised from or during, and the members of exception groups, each once."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def out_of_space(exc: BaseException, where: Path) -> Path | None:
    """The folder that ran out of space if ``exc`` comes from a full disk (``where`` when no path is known), else None.

    A full disk shows as ``ENOSPC``/``EDQUOT``, as SQLite's "database or disk is full", as a line of a
    tool's output, or only as a failed write while the filesystem under ``where`` is (nearly) full.
    A user's mistake is never one.
    """
    if isinstance(exc, UserError):
        return None
    for current in _chain(exc):
        if isinstance(current, OSError) and current.errno in {errno.ENOSPC, errno.EDQUOT}:
            return Path(current.filename).parent if isinstance(current.filename, str) else where
        if any(text in str(current) for text in _NO_SPACE_TEXTS):
            return where
    free = _free_bytes(where)
    return where if free is not None and free < _LOW_SPACE else None


def raise_if_out_of_space(exc: Exception, run_dir: Path) -> None:
    """Raise the one line for a run stopped by a full disk (a fault: exit 1), if ``exc`` comes from one.

    The line says where to free space and how to go on; the finished work stays in ``run_dir``.
    """
    full = out_of_space(exc, run_dir)
    if full is None:
        return
    then = f"aura resume {run_dir}" if (run_dir / "brief.toml").is_file() else "run the brief again"
    raise RunFailed(f"no space left on device under {full}: free space, then {then}") from exc


def _path_fields(result: Any) -> Iterator[tuple[str, Path]]:
    for f in attrs.fields(type(result)):
        value = getattr(result, f.name)
        if isinstance(value, Path):
            yield f.name, value


def _lock(run_dir: Path) -> int:
    """Take the run's lock: an ``flock`` on the run directory itself, which no one can delete under us.

    (A lock on a file in the folder is gone the moment someone removes that file: a second process
    would then make a new one, lock it, and ``--fresh`` would wipe the running run.) ``lock`` only
    tells a refused process which pid holds the run.
    """
    fd = os.open(run_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        try:
            holder = (run_dir / "lock").read_text(encoding="utf-8").strip()
        except OSError:
            holder = ""
        raise UserError(
            f"{run_dir}: this run is in use by another aura process (pid {holder or 'unknown'}); "
            "wait for it to finish"
        ) from None
    try:
        (run_dir / "lock").write_text(str(os.getpid()), encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_journal(journal: Path) -> sqlite3.Connection:
    """Open (or make) the journal; a damaged one is a user error that names it and says what to do."""
    db = sqlite3.connect(journal, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        # A truncated file or a damaged page may open fine and fail on a later read: check it all now
        # (the journal is small: a few hundred rows).
        problem = db.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise damaged_journal(journal, problem)
    except sqlite3.Error as exc:
        db.close()
        if damaged_database(exc):
            raise damaged_journal(journal, str(exc)) from None
        raise
    return db


def _wipe(run_dir: Path) -> None:
    """Remove everything in the run directory but ``lock`` (the directory itself stays: it is locked)."""
    for entry in run_dir.iterdir():
        if entry.name == "lock":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


class RunStore(ArtifactIndex):
    """One run directory, locked for the lifetime of this object (a second process is refused): the run's
    ``ArtifactIndex``, and the one writer of its artifacts and journal.

    ``fresh``: start the run over (as ``reset``), before the journal is opened, so a corrupt one goes too.
    """

    def __init__(self, run_dir: Path, shared: SharedCache | None = None, *, fresh: bool = False) -> None:
        run_dir = run_dir.resolve()
        self.shared = shared
        self.tmp = run_dir / "tmp"
        run_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock(run_dir)
        try:
            if fresh:
                _wipe(run_dir)
            for folder in (run_dir / "artifacts", self.tmp):
                folder.mkdir(exist_ok=True)
            super().__init__(run_dir, _open_journal(run_dir / "journal.sqlite"))
        except BaseException:
            os.close(self._lock_fd)
            raise

    # -- artifacts ----------------------------------------------------------------------------

    def temp_path(self, suffix: str) -> Path:
        """A fresh path in ``tmp/`` for a provider to write to."""
        return self.tmp / f"{uuid.uuid4().hex}{suffix}"

    def lookup(self, key: str, result_type: type[T]) -> T | None:
        """The stored result for ``key`` if it is complete and every file's checksum still matches.

        Unlike the read-only index, the run's store repairs what it finds: a result of the shared cache
        is brought into the run, and a row that cannot be read or has a missing or corrupt file is
        dropped (with the file) so that the result is made again.
        """
        row = self._row(key)
        if row is None and self.shared is not None:
            row = self._adopt_shared(key)
        if row is None:
            return None
        checked = self._check(row, self.artifacts, result_type)
        if isinstance(checked, Damage):
            if checked.file is None:
                # Like a file whose checksum fails: the row is dropped and the result made again.
                logger.warning(
                    "stored result {} cannot be read ({}): it will be made again", key, checked.reason
                )
            else:
                logger.warning("artifact {} is {}: it will be made again", checked.file.name, checked.reason)
            self._sql("DELETE FROM artifacts WHERE key = ?", (key,))
            if checked.file is not None:
                checked.file.unlink(missing_ok=True)
            return None
        self.calls_saved += 1
        return checked

    def _adopt_shared(self, key: str) -> tuple[str, str] | None:
        """Bring a result another run made into this run (files linked in, journal row written)."""
        assert self.shared is not None
        entry = self.shared.get(key)
        if entry is None:
            return None
        for name, digest in entry.files:
            target = self.artifacts / name
            link_or_copy(self.shared.artifacts / name, target)
            if file_digest(target) != digest:
                logger.warning("shared cache entry {} is corrupt: it will be made again", name)
                target.unlink(missing_ok=True)
                return None
        files = json.dumps(entry.files)
        self._sql(
            "INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?, ?, ?, ?)",
            (key, entry.kind, entry.provider, entry.result, files, time.time()),
        )
        return entry.result, files

    def commit(self, key: str, kind: str, provider: str, result: T) -> T:
        """Move the result's files into ``artifacts/`` under ``key``, then journal it; returns the moved result."""
        moved, files = self.place_files(key, result)
        self._record(key, kind, provider, moved, files)
        return moved

    async def commit_async(self, key: str, kind: str, provider: str, result: T) -> T:
        """``commit`` with the file work (fsync, checksum, rename) in a worker thread, so commits overlap."""
        moved, files = await anyio.to_thread.run_sync(self.place_files, key, result)
        self._record(key, kind, provider, moved, files)  # the journal row only once the files are in place
        return moved

    def place_files(self, key: str, result: T) -> tuple[T, list[tuple[str, str]]]:
        """Fsync, checksum and rename the result's files from ``tmp/`` into ``artifacts/`` (no journal; thread-safe)."""
        moved: dict[str, Path] = {}
        files: list[tuple[str, str]] = []
        for field_name, path in _path_fields(result):
            if path.parent != self.tmp:
                continue  # a file the provider did not make here (a user's picture): keep it where it is
            name = f"{key}{'' if field_name == 'path' else '-' + field_name}{path.suffix}"
            target = self.artifacts / name
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            os.replace(path, target)
            moved[field_name] = target
            files.append((name, digest))
        if files:
            _fsync_dir(self.artifacts)
        return (attrs.evolve(result, **moved) if moved else result), files  # type: ignore[misc]

    def commit_value(self, key: str, kind: str, provider: str, result: Any) -> None:
        """Journal a result that has no files (a script)."""
        self._record(key, kind, provider, result, [])

    def _record(self, key: str, kind: str, provider: str, result: Any, files: list[tuple[str, str]]) -> None:
        data = self._encode(result)
        self._sql(
            "INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?, ?, ?, ?)",
            (key, kind, provider, data, json.dumps(files), time.time()),
        )
        if self.shared is not None:
            self.shared.put(key, CacheEntry(kind, provider, data, files), self.artifacts)

    # -- journal ------------------------------------------------------------------------------

    def mark(
        self, stage: str, index: int, state: str, provider: str | None = None, key: str | None = None
    ) -> None:
        """Record an item's state (running, done, failed) in the journal."""
        self._sql(
            "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?, ?)",
            (stage, index, state, provider, key, time.time()),
        )

    def items(self) -> list[tuple[str, int, str, str | None]]:
        """Every journaled item as (stage, index, state, provider)."""
        rows = self._sql("SELECT stage, idx, state, provider FROM items ORDER BY stage, idx").fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def set_meta(self, name: str, value: str) -> None:
        """Store a run-level value (state, run id, brief path)."""
        self._sql("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def get_meta(self, name: str) -> str | None:
        """A run-level value, or None."""
        row = self._sql("SELECT v FROM meta WHERE k = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def publish(self, source: Path, target: Path) -> None:
        """Put a copy of an artifact at ``target`` (a hard link when possible), atomically."""
        target.parent.mkdir(parents=True, exist_ok=True)
        link_or_copy(source, target)

    def reset(self) -> None:
        """Start the run over: remove everything but the lock file, the journal included, and open a new journal."""
        self._db.close()
        _wipe(self.run_dir)
        for folder in (self.artifacts, self.tmp):
            folder.mkdir(exist_ok=True)
        self._db = _open_journal(self.journal)

    def clean_tmp(self) -> None:
        """Remove what providers left in ``tmp/`` (partial files of cancelled or failed calls)."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(exist_ok=True)

    def close(self) -> None:
        """Close the journal and release the lock."""
        super().close()
        os.close(self._lock_fd)
        if self.shared is not None:
            self.shared.close()
