"""The read-only side of a run's store: content keys, and the results a journal holds, checked against their files.

``ArtifactIndex`` writes nothing and takes no lock. ``RunStore`` (``aura_core.store``) is the index of a
run directory it owns: it takes the run's lock, writes artifacts and journal rows, and repairs what a
lookup finds broken. ``aura run --dry-run`` reads a copy of a run's journal through a plain index
(``ArtifactIndex.snapshot``), so a run in progress is read as far as it got and nothing is created.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs
import cattrs
from attrs import frozen

from aura_core.cache import damaged_database
from aura_core.contract import Clip, Picture, Visual
from aura_core.errors import UserError
from aura_core.fields import keyed

T = TypeVar("T")

#: The journal's tables.
SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, provider TEXT NOT NULL,
    result TEXT NOT NULL, files TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    stage TEXT NOT NULL, idx INTEGER NOT NULL, state TEXT NOT NULL, provider TEXT, key TEXT,
    updated REAL NOT NULL, PRIMARY KEY (stage, idx)
);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
"""

_converter = cattrs.Converter()

#: What reading a stored row can raise when its JSON is garbled or of another shape than the result type.
_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, cattrs.BaseValidationError)


def _structure_visual(data: Any, _type: Any) -> Visual:
    """A stored visual: a row with a ``duration`` and an ``fps`` is a ``Clip``, any other a ``Picture``."""
    if isinstance(data, Mapping) and "duration" in data and "fps" in data:
        return _converter.structure(data, Clip)
    return _converter.structure(data, Picture)


_converter.register_structure_hook_func(lambda t: t == Visual, _structure_visual)


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def damaged_journal(journal: Path, problem: str) -> UserError:
    """The one line for a journal that is not a database or is damaged."""
    return UserError(
        f"{journal}: the run's journal is damaged ({problem}); start the run over with aura run BRIEF --fresh"
    )


@frozen
class Damage:
    """Why a stored result cannot be used: its row cannot be read (``file`` None), or ``file`` is missing or corrupt."""

    reason: str
    file: Path | None = None


