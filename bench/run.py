"""`make bench`: every benchmark, side by side, printing ratios (see docs/benchmarks.md).

``python bench/run.py`` runs them all; ``python bench/run.py memory resume`` runs only those.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Issue 10's rows, in order: pipeline overlap, render, memory, overhead and cold start, resume; then
#: issue 19's memory of the offline voice on long unpunctuated text; issue 20's streaming tail; issue 21's
#: footage (moving clips).
BENCHES = ("pipeline", "render", "memory", "overhead", "resume", "piper_memory", "tail", "footage")


def main() -> None:
    """Run the benchmarks named on the command line (default: all), each with its default settings."""
    wanted = sys.argv[1:] or list(BENCHES)
    unknown = sorted(set(wanted) - set(BENCHES))
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHES)}")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}\n", flush=True)
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    for name in BENCHES:
        path = HERE / f"{name}.py"
        if name not in wanted or not path.exists():
            continue
        print(f"== bench/{path.name} ==", flush=True)
        sys.argv = [str(path)]
        runpy.run_path(str(path), run_name="__main__")
        print(flush=True)


if __name__ == "__main__":
    main()
