"""A user's own script (``scriptfile``) is taken as written: the plan's scene count and word target do not judge it.

Real runs of the `aura` CLI with the offline plugins: the script file is read, Piper speaks it, ffmpeg renders it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest

AURA = Path(sys.executable).with_name("aura")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

TWO_SCENES = """\
# Honeybees
## The dance
Bees dance to tell the hive where the flowers are.
[visual: a honeybee dancing on a comb]
## The direction
The angle of the dance points the way to the food.
"""

BRIEF = """\
[brief]
topic = "Honeybees"

[plan]
{plan}

[render]
resolution = "320x180"
fps = 10
captions = "off"

[providers]
llm = ["scriptfile"]
tts = ["piper"]
image = ["cards"]
composer = ["ffmpeg"]

[providers.scriptfile]
path = "script.md"
"""


def _run(brief: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AURA), "run", str(brief), "--plugins", "local,ffmpeg", "--runs-dir", str(brief.parent / "runs")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _video_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base)


@pytest.mark.parametrize(("plan", "planned"), [("", 8), ('duration = "2m"', 15)], ids=["default-60s", "2m"])
def test_a_two_scene_script_renders_as_written_whatever_the_plan(
    tmp_path: Path, plan: str, planned: int
) -> None:
    """Two scenes on a plan of 8 (60 s) or 15 (2 min): the run succeeds at the first call with the user's 2 scenes."""
    (tmp_path / "script.md").write_text(TWO_SCENES, encoding="utf-8")
    brief = tmp_path / "bees.toml"
    brief.write_text(BRIEF.format(plan=plan), encoding="utf-8")
    result = _run(brief)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "runs" / "bees"
    report = json.loads((run / "report.json").read_text())
    assert report["plan"]["scene_count"] == planned
    assert [s["heading"] for s in report["scenes"]] == ["The dance", "The direction"]
    assert report["providers"]["llm"][0]["calls"] == 1
    assert report["providers"]["llm"][0]["retries"] == 0
    timeline = sum(s["duration"] for s in report["scenes"])
    assert _video_seconds(run / "final.mp4") == pytest.approx(timeline, abs=0.15)


def test_the_shipped_example_renders_with_a_two_minute_plan(tmp_path: Path) -> None:
    """examples/brought-script.toml (5 scenes) with duration = "2m" (15 planned) renders its 5 scenes."""
    (tmp_path / "brought-script.md").write_bytes((EXAMPLES / "brought-script.md").read_bytes())
    text = (EXAMPLES / "brought-script.toml").read_text(encoding="utf-8")
    assert "[plan]\n" in text and 'preset = "720p"' in text and 'captions = "burn"' in text
    text = text.replace("[plan]\n", '[plan]\nduration = "2m"\n')
    # a small render keeps the test fast; the plan is what is under test
    text = text.replace('preset = "720p"', 'resolution = "320x180"').replace("fps = 30", "fps = 10")
    text = text.replace('captions = "burn"', 'captions = "off"')
    brief = tmp_path / "brought-script.toml"
    brief.write_text(text, encoding="utf-8")
    result = _run(brief)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "runs" / "brought-script" / "report.json").read_text())
    assert report["plan"]["scene_count"] == 15
    assert len(report["scenes"]) == 5


@pytest.mark.parametrize(("byte", "code"), [(b"\x00", "U+0000"), (b"\x1b", "U+001B"), (b"\x7f", "U+007F")])
def test_a_control_character_in_the_script_is_one_line_naming_file_and_line(
    tmp_path: Path, byte: bytes, code: str
) -> None:
    """A NUL (or another control character) on line 3 of the script: exit 2, one line naming script.md:3, no traceback."""
    lines = TWO_SCENES.encode().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"tell", b"tell" + byte)
    (tmp_path / "script.md").write_bytes(b"".join(lines))
    brief = tmp_path / "bees.toml"
    # a plan of two scenes: only the control character can stop this run, on any version of the plan check
    brief.write_text(BRIEF.format(plan='duration = "8s"\nscenes = 2'), encoding="utf-8")
    result = _run(brief)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("aura: error:")]
    assert errors == [
        f"aura: error: script.md:3: a control character ({code}) in the script; "
        "remove it and save the file as plain text"
    ]
