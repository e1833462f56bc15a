"""`make bench`: every benchmark, side by side, printing ratios (see docs/benchmarks.md)."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}\n", flush=True)
    for name in ("pipeline.py", "render.py"):
        path = HERE / name
        if not path.exists():
            continue
        print(f"== bench/{name} ==", flush=True)
        sys.argv = [str(path)]
        runpy.run_path(str(path), run_name="__main__")
        print(flush=True)


if __name__ == "__main__":
    main()
