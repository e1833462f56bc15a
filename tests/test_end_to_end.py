"""End to end, offline: the default plugins (template, piper, cards, ffmpeg) render a real video.

The real Piper voice speaks, the real ffmpeg renders; the result is checked by probing and decoding it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import av
import numpy as np
import pytest

AURA = Path(sys.executable).with_name("aura")

BRIEF = """\
[brief]
topic = "Why the sky is blue"
aspect = "16:9"

[plan]
duration = "12s"
scenes = 2

[render]
resolution = "192x108"
fps = 12
captions = "burn"

[providers]
llm = ["template"]
tts = ["piper"]
image = ["cards"]
composer = ["ffmpeg"]
"""


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real offline run, shared by the checks below."""
    folder = tmp_path_factory.mktemp("e2e")
    brief = folder / "sky.toml"
    brief.write_text(BRIEF, encoding="utf-8")
    result = subprocess.run(
        [
            str(AURA),
            "run",
            str(brief),
            "--plugins",
            "local,ffmpeg",
            "--runs-dir",
            str(folder / "runs"),
            "--out",
            str(folder / "sky.mp4"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return folder


def test_the_video_has_the_asked_size_fps_streams_and_the_narrations_length(finished_run: Path) -> None:
    """Probe: 192x108 at 12 fps, H.264 video and AAC audio, as long as the measured speech plus pauses."""
    report = json.loads((finished_run / "runs" / "sky" / "report.json").read_text())
    assert report["state"] == "succeeded"
    assert [p["name"] for p in report["providers"]["tts"]] == ["piper"]
    with av.open(str(finished_run / "sky.mp4")) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (192, 108)
        assert float(video.average_rate) == pytest.approx(12.0, abs=0.01)
        assert container.streams.audio, "no narration track"
        duration = float(container.duration or 0) / 1_000_000
    scenes = report["scenes"]
    assert len(scenes) == 2
    expected = scenes[-1]["start"] + scenes[-1]["duration"]
    assert duration == pytest.approx(expected, abs=0.15)
    for scene in scenes:
        assert scene["speech_seconds"] > 1.0  # Piper really spoke the narration
        assert scene["duration"] >= scene["speech_seconds"]


def test_the_narration_is_piper_speech_not_silence(finished_run: Path) -> None:
    """The decoded audio is loud while the scenes are spoken, and the voice artifacts are real WAVs."""
    with av.open(str(finished_run / "sky.mp4")) as container:
        samples = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 0.01
    wavs = sorted((finished_run / "runs" / "sky" / "artifacts").glob("*.wav"))
    assert len(wavs) == 2
    with wave.open(str(wavs[0])) as wav:
        assert wav.getnframes() / wav.getframerate() > 1.0


def test_decoded_frames_move_and_show_the_title_cards(finished_run: Path) -> None:
    """Frames are not blank, and the first and last frame of scene 1 differ (the Ken Burns move)."""
    report = json.loads((finished_run / "runs" / "sky" / "report.json").read_text())
    first_scene_end = report["scenes"][0]["duration"] - 0.6  # before the transition begins
    with av.open(str(finished_run / "sky.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]
    assert all(frame.std() > 5 for frame in frames[::6])
    last_of_scene = frames[int(first_scene_end * 12) - 1]
    assert np.abs(frames[0] - last_of_scene).mean() > 2.0


def test_captions_are_written_beside_the_video(finished_run: Path) -> None:
    """The SRT sidecar holds the narration the template wrote."""
    srt = (finished_run / "runs" / "sky" / "final.srt").read_text(encoding="utf-8")
    assert "-->" in srt
    assert "sky" in srt.lower()
