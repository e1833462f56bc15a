"""``probe_clip`` measures real clips (size as shown, length, frame rate) and refuses what is not one;
``check_clip`` holds an illustrator's Clip to what the core needs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from aura_core import Clip, ClipProbeError, ImageRequest, ProviderError, probe_clip
from aura_core.testing import write_gradient_png, write_test_clip, write_tone_wav
from aura_core.validation import check_clip, check_visual


def ffmpeg(*args: str) -> None:
    """Run the bundled ffmpeg (imageio-ffmpeg), quietly."""
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True, timeout=60)


def test_a_clip_is_measured_as_written(tmp_path: Path) -> None:
    """Size, length and frame rate come from the file; credits and in-point as given."""
    path = tmp_path / "bees.mp4"
    write_test_clip(path, 96, 54, 2.4, 25, seed=3)
    clip = probe_clip(
        path, source="stock", license="CC BY 4.0", author="Ann", link="https://example.org/1", start=0.5
    )
    assert (clip.width, clip.height, clip.fps) == (96, 54, 25.0)
    assert clip.duration == pytest.approx(2.4, abs=0.04)
    assert (clip.source, clip.license, clip.author, clip.link, clip.start) == (
        "stock",
        "CC BY 4.0",
        "Ann",
        "https://example.org/1",
        0.5,
    )


def test_a_phones_portrait_clip_is_measured_upright(tmp_path: Path) -> None:
    """A clip stored landscape with a 90° display rotation measures as the portrait it shows."""
    stored = tmp_path / "stored.mp4"
    write_test_clip(stored, 96, 54, 1.0, 10)
    turned = tmp_path / "phone.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(stored), "-c", "copy", str(turned))
    clip = probe_clip(turned, source="me", license="mine")
    assert (clip.width, clip.height) == (54, 96)


def test_a_webm_clip_is_measured(tmp_path: Path) -> None:
    """WebM (VP9), whose stream carries no duration of its own, is measured from its container."""
    source = tmp_path / "source.mp4"
    write_test_clip(source, 64, 36, 2.0, 10)
    webm = tmp_path / "clip.webm"
    ffmpeg("-i", str(source), "-c:v", "libvpx-vp9", "-b:v", "50k", str(webm))
    clip = probe_clip(webm, source="s", license="l")
    assert (clip.width, clip.height, clip.fps) == (64, 36, 10.0)
    assert clip.duration == pytest.approx(2.0, abs=0.11)


@pytest.mark.parametrize(
    ("make", "why"),
    [
        ("garbage", r"not a video that can be read"),
        ("empty", r"the file is empty \(0 bytes\)"),
        ("missing", r"no such file"),
        ("audio", r"no video stream \(it holds audio\)"),
        ("still", r"not a moving clip \(it has no duration: a still picture\?\)"),
        ("truncated", r"truncated: its video stops at \d+\.\d\d s of the 4\.00 s its header gives"),
        ("headless", r"not a video that can be read"),
    ],
)
def test_what_is_not_a_whole_clip_is_a_permanent_error_of_one_line(
    tmp_path: Path, make: str, why: str
) -> None:
    """Garbage, an empty or missing file, audio, a still picture, a file cut short (its index first, or
    its index lost with the end) each raise a permanent ProviderError: one line naming the file."""
    path = tmp_path / f"{make}.mp4"
    if make == "garbage":
        path.write_bytes(b"this is not a video at all" * 10)
    elif make == "empty":
        path.write_bytes(b"")
    elif make == "audio":
        wav = tmp_path / "tone.wav"
        write_tone_wav(wav, 1.0)
        ffmpeg("-i", str(wav), str(path.with_suffix(".m4a")))
        path = path.with_suffix(".m4a")
    elif make == "still":
        path = path.with_suffix(".png")
        write_gradient_png(path, 32, 18, 1)
    elif make in ("truncated", "headless"):
        whole = tmp_path / "whole.mp4"
        write_test_clip(whole, 160, 90, 4.0, 25)
        # faststart puts the index first: cut in half, the file opens but its packets stop at 2 s
        flags = ["-movflags", "+faststart"] if make == "truncated" else []
        moved = tmp_path / "moved.mp4"
        ffmpeg("-i", str(whole), "-c", "copy", *flags, str(moved))
        data = moved.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ClipProbeError) as caught:
        probe_clip(path, source="s", license="l")
    error = caught.value
    assert isinstance(error, ProviderError) and not error.transient
    assert str(error).startswith(f"{path}: ")
    assert "\n" not in str(error)
    assert caught.match(why)


def test_an_in_point_outside_the_clip_is_a_mistake_of_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "c.mp4"
    write_test_clip(path, 32, 18, 1.0, 10)
    with pytest.raises(ValueError, match=r"start 1\.5 s is outside the clip"):
        probe_clip(path, source="s", license="l", start=1.5)


def _request(tmp_path: Path, *, clips: bool) -> ImageRequest:
    return ImageRequest("bees", "", 64, 36, "documentary", 1, tmp_path / "out.png", duration=2.0, clips=clips)


def test_check_clip_takes_a_good_clip_and_names_what_is_wrong_with_a_bad_one(tmp_path: Path) -> None:
    """A measured clip passes; a clip where only pictures were asked, a missing or empty file, and
    impossible facts (no pixels, no length, no frame rate, an in-point past the end) each fail, saying why."""
    path = tmp_path / "out.mp4"
    write_test_clip(path, 64, 36, 1.0, 10)
    good = probe_clip(path, source="s", license="l")
    asked = _request(tmp_path, clips=True)
    assert check_clip(good, asked) is None
    assert check_visual(good, asked) is None
    assert check_visual(good, _request(tmp_path, clips=False)) == (
        "returned a Clip for a request that takes only pictures (clips=False)"
    )
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    cases = {
        Clip(tmp_path / "gone.mp4", 64, 36, 1.0, 10.0, "s", "l"): "no file at",
        Clip(empty, 64, 36, 1.0, 10.0, "s", "l"): "empty file empty.mp4",
        Clip(path, 0, 36, 1.0, 10.0, "s", "l"): "clip is 0x36 pixels",
        Clip(path, 64, 36, 0.0, 10.0, "s", "l"): "clip lasts 0 s",
        Clip(path, 64, 36, float("nan"), 10.0, "s", "l"): "clip lasts nan s",
        Clip(path, 64, 36, 1.0, 0.0, "s", "l"): "clip's frame rate is 0 fps",
        Clip(path, 64, 36, 1.0, 10.0, "s", "l", start=1.0): "clip starts at 1 s, outside its 1 s",
    }
    for clip, problem in cases.items():
        found = check_visual(clip, asked)
        assert found is not None and problem in found, (clip, found)


def test_check_visual_still_holds_pictures_to_the_asked_size(tmp_path: Path) -> None:
    """A Picture is checked as before clips, whatever the request says of clips."""
    from aura_core import Picture

    png = tmp_path / "p.png"
    write_gradient_png(png, 32, 18, 1)
    for clips in (False, True):
        found = check_visual(Picture(png, 32, 18, "s", "l"), _request(tmp_path, clips=clips))
        assert found == "picture is 32x18, asked for 64x36"
    assert check_visual("a picture", _request(tmp_path, clips=True)) == (  # type: ignore[arg-type]
        "returned str, expected a Picture or a Clip"
    )
