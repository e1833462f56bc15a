"""``aura run --plugins openai,ffmpeg`` renders a real video with every model call served by the local server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import pytest

AURA = Path(sys.executable).parent / "aura"


def brief_text(base_url: str | None) -> str:
    """A tiny brief whose script, voice and pictures all come from the ``openai`` providers.

    With ``base_url`` None the brief names no server, so the one in ``OPENAI_BASE_URL`` is used.
    """
    server = "" if base_url is None else f'base_url = "{base_url}"'
    return f"""
[brief]
topic = "How honeybees tell each other where the flowers are"
aspect = "16:9"

[plan]
duration = "5s"
scenes = 3

[render]
resolution = "160x90"
fps = 10
captions = "off"

[providers]
llm = ["openai"]
tts = ["openai"]
image = ["openai"]
composer = ["ffmpeg"]

[providers.openai]
{server}
model = "test-llm"
tts_model = "test-tts"
image_model = "gpt-image-1"
"""


@pytest.mark.skipif(not AURA.exists(), reason="the aura command is not installed")
@pytest.mark.parametrize("named_by", ["brief", "OPENAI_BASE_URL"])
def test_aura_run_renders_a_video_from_the_local_server(
    fake_openai: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, named_by: str
) -> None:
    """The CLI loads only openai and ffmpeg, calls the server for script, speech and images, and writes an MP4;
    the server is named by the brief's base_url, or only by ``OPENAI_BASE_URL`` in the environment."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    if named_by == "brief":
        monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    else:
        monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.url)
    brief = tmp_path / "bees.toml"
    brief.write_text(brief_text(fake_openai.url if named_by == "brief" else None))
    runs = tmp_path / "runs"
    done = subprocess.run(
        [str(AURA), "run", str(brief), "--plugins", "openai,ffmpeg", "--runs-dir", str(runs)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    videos = sorted(runs.glob("*/final.mp4"))
    assert len(videos) == 1, list(runs.rglob("*"))
    with av.open(str(videos[0])) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (160, 90)
        assert container.streams.audio, "the narration is missing"
        frames = sum(1 for _ in container.decode(video=0))
        duration = float(container.duration or 0) / av.time_base
    spoken = sum(fake_openai.audio_samples) / 24_000
    assert len(fake_openai.asked("/v1/chat/completions")) == 1
    assert len(fake_openai.audio_samples) == 3
    assert len(fake_openai.asked("/v1/images/generations")) == 3
    assert duration >= spoken  # every scene's speech fits in the video
    assert frames >= int(spoken * 10)
    report = json.loads((videos[0].parent / "report.json").read_text())
    usage = {kind: report["providers"][kind][0]["usage"] for kind in ("llm", "tts", "image")}
    assert report["providers"]["llm"][0]["name"] == "openai"
    assert (usage["llm"]["tokens_in"], usage["llm"]["tokens_out"]) == fake_openai.usage
    spoken_text = [str(r.json["input"]) for r in fake_openai.asked("/v1/audio/speech")]
    assert usage["tts"]["characters"] == sum(len(text) for text in spoken_text)
    assert usage["image"]["images"] == 3