class ArtifactIndex:
    """The keys of a run's calls and the results its journal ``db`` holds, read-only.

    A result counts only when its row reads as the result type and every file's checksum matches.
    ``shared``: the shared cache's index (opened read-only) and artifacts folder, looked up after the journal.
    """

    def __init__(
        self, run_dir: Path, db: sqlite3.Connection, *, shared: tuple[sqlite3.Connection, Path] | None = None
    ) -> None:
        self.run_dir = run_dir.resolve()
        self.artifacts = self.run_dir / "artifacts"
        self.journal = self.run_dir / "journal.sqlite"
        self._db = db
        self._shared = shared
        self._digests: dict[tuple[str, int, int], str] = {}
        #: Results found instead of being made.
        self.calls_saved = 0

    @classmethod
    def snapshot(
        cls, run_dir: Path, scratch: Path, *, read_journal: bool = True, shared_root: Path | None = None
    ) -> ArtifactIndex:
        """The index of ``run_dir`` as far as its run got, without its lock and without writing there.

        The journal (with its write-ahead log) is copied into ``scratch`` and opened there; with no
        journal, or ``read_journal`` False, the index is empty. ``shared_root``: a shared cache whose
        index, when there is one, is read too (read-only). A damaged journal is the run's own user error.
        """
        journal = run_dir.resolve() / "journal.sqlite"
        if read_journal and journal.is_file():
            for suffix in ("", "-wal"):
                source = journal.with_name(journal.name + suffix)
                if source.is_file():
                    shutil.copyfile(source, scratch / source.name)
            db = sqlite3.connect(scratch / journal.name, isolation_level=None)
        else:
            db = sqlite3.connect(":memory:", isolation_level=None)
        try:
            db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            db.close()
            if damaged_database(exc):
                raise damaged_journal(journal, str(exc)) from None  # the line a run would give
            raise
        shared = None
        if shared_root is not None and (shared_root / "index.sqlite").is_file():
            index = sqlite3.connect(f"{(shared_root / 'index.sqlite').as_uri()}?mode=ro", uri=True)
            shared = (index, shared_root / "artifacts")
        return cls(run_dir, db, shared=shared)

    def _sql(self, query: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """Run one statement on the journal; damage found only now is the same user error as at opening."""
        try:
            return self._db.execute(query, params)
        except sqlite3.DatabaseError as exc:
            if damaged_database(exc):
                raise damaged_journal(self.journal, str(exc)) from None
            raise

    # -- keys ---------------------------------------------------------------------------------

    def _canonical(self, value: Any) -> Any:
        if isinstance(value, Path):
            return self._path_identity(value)
        if attrs.has(type(value)):
            return {
                f.name: self._canonical(getattr(value, f.name))
                for f in attrs.fields(type(value))
                if keyed(f, getattr(value, f.name))
            }
        if isinstance(value, Mapping):
            return {str(k): self._canonical(v) for k, v in sorted(value.items())}
        if isinstance(value, tuple | list):
            return [self._canonical(v) for v in value]
        if isinstance(value, float):
            return round(value, 6)
        return value

    def _path_identity(self, path: Path) -> str:
        """Artifacts are named by their key already; any other file is known by its content."""
        if path.parent == self.artifacts:
            return f"artifact:{path.name}"
        try:
            stat = path.stat()
        except OSError:
            return f"missing:{path}"
        memo = (str(path), stat.st_size, stat.st_mtime_ns)
        if memo not in self._digests:
            self._digests[memo] = file_digest(path)
        return f"file:{self._digests[memo]}"

    def key(
        self, provider: str, fingerprint: str, request: Any, *, ignore: frozenset[str] = frozenset()
    ) -> str:
        """The content key of a call: provider, its fingerprint and the request (``out_path`` and ``ignore`` left out)."""
        data = self._canonical(request)
        data.pop("out_path", None)
        for dotted in ignore:
            *parents, leaf = dotted.split(".")
            node = data
            for part in parents:
                node = node.get(part, {})
            node.pop(leaf, None)
        blob = json.dumps(
            [provider, fingerprint, type(request).__name__, data], sort_keys=True, ensure_ascii=False
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:40]

    # -- results ------------------------------------------------------------------------------

    def lookup(self, key: str, result_type: type[T]) -> T | None:
        """The result stored under ``key`` (in the journal, else the shared index), or None; nothing is written.

        A row that cannot be read, or a missing or corrupt file, counts as not stored (and is left as it is).
        """
        row = self._row(key)
        folder = self.artifacts
        if row is None and self._shared is not None:
            shared_db, folder = self._shared
            try:
                row = shared_db.execute("SELECT result, files FROM entries WHERE key = ?", (key,)).fetchone()
            except sqlite3.DatabaseError:
                row = None  # a damaged index: the run would go on without the cache too
        if row is None:
            return None
        checked = self._check(row, folder, result_type)
        if isinstance(checked, Damage):
            return None  # a row the run would drop and make again
        self.calls_saved += 1
        return checked

    def _row(self, key: str) -> tuple[str, str] | None:
        """The journal's (result, files) JSON for ``key``."""
        row = self._sql("SELECT result, files FROM artifacts WHERE key = ?", (key,)).fetchone()
        return None if row is None else (row[0], row[1])

    def _check(self, row: tuple[str, str], folder: Path, result_type: type[T]) -> T | Damage:
        """A row's result if it reads as ``result_type`` and each of its files in ``folder`` matches its SHA-256."""
        decoded = self._decode(row[0], row[1], result_type)
        if isinstance(decoded, Exception):
            return Damage(str(decoded))
        files, result = decoded
        for name, digest in files:
            path = folder / name
            if not path.is_file() or file_digest(path) != digest:
                return Damage("missing or corrupt (checksum mismatch)", path)
        return result

    def _decode(
        self, result_json: str, files_json: str, result_type: type[T]
    ) -> tuple[list[tuple[str, str]], T] | Exception:
        """A journal row's files (name, SHA-256) and result, or why they cannot be read (garbled, another shape)."""
        try:
            files = [(str(name), str(digest)) for name, digest in json.loads(files_json)]
            return files, self._structure(json.loads(result_json), result_type)
        except _UNREADABLE as exc:
            return exc

    def _structure(self, data: Any, result_type: type[T]) -> T:
        def absolute(value: Any) -> Any:
            if isinstance(value, dict):
                if "__artifact__" in value:
                    return str(self.artifacts / value["__artifact__"])
                return {k: absolute(v) for k, v in value.items()}
            if isinstance(value, list):
                return [absolute(v) for v in value]
            return value

        return _converter.structure(absolute(data), result_type)

    def _encode(self, result: Any) -> str:
        """A result as the JSON of its row: paths of the run's artifacts relative to ``artifacts/`` (``_structure`` reverses it)."""

        def relative(value: Any) -> Any:
            if isinstance(value, str) and value.startswith(str(self.artifacts) + os.sep):
                return {"__artifact__": value[len(str(self.artifacts)) + 1 :]}
            if isinstance(value, dict):
                return {k: relative(v) for k, v in value.items()}
            if isinstance(value, list):
                return [relative(v) for v in value]
            return value

        return json.dumps(relative(_converter.unstructure(result)), ensure_ascii=False)

    def close(self) -> None:
        """Close the journal and the shared index."""
        self._db.close()
        if self._shared is not None:
            self._shared[0].close()
