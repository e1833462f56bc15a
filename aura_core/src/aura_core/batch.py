"""Many briefs, several at once: each its own run directory; one failed brief does not stop the others.

```python
pipeline = Pipeline.from_entry_points(runs_dir="runs")
results = await run_batch(pipeline, find_briefs([Path("briefs/")]), concurrency=4)
print(summary_table(results))
```
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import anyio
from attrs import frozen
from loguru import logger

from aura_core.errors import AuraError, BriefError, UserError
from aura_core.loader import load_brief
from aura_core.logs import redact
from aura_core.pipeline import EventHandler, Pipeline, run_dir_for, run_id_for
from aura_core.specs import BriefFile


@frozen
class BriefResult:
    """How one brief of a batch ended: ``state`` is succeeded or failed; ``seconds`` its wall time."""

    brief: Path
    state: str
    seconds: float
    run_dir: Path | None = None
    video: Path | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the brief made its video."""
        return self.state == "succeeded"


def find_briefs(paths: Iterable[Path]) -> list[Path]:
    """The brief files named by ``paths``: files as given, folders by their ``*.toml`` files (sorted).

    Raises ``UserError`` for a path that does not exist, a folder with no brief, or two briefs that
    would share a run directory (the run id is the file's name).
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.toml") if p.is_file())
            if not inside:
                raise UserError(f"{path}: no brief files (*.toml) in this folder")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise UserError(f"{path}: no such brief file or folder")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    by_run: dict[str, Path] = {}
    for brief in unique:
        run_id = _run_id(brief)
        if run_id in by_run:
            raise UserError(
                f"{by_run[run_id]} and {brief} would share the run directory {run_id!r}: rename one of them"
            )
        by_run[run_id] = brief
    return unique


def _run_id(brief: Path) -> str:
    """The run id ``aura run`` would give this brief (from its file name; the file is not read here)."""
    return run_id_for(cast(BriefFile, SimpleNamespace(source=brief)))  # run_id_for reads only ``source``


async def run_batch(
    pipeline: Pipeline,
    briefs: Sequence[Path],
    *,
    concurrency: int = 2,
    fresh: bool = False,
    on_result: Callable[[BriefResult], Any] | None = None,
    on_event: EventHandler | None = None,
) -> list[BriefResult]:
    """Run every brief with ``pipeline``, at most ``concurrency`` at once; results in the order given.

    A brief that fails (a bad brief file, a provider failing for good, a bug) is recorded as failed
    and the others go on. Cancelling the batch cancels the runs in progress (their work is kept).
    ``on_result`` is told as each brief ends.
    """
    if concurrency < 1:
        raise UserError(f"--concurrency: expected at least 1, got {concurrency}")
    limiter = anyio.CapacityLimiter(concurrency)
    results: list[BriefResult | None] = [None] * len(briefs)

    async def one(index: int, brief: Path) -> None:
        async with limiter:
            result = await _run_one(pipeline, brief, fresh=fresh, on_event=on_event)
        results[index] = result
        if on_result is not None:
            on_result(result)

    async with anyio.create_task_group() as group:
        for index, brief in enumerate(briefs):
            group.start_soon(one, index, brief)
    return [r for r in results if r is not None]


async def _run_one(
    pipeline: Pipeline, brief: Path, *, fresh: bool, on_event: EventHandler | None
) -> BriefResult:
    started = time.monotonic()
    run_dir: Path | None = None

    def failed(message: str) -> BriefResult:
        return BriefResult(
            brief, "failed", time.monotonic() - started, run_dir=run_dir, error=redact(message)
        )

    try:
        spec = load_brief(brief)
        run_dir = run_dir_for(spec, pipeline.runs_dir)
        video = await pipeline.run(spec, run_dir=run_dir, fresh=fresh, on_event=on_event)
    except BriefError as exc:
        return failed("; ".join(exc.problems))
    except AuraError as exc:
        return failed(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except Exception as exc:  # noqa: BLE001 - a bug in one brief's providers must not stop the batch
        logger.opt(exception=exc).error("{}: failed with an unexpected error", brief)
        return failed(f"{type(exc).__name__}: {exc}")
    return BriefResult(brief, "succeeded", time.monotonic() - started, run_dir=run_dir, video=video.path)


def summary_table(results: Sequence[BriefResult], wall_seconds: float | None = None) -> str:
    """A plain-text table: brief, state, duration, video path or error; then totals and wall time."""
    rows = [("brief", "state", "time", "video or error")]
    for r in results:
        rows.append((r.brief.name, r.state, f"{r.seconds:.1f}s", str(r.video) if r.ok else r.error or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    ]
    succeeded = sum(r.ok for r in results)
    total = f"{succeeded} of {len(results)} succeeded, {len(results) - succeeded} failed"
    if wall_seconds is not None:
        total += f", wall time {wall_seconds:.1f}s"
    return "\n".join([*lines, total])


__all__ = ["BriefResult", "find_briefs", "run_batch", "summary_table"]
