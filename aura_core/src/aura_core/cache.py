"""The optional shared artifact cache: results reused across runs and briefs on this machine.

Off unless ``AURA_CACHE=on`` (kept in the user cache directory) or ``AURA_CACHE_DIR=PATH``.
Entries are the run store's own (key, result, files with checksums); files are hard-linked
when the cache and the run share a filesystem, copied otherwise. ``aura cache info|prune``.

The cache only saves work: a run whose cache index is damaged, or whose cache cannot be written
(a full disk), warns once and goes on without it. ``aura cache`` itself reports a damaged index
as a user error naming the file.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

from attrs import frozen
from loguru import logger

from aura_core.errors import UserError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, provider TEXT NOT NULL, result TEXT NOT NULL,
    files TEXT NOT NULL, size INTEGER NOT NULL, created REAL NOT NULL, used REAL NOT NULL
);
"""


def cache_dir_from_env() -> Path | None:
    """Where the shared cache lives, or None when it is off."""
    explicit = os.environ.get("AURA_CACHE_DIR", "").strip()
    if explicit:
        return None if explicit.lower() == "off" else Path(explicit).expanduser()
    if os.environ.get("AURA_CACHE", "").strip().lower() in {"1", "on", "yes", "true"}:
        import platformdirs

        return Path(platformdirs.user_cache_dir("aura"))
    return None


def link_or_copy(source: Path, target: Path) -> None:
    """Put ``source`` at ``target`` atomically: a hard link when possible, else a copy."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


@frozen
class CacheEntry:
    """One cached result as the run store keeps it."""

    kind: str
    provider: str
    result: str
    files: list[tuple[str, str]]


def damaged_database(exc: sqlite3.Error) -> bool:
    """Whether SQLite failed because the file is not a database or its pages are damaged."""
    code = getattr(exc, "sqlite_errorcode", None)
    # The low byte of an extended code (SQLITE_CORRUPT_INDEX…) is its primary code.
    return code is not None and (code & 0xFF) in {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


def open_shared_cache(root: Path) -> SharedCache | None:
    """The shared cache at ``root`` for a run, or None (with one warning) when it cannot be used."""
    try:
        return SharedCache(root)
    except (UserError, OSError, sqlite3.Error) as exc:
        logger.warning("{}; this run goes on without the shared cache", _why(root, exc))
        return None


def _why(root: Path, exc: BaseException) -> str:
    return str(exc) if isinstance(exc, UserError) else f"shared cache {root}: {exc}"


class SharedCache:
    """A folder of artifacts and an index, shared by every run that turns it on.

    A damaged index raises ``UserError`` when opened. Once open, a read or write that fails
    (damage found later, a full disk) turns the cache off for this object, with one warning.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.artifacts = root / "artifacts"
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.index = root / "index.sqlite"
        self._off = False
        self._db = sqlite3.connect(self.index, isolation_level=None, timeout=30)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            problem = self._db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.Error as exc:
            self._db.close()
            if not damaged_database(exc):
                raise  # not damage: a full disk, a read-only folder
            problem = str(exc)
        if problem != "ok":
            self._db.close()
            raise UserError(
                f"{self.index}: the shared cache index is damaged ({problem}); delete it to start the cache "
                "empty, or turn the cache off with AURA_CACHE_DIR=off"
            )

    def _give_up(self, exc: BaseException) -> None:
        """Stop using the cache after a failed read or write; the run goes on and makes what it needs."""
        self._off = True
        logger.warning("{}; the shared cache is off for the rest of this run", _why(self.root, exc))

    def get(self, key: str) -> CacheEntry | None:
        """The entry for ``key`` if every file of it is still here (None, too, once the cache is off)."""
        if self._off:
            return None
        try:
            return self._get(key)
        except (OSError, sqlite3.Error, ValueError, TypeError) as exc:
            self._give_up(exc)
            return None

    def _get(self, key: str) -> CacheEntry | None:
        row = self._db.execute(
            "SELECT kind, provider, result, files FROM entries WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        files = [tuple(f) for f in json.loads(row[3])]
        if not all((self.artifacts / name).is_file() for name, _digest in files):
            self._db.execute("DELETE FROM entries WHERE key = ?", (key,))
            return None
        self._db.execute("UPDATE entries SET used = ? WHERE key = ?", (time.time(), key))
        return CacheEntry(row[0], row[1], row[2], files)

    def put(self, key: str, entry: CacheEntry, source_dir: Path) -> None:
        """Keep ``entry``, linking its files from ``source_dir`` (nothing, once the cache is off)."""
        if self._off:
            return
        try:
            self._put(key, entry, source_dir)
        except (OSError, sqlite3.Error) as exc:
            self._give_up(exc)

    def _put(self, key: str, entry: CacheEntry, source_dir: Path) -> None:
        size = 0
        for name, _digest in entry.files:
            target = self.artifacts / name
            if not target.exists():
                link_or_copy(source_dir / name, target)
            size += target.stat().st_size
        now = time.time()
        self._db.execute(
            "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, entry.kind, entry.provider, entry.result, json.dumps(entry.files), size, now, now),
        )

    def info(self) -> dict[str, Any]:
        """Where the cache is, how many entries and bytes, by kind."""
        rows = self._db.execute(
            "SELECT kind, COUNT(*), COALESCE(SUM(size), 0) FROM entries GROUP BY kind"
        ).fetchall()
        by_kind = {kind: {"entries": count, "bytes": size} for kind, count, size in rows}
        return {
            "path": str(self.root),
            "entries": sum(v["entries"] for v in by_kind.values()),
            "bytes": sum(v["bytes"] for v in by_kind.values()),
            "by_kind": by_kind,
        }

    def prune(self, *, older_than: float | None = None, max_bytes: int | None = None) -> tuple[int, int]:
        """Drop entries unused for ``older_than`` seconds, then the least recently used past ``max_bytes``.

        Returns (entries removed, bytes freed). With neither limit, everything goes.
        """
        rows = self._db.execute("SELECT key, files, size, used FROM entries ORDER BY used ASC").fetchall()
        total = sum(r[2] for r in rows)
        now = time.time()
        doomed = []
        for key, files, size, used in rows:
            everything = older_than is None and max_bytes is None
            stale = older_than is not None and now - used > older_than
            over = max_bytes is not None and total > max_bytes
            if everything or stale or over:
                doomed.append((key, files, size))
                total -= size
        freed = 0
        for key, files, size in doomed:
            self._db.execute("DELETE FROM entries WHERE key = ?", (key,))
            for name, _digest in json.loads(files):
                still_used = self._db.execute(
                    "SELECT 1 FROM entries WHERE files LIKE ?", (f'%"{name}"%',)
                ).fetchone()
                if still_used is None:
                    (self.artifacts / name).unlink(missing_ok=True)
            freed += size
        return len(doomed), freed

    def close(self) -> None:
        """Close the index."""
        self._db.close()
