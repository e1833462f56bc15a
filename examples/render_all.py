"""Render every brief in examples/ into out/ with the offline default plugins (what `make demo` runs).

Prints, per brief, the probed size, fps, duration and the wall time it took.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def probe(path: Path) -> str:
    """Size, fps and duration of a video as PyAV reads them from the file."""
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = float(container.duration or 0) / 1_000_000
        return (
            f"{video.codec_context.width}x{video.codec_context.height} @ {float(video.average_rate or 0):g} fps, "
            f"{duration:.2f} s, audio: {audio.codec_context.name if audio else 'none'}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the videos")
    parser.add_argument(
        "briefs", nargs="*", type=Path, help="briefs to render (default: every examples/*.toml)"
    )
    args = parser.parse_args()
    briefs = args.briefs or sorted(HERE.glob("*.toml"))
    args.out.mkdir(parents=True, exist_ok=True)
    aura = Path(sys.executable).with_name("aura")
    failed = 0
    for brief in briefs:
        target = args.out / f"{brief.stem}.mp4"
        started = time.monotonic()
        result = subprocess.run(
            [
                str(aura),
                "run",
                str(brief),
                "--plugins",
                "local,ffmpeg",
                "--out",
                str(target),
                "--runs-dir",
                str(args.out / "runs"),
            ],
            check=False,
        )
        seconds = time.monotonic() - started
        if result.returncode != 0:
            print(f"FAILED  {brief.name} (exit {result.returncode})", flush=True)
            failed += 1
            continue
        print(f"{target}: {probe(target)}; rendered in {seconds:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
