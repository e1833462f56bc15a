"""Problems found before any paid call: the real CLI with the offline plugins (template, piper, cards,
ffmpeg) refuses a brief whose render settings the ffmpeg composer cannot render, before the script is
written or a voice speaks, and its dry run says so too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

AURA = Path(sys.executable).with_name("aura")

BRIEF = """\
[brief]
topic = "Why the sky is blue"

[plan]
duration = "12s"
scenes = 2

[render]
resolution = "192x108"
fps = 12
{extra}

[providers]
llm = ["template"]
tts = ["piper"]
image = ["cards"]
composer = ["ffmpeg"]
"""

#: A render setting the composer cannot render, and what the one line on stderr must say.
CASES = {
    "transition": ('transition = "wipe"', 'render.transition: unknown transition "wipe"; expected one of'),
    "music": (
        'music = "song.mp3"',
        "render.music: {folder}/song.mp3 is not audio ffmpeg can read (Invalid data found when processing input)",
    ),
}


def aura(folder: Path, case: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """``aura run`` on a brief with the ``case`` setting, in ``folder`` (with a music file of random bytes)."""
    (folder / "song.mp3").write_bytes(bytes(range(256)) * 16)
    brief = folder / "sky.toml"
    brief.write_text(BRIEF.format(extra=CASES[case][0]), encoding="utf-8")
    return subprocess.run(
        [
            str(AURA),
            "run",
            str(brief),
            "--plugins",
            "local,ffmpeg",
            "--runs-dir",
            str(folder / "runs"),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_render_setting_ffmpeg_cannot_render_stops_the_run_before_any_call(
    tmp_path: Path, case: str
) -> None:
    """Exit 2 with one line naming the brief and the key, no traceback; no result was made (the script
    was not written, no voice spoke) and no video exists."""
    folder = tmp_path.resolve()  # the brief's paths are reported resolved
    result = aura(folder, case, "--out", str(folder / "sky.mp4"))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    expected = CASES[case][1].format(folder=folder)
    assert len(lines) == 1 and lines[0].startswith(f"aura: error: {folder / 'sky.toml'}: {expected}"), lines
    run = folder / "runs" / "sky"
    assert not [p for p in (run / "artifacts").rglob("*") if p.is_file()]
    assert "run started" not in (run / "run.log").read_text(encoding="utf-8")
    assert not (folder / "sky.mp4").exists() and not (run / "final.mp4").exists()


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_dry_run_names_a_render_setting_ffmpeg_cannot_render(tmp_path: Path, case: str) -> None:
    """``--dry-run`` exits 2: the plan says it cannot run, and the one error line names the problem."""
    folder = tmp_path.resolve()
    result = aura(folder, case, "--dry-run")
    assert result.returncode == 2, result.stderr
    expected = CASES[case][1].format(folder=folder)
    assert f"cannot run: {expected}" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"aura: error: {expected}"), lines
    assert "Traceback" not in result.stderr
