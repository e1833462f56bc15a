"""Helpers shared by the bench scripts: summaries over repeated runs and peak RSS of a process tree."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

MIB = 1024 * 1024


def cores() -> int:
    """The machine's core count (what every table states)."""
    return os.cpu_count() or 1


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """(min, median, max) of repeated measurements."""
    return min(values), statistics.median(values), max(values)


def header(title: str, command: str, repeats: int) -> None:
    """The first lines of a table: what was measured, the command, the cores and the repeat count."""
    print(title)
    print(f"command: {command}   cores: {cores()}   runs: {repeats} (min / median / max)")


def row(label: str, values: Sequence[float], unit: str, goal: str = "", fmt: str = ".2f") -> None:
    """One table row: label, min / median / max with unit, and a goal column."""
    lo, mid, hi = spread(values)
    cells = f"{lo:{fmt}} / {mid:{fmt}} / {hi:{fmt}} {unit}"
    print(f"  {label:<44}{cells:<34}{goal}")


def tree_rss(process: psutil.Process) -> tuple[int, int, int, int]:
    """Resident memory in bytes of (a process and all its children, the process alone, its largest
    child, how many children), all 0 once it has exited."""
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0, 0, 0, 0
    sizes = []
    for member in members:
        try:
            sizes.append(member.memory_info().rss)
        except psutil.Error:
            sizes.append(0)
    return sum(sizes), sizes[0], max(sizes[1:], default=0), len(sizes) - 1


def peak_rss_of(
    argv: Sequence[str],
    interval: float = 0.02,
    stderr: Path | None = None,
    tree: Callable[[psutil.Process], tuple[int, int, int, int]] = tree_rss,
    stdout: Path | None = None,
) -> tuple[float, int, int]:
    """Run ``argv`` to completion; returns (wall seconds, peak RSS of its tree in bytes, exit code).

    The tree is sampled every ``interval`` seconds, so a child living less than that can be missed.
    ``stderr`` and ``stdout`` (files) get the child's output; ``tree`` takes one sample (``tree_rss``, or a variant
    that leaves some children out). ``PEAKS`` then holds the peaks of the parts: the process alone, its
    largest child, the child count.
    """
    started = time.perf_counter()
    with open(stderr or os.devnull, "w") as errors, open(stdout or os.devnull, "w") as output:
        child = psutil.Popen(list(argv), stdout=output, stderr=errors)
        peaks = [0, 0, 0, 0]
        while child.poll() is None:
            peaks = [max(a, b) for a, b in zip(peaks, tree(child), strict=True)]
            time.sleep(interval)
    PEAKS.update(process=peaks[1], largest_child=peaks[2], children=peaks[3])
    return time.perf_counter() - started, peaks[0], int(child.returncode)


#: The parts of the last ``peak_rss_of`` measurement.
PEAKS: dict[str, int] = {}
