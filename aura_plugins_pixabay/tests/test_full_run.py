"""A full ``aura run --plugins pixabay,local,ffmpeg`` whose pictures come from a local server speaking the
Pixabay wire format: the real CLI in a subprocess, the offline voice, the real ffmpeg."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import pytest

from aura_core import OPTIONAL_MEMBERS, Picture
from aura_core.artifacts import ArtifactIndex

AURA = Path(sys.executable).with_name("aura")

BRIEF = """\
[brief]
topic = "How honeybees tell each other where the flowers are"
aspect = "16:9"

[plan]
duration = "6s"
scenes = 3

[render]
resolution = "160x90"
fps = 10
captions = "off"

[providers]
llm = ["template"]
tts = ["piper"]
image = ["pixabay"]
composer = ["ffmpeg"]

[providers.pixabay]
url = "{url}"
"""


def run_aura(brief: Path, runs: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AURA_LOAD_PLUGINS"}
    command = [
        str(AURA),
        "run",
        str(brief),
        "--plugins",
        "pixabay,local,ffmpeg",
        "--runs-dir",
        str(runs),
        *extra,
    ]
    return subprocess.run(
        command, cwd=brief.parent, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def stored_pictures(run: Path) -> list[Picture]:
    """Each scene's picture as the run stored it (what the report's credits are made from), by scene."""
    report = json.loads((run / "report.json").read_text())
    scratch = run.parent / f"{run.name}-scratch"
    scratch.mkdir()
    index = ArtifactIndex.snapshot(run, scratch)
    pictures = []
    for scene in sorted(report["scenes"], key=lambda s: s["index"]):
        assert scene["picture_provider"] == "pixabay"
        picture = index.lookup(Path(scene["picture"]).stem, Picture)
        assert picture is not None
        pictures.append(picture)
    return pictures


def frame_colours(video: Path, times: list[float]) -> list[tuple[int, int, int]]:
    """The colour at the centre-right of the frame shown at each of ``times``."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (160, 90)
        frames = [(float(f.time), f.to_ndarray(format="rgb24")) for f in container.decode(stream)]
    colours = []
    for at in times:
        _, image = min(frames, key=lambda tf: abs(tf[0] - at))
        r, g, b = (int(v) for v in image[45, 120])
        colours.append((r, g, b))
    return colours


@pytest.mark.skipif(not AURA.exists(), reason="the aura command is not installed in this environment")
def test_aura_run_renders_a_video_of_pixabay_photos_and_a_rerun_picks_the_same(
    pixabay: Any, tmp_path: Path
) -> None:
    """Three scenes, three different landscape Pixabay photos for the prompt's keywords, each stored with its
    author, page and licence; the video shows each photo in its scene; a second run (another run
    folder, nothing cached) gives each scene the same photo."""
    pixabay.videos = []  # photos, whether or not the composer takes clips
    brief = tmp_path / "bees.toml"
    brief.write_text(BRIEF.format(url=pixabay.url))
    done = run_aura(brief, tmp_path / "runs", "--out", str(tmp_path / "bees.mp4"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    searches = pixabay.http.calls("/api/")
    assert {s.args["q"] for s in searches} == {"honeybees flowers"}
    assert {s.args["orientation"] for s in searches} == {"horizontal"}
    assert {s.args["key"] for s in searches} == {pixabay.key}

    pictures = stored_pictures(tmp_path / "runs" / "bees")
    by_link = {pixabay.photo_hit(p)["pageURL"]: p for p in pixabay.photos}
    chosen = [by_link[p.link] for p in pictures]
    assert len({p["id"] for p in chosen}) == 3  # never the same photo twice in one video
    assert all(p["width"] > p["height"] for p in chosen)
    for picture, photo in zip(pictures, chosen, strict=True):
        assert (picture.author, picture.license, picture.width, picture.height) == (
            f"user{photo['id']}",
            "Pixabay Content License",
            160,
            90,
        )

    report = json.loads((tmp_path / "runs" / "bees" / "report.json").read_text())
    middles = [s["start"] + s["duration"] / 2 for s in sorted(report["scenes"], key=lambda s: s["index"])]
    for shown, photo in zip(frame_colours(tmp_path / "bees.mp4", middles), chosen, strict=True):
        assert all(abs(a - b) <= 25 for a, b in zip(shown, photo["colour"], strict=True)), (
            shown,
            photo["colour"],
        )

    again = run_aura(brief, tmp_path / "again")
    assert again.returncode == 0, again.stderr[-3000:]
    assert [p.link for p in stored_pictures(tmp_path / "again" / "bees")] == [p.link for p in pictures]


@pytest.mark.skipif(not AURA.exists(), reason="the aura command is not installed in this environment")
@pytest.mark.skipif(
    "clips" not in OPTIONAL_MEMBERS,
    reason="this core does not offer illustrators clips yet (branch clipscore)",
)
def test_aura_run_plays_pixabay_clips_and_credits_them(pixabay: Any, tmp_path: Path) -> None:
    """The composer takes clips: three scenes play the three landscape Pixabay videos (the portrait one is
    left out), each credited in report.json, report.html and the credits file beside the video."""
    brief = tmp_path / "bees.toml"
    brief.write_text(
        BRIEF.format(url=pixabay.url).replace('captions = "off"', 'captions = "off"\ncredits = true')
    )
    done = run_aura(brief, tmp_path / "runs", "--out", str(tmp_path / "bees.mp4"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    (search,) = pixabay.http.calls("/api/videos/")
    assert search.args["q"] == "honeybees flowers"
    run = tmp_path / "runs" / "bees"
    report = json.loads((run / "report.json").read_text())
    scenes = sorted(report["scenes"], key=lambda s: s["index"])
    assert [s["visual"] for s in scenes] == ["clip"] * 3
    by_link = {pixabay.video_hit(v)["pageURL"]: v for v in pixabay.videos}
    chosen = [by_link[s["credit"]["link"]] for s in scenes]
    assert {v["id"] for v in chosen} == {201, 202, 204}
    for scene, video in zip(scenes, chosen, strict=True):
        assert scene["credit"]["author"] == f"filmer{video['id']}"
        assert (scene["credit"]["source"], scene["credit"]["license"]) == (
            "pixabay",
            "Pixabay Content License",
        )
    credits = (tmp_path / "bees.credits.txt").read_text()
    page = (run / "report.html").read_text()
    for video in chosen:
        assert f"filmer{video['id']}" in credits and f"filmer{video['id']}" in page

    middles = [s["start"] + s["duration"] / 2 for s in scenes]
    for shown, video in zip(frame_colours(tmp_path / "bees.mp4", middles), chosen, strict=True):
        assert all(abs(a - b) <= 30 for a, b in zip(shown, video["colour"], strict=True)), (
            shown,
            video["colour"],
        )
