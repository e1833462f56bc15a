"""The ``folder`` illustrator takes videos too: a moving clip when the request takes clips, the video's
middle frame otherwise; measured with the core's ``probe_clip``; a bad video named as the user knows it."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from aura_core import Clip, ImageRequest, Picture, Pipeline, UserError, parse_brief, probe_clip
from aura_core.testing import (
    FakeComposer,
    FakeScriptWriter,
    FakeVoice,
    check_provider,
    configured,
    write_test_clip,
)
from aura_plugins_local.folder import IMAGE_SUFFIXES, FolderIllustrator


def ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True, timeout=60)


def _request(
    out: Path, *, clips: bool, heading: str = "Bees in the hive", width: int = 160, height: int = 90
) -> ImageRequest:
    return ImageRequest(
        prompt="honeybees dancing on a comb",
        negative_prompt="",
        width=width,
        height=height,
        style="documentary",
        seed=7,
        out_path=out,
        heading=heading,
        duration=3.0,
        clips=clips,
    )


def _halves(path: Path, width: int = 320, height: int = 180, seconds: float = 2.0) -> None:
    """A clip whose left half is red and right half blue, as ffmpeg draws it."""
    ffmpeg(
        "-f", "lavfi", "-i", f"color=red:size={width // 2}x{height}:rate=10:duration={seconds}",
        "-f", "lavfi", "-i", f"color=blue:size={width // 2}x{height}:rate=10:duration={seconds}",
        "-filter_complex", "hstack", "-pix_fmt", "yuv420p", "-c:v", "libx264", str(path),
    )  # fmt: skip


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    Image.new("RGB", (400, 300), (30, 200, 30)).save(folder / "green-meadow-flowers.png")
    write_test_clip(folder / "honeybee-comb.mp4", 320, 180, 2.0, 25, seed=5)
    return folder


@pytest.mark.anyio
async def test_a_video_becomes_a_clip_when_the_request_takes_clips(media: Path, tmp_path: Path) -> None:
    """The best match is the video: a copy beside out_path (its own suffix), measured, credited to the file."""
    folder = configured(FolderIllustrator(), {"path": "media"}, tmp_path)
    out = tmp_path / "work" / "out.png"
    out.parent.mkdir()
    clip = await folder.generate(_request(out, clips=True))
    assert isinstance(clip, Clip)
    assert clip.path == out.with_suffix(".mp4") and not out.exists()
    assert clip.path.read_bytes() == (media / "honeybee-comb.mp4").read_bytes()
    assert (clip.width, clip.height, clip.fps) == (320, 180, 25.0)
    assert clip.duration == pytest.approx(2.0, abs=0.04)
    assert clip.source == str(media / "honeybee-comb.mp4") and clip.license == "user-supplied"
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.mp4"]  # no partial file left


@pytest.mark.anyio
async def test_without_clips_a_video_gives_its_middle_frame_as_the_picture(tmp_path: Path) -> None:
    """A composer that takes no clips: the same video is chosen, and its middle frame is cropped and
    scaled to the asked size (red left, blue right as in the video)."""
    (tmp_path / "media").mkdir()
    _halves(tmp_path / "media" / "honeybee-comb.mp4")
    folder = configured(FolderIllustrator(), {"path": "media"}, tmp_path)
    picture = await folder.generate(_request(tmp_path / "out.png", clips=False))
    assert isinstance(picture, Picture)
    assert picture.source == str(tmp_path / "media" / "honeybee-comb.mp4")
    with Image.open(picture.path) as image:
        assert image.size == (160, 90)
        pixels = np.asarray(image.convert("RGB"), dtype=int)
    assert pixels[45, 20].tolist() == pytest.approx([254, 0, 0], abs=12)
    assert pixels[45, 140].tolist() == pytest.approx([0, 0, 254], abs=12)


@pytest.mark.anyio
async def test_a_phones_portrait_video_gives_an_upright_frame(tmp_path: Path) -> None:
    """Stored landscape (red left, blue right) with a 90° display rotation, the frame is the portrait
    ffmpeg shows: rotated counter-clockwise, red at the bottom and blue at the top."""
    (tmp_path / "media").mkdir()
    stored = tmp_path / "stored.mp4"
    _halves(stored)
    ffmpeg(
        "-display_rotation", "90", "-i", str(stored), "-c", "copy", str(tmp_path / "media" / "honeybee.mp4")
    )
    shown = tmp_path / "shown.png"  # ffmpeg's own upright frame, for comparison
    ffmpeg("-ss", "1", "-i", str(tmp_path / "media" / "honeybee.mp4"), "-frames:v", "1", str(shown))
    folder = configured(FolderIllustrator(), {"path": "media"}, tmp_path)
    picture = await folder.generate(_request(tmp_path / "out.png", clips=False, width=90, height=160))
    with Image.open(picture.path) as ours, Image.open(shown) as theirs:
        ours_px = np.asarray(ours.convert("RGB"), dtype=int)
        theirs_px = np.asarray(theirs.convert("RGB").resize(ours.size), dtype=int)
    assert np.abs(ours_px - theirs_px).mean() < 8
    assert ours_px[150, 45, 0] > 200 and ours_px[10, 45, 2] > 200  # red bottom, blue top


@pytest.mark.anyio
@pytest.mark.parametrize("clips", [True, False])
async def test_a_truncated_video_is_a_user_error_naming_it(tmp_path: Path, clips: bool) -> None:
    """A video cut short in the folder stops the run with one line naming the user's file."""
    (tmp_path / "media").mkdir()
    whole = tmp_path / "whole.mp4"
    write_test_clip(whole, 160, 90, 4.0, 25)
    moved = tmp_path / "moved.mp4"
    ffmpeg("-i", str(whole), "-c", "copy", "-movflags", "+faststart", str(moved))
    bad = tmp_path / "media" / "honeybee.mp4"
    bad.write_bytes(moved.read_bytes()[: moved.stat().st_size // 2])
    folder = configured(FolderIllustrator(), {"path": "media"}, tmp_path)
    with pytest.raises(UserError) as caught:
        await folder.generate(_request(tmp_path / "out.png", clips=clips))
    message = str(caught.value)
    assert str(bad) in message and "truncated" in message and "\n" not in message
    assert not list(tmp_path.glob("out*")) and not list(tmp_path.glob(".out*"))


def _old_fingerprint(folder: Path) -> str:
    """The fingerprint as it was before videos: pictures only."""
    listing = "\n".join(
        f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
        for p in sorted(folder.iterdir())
        if p.suffix.lower() in IMAGE_SUFFIXES
    )
    return f"folder/1:{folder}:{hashlib.sha256(listing.encode()).hexdigest()[:16]}"


def test_a_folder_of_pictures_keeps_its_fingerprint_and_a_video_changes_it(tmp_path: Path) -> None:
    """Without videos the fingerprint is the one made before videos were taken (its cache stays
    valid); adding a video, which may now be chosen, changes it."""
    folder = tmp_path / "media"
    folder.mkdir()
    Image.new("RGB", (40, 30), (30, 200, 30)).save(folder / "meadow.png")
    (folder / "notes.txt").write_text("not media")
    provider = FolderIllustrator(folder)
    assert provider.fingerprint() == _old_fingerprint(folder)
    write_test_clip(folder / "bees.mp4", 32, 18, 1.0, 10)
    assert provider.fingerprint() != _old_fingerprint(folder)


def test_a_folder_of_only_videos_is_taken(tmp_path: Path) -> None:
    """A folder holding only videos is a valid folder (it held no pictures: it was refused before)."""
    (tmp_path / "media").mkdir()
    write_test_clip(tmp_path / "media" / "bees.webm.mp4", 32, 18, 1.0, 10)
    assert configured(FolderIllustrator(), {"path": "media"}, tmp_path).path == (tmp_path / "media").resolve()


@pytest.mark.anyio
async def test_the_folder_of_videos_keeps_the_contract_and_its_clip_is_measured(tmp_path: Path) -> None:
    """The contract suite asks the folder (clips = True) for a clip: the copy measures as it says."""
    folder = tmp_path / "media"
    folder.mkdir()
    write_test_clip(folder / "honeybee-dance.mp4", 96, 54, 2.0, 10, seed=1)
    report = await check_provider(FolderIllustrator(folder), tmp_path / "work")
    assert not report.failures
    decode = next(r.detail for r in report.results if r.name == "decode")
    assert "the clip measures 96x54, 2.00 s at 10 fps" in decode


@pytest.mark.anyio
async def test_a_run_with_a_composer_that_takes_clips_stores_the_users_videos_with_their_credits(
    tmp_path: Path,
) -> None:
    """A whole run: every scene's visual is a copy of the user's video in the run's store, credited to
    the file; a second run finds them all."""
    (tmp_path / "media").mkdir()
    write_test_clip(tmp_path / "media" / "bees.mp4", 64, 36, 2.0, 10, seed=2)
    brief = {
        "brief": {"topic": "Honeybees"},
        "plan": {"duration": "24s"},
        "render": {"resolution": "64x36", "fps": 10},
        "providers": {"image": ["folder"], "folder": {"path": str(tmp_path / "media")}},
    }
    stack = [FakeScriptWriter(), FakeVoice(), FolderIllustrator(), FakeComposer(clips=True)]
    await Pipeline(stack).run(parse_brief(brief, None), run_dir=tmp_path / "run")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert [s["visual"] for s in report["scenes"]] == ["clip"] * 3
    for scene in report["scenes"]:
        stored = Path(scene["picture"])
        assert stored.parent == tmp_path / "run" / "artifacts"
        assert probe_clip(stored, source="", license="").duration == pytest.approx(2.0, abs=0.11)
    assert report["credits"] == [
        {
            "scenes": [0, 1, 2],
            "source": str(tmp_path / "media" / "bees.mp4"),
            "author": "",
            "link": "",
            "license": "user-supplied",
        }
    ]
    again = [FakeScriptWriter(), FakeVoice(), FolderIllustrator(), FakeComposer(clips=True)]
    await Pipeline(again).run(parse_brief(brief, None), run_dir=tmp_path / "run")
    again_report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert again_report["providers"]["image"][0]["calls"] == 0
    assert again_report["calls_saved"] == 1 + 3 + 3 + 3 + 1
