"""Measuring a clip: ``aura_core.probe_clip`` against reading every packet of the file.

``probe_clip`` reads the header, decodes the first frame (for the display rotation) and demuxes only
the last two seconds of packets (to tell a truncated file). The baseline demuxes every packet, the
simplest way to see that a file is whole. Clips are H.264 1080p at 30 fps made by the bundled ffmpeg
(imageio-ffmpeg), 10 s and 60 s long, one key frame every 2 s, about 4 Mbit/s.

The goal: a 60 s 1080p clip measured in under 50 ms, whatever its length.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import av
import imageio_ffmpeg
from _common import header, row

from aura_core import probe_clip


def make_clip(path: Path, seconds: int) -> None:
    """A 1920x1080 H.264 test pattern of ``seconds`` at 30 fps."""
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "4M", "-g", "60", "-pix_fmt", "yuv420p",
            str(path),
        ],
        check=True,
    )  # fmt: skip


def read_every_packet(path: Path) -> float:
    """The baseline: the stream's end as its last packet gives it, every packet demuxed."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        end = 0
        for packet in container.demux(stream):
            if packet.pts is not None:
                end = max(end, packet.pts + (packet.duration or 0))
        assert stream.time_base is not None
        return float(end * stream.time_base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    header("Measuring a 1080p clip", "python bench/probe.py", args.repeats)
    with tempfile.TemporaryDirectory() as folder:
        for seconds in (10, 60):
            clip = Path(folder) / f"clip-{seconds}.mp4"
            make_clip(clip, seconds)
            size = clip.stat().st_size / 1024**2
            probe_clip(clip, source="bench", license="none")  # PyAV imported and the file in the page cache
            for label, measure in (
                ("probe_clip", lambda c=clip: probe_clip(c, source="bench", license="none")),
                ("every packet demuxed", lambda c=clip: read_every_packet(c)),
            ):
                times = []
                for _ in range(args.repeats):
                    started = time.perf_counter()
                    measure()
                    times.append((time.perf_counter() - started) * 1000)
                goal = "< 50 ms" if label == "probe_clip" else ""
                row(f"{seconds} s clip ({size:.0f} MiB): {label}", times, "ms", goal, fmt=".1f")


if __name__ == "__main__":
    main()
