"""A full ``aura run --plugins sd,local,ffmpeg`` whose pictures come from a local WebUI server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import pytest

AURA = Path(sys.executable).with_name("aura")

BRIEF = """\
[brief]
topic = "How honeybees tell each other where the flowers are"
aspect = "16:9"

[plan]
duration = "4s"
scenes = 2

[render]
resolution = "160x90"
fps = 10
captions = "off"

[providers]
llm = ["template"]
tts = ["piper"]
image = ["sd"]
composer = ["ffmpeg"]

[providers.sd]
backend = "webui"
url = "{url}"
steps = 8
"""


@pytest.mark.skipif(not AURA.exists(), reason="the aura command is not installed in this environment")
def test_aura_run_renders_a_video_with_webui_pictures(webui: Any, tmp_path: Path) -> None:
    """Two scenes, each illustrated by the WebUI server at 768x512, become a 160x90 video that plays."""
    brief = tmp_path / "bees.toml"
    brief.write_text(BRIEF.format(url=webui.url))
    env = {k: v for k, v in os.environ.items() if k != "AURA_LOAD_PLUGINS"}
    command = [
        str(AURA),
        "run",
        str(brief),
        "--plugins",
        "sd,local,ffmpeg",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--out",
        str(tmp_path / "bees.mp4"),
    ]
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    calls = webui.calls("/sdapi/v1/txt2img")
    assert len(calls) == 2
    assert {(c.json["width"], c.json["height"]) for c in calls} == {(768, 512)}
    assert len({c.json["seed"] for c in calls}) == 2  # the core gives each scene its own seed

    with av.open(str(tmp_path / "bees.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (160, 90)
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        duration = float(container.duration or 0) / av.time_base
    assert len(frames) >= 20
    assert duration > 2.0
    # The WebUI's picture is red top-left and yellow bottom-right: a frame early in scene one shows that.
    frame = frames[3]
    red = frame[20, 35]
    yellow = frame[70, 125]
    assert red[0] > 150 and red[1] < 100 and red[2] < 100, red
    assert yellow[0] > 150 and yellow[1] > 150 and yellow[2] < 100, yellow

    (report_path,) = (tmp_path / "runs").glob("*/report.json")
    report = json.loads(report_path.read_text())
    (image,) = report["providers"]["image"]
    assert (image["name"], image["calls"], image["usage"]) == ("sd", 2, {"images": 2.0})
    assert [scene["picture_provider"] for scene in report["scenes"]] == ["sd", "sd"]

    # Fixed seeds and a stable fingerprint: running the brief again finds both pictures in the store.
    again = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert len(webui.calls("/sdapi/v1/txt2img")) == 2
