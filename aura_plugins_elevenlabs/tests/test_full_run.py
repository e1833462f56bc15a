"""A whole `aura run --plugins elevenlabs,local,ffmpeg` against the local server: captions follow the word timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import numpy as np
import pysubs2
import pytest

AURA = Path(sys.executable).with_name("aura")

SCRIPT = """# Bees

## Dance
Über café,  naïve — bees dance to share the way to flowers far away.

## Home
They fly home fast!
"""


def brief(folder: Path, base_url: str) -> Path:
    """A tiny brief: the script from a file, the ElevenLabs voice, title cards, 160x90 at 10 fps, burned captions."""
    (folder / "script.md").write_text(SCRIPT, encoding="utf-8")
    path = folder / "bees.toml"
    path.write_text(
        f"""
[brief]
topic = "Bees"

[plan]
duration = "6s"

[render]
resolution = "160x90"
fps = 10
captions = "burn"

[providers]
llm = ["scriptfile"]
tts = ["elevenlabs"]
image = ["cards"]
composer = ["ffmpeg"]

[providers.scriptfile]
path = "script.md"

[providers.elevenlabs]
base_url = "{base_url}"
voice = "Rachel"
price_per_1k_characters = 0.3
""",
        encoding="utf-8",
    )
    return path


def expected_words(text: str, alignment: dict[str, Any]) -> list[tuple[str, float, float]]:
    """Words of ``text`` with their times, read straight from the character alignment the server sent.

    Computed here independently of the provider: each whitespace-separated token, with "—" joined to the
    word before it, spans from its first character's start to its last character's end.
    """
    starts, ends = alignment["character_start_times_seconds"], alignment["character_end_times_seconds"]
    words: list[tuple[str, float, float]] = []
    at = 0
    for token in text.split():
        index = text.index(token, at)
        at = index + len(token)
        if token == "—":
            word, start, end = words[-1]
            words[-1] = (f"{word} —", start, end)
            continue
        words.append((token, starts[index], ends[at - 1]))
    return words


def test_full_run_burns_captions_that_follow_the_elevenlabs_word_timings(
    elevenlabs_server: Any, tmp_path: Path
) -> None:
    """The video is probed (size, fps, audio, length) and each SRT cue starts at its first word and spans its words."""
    path = brief(tmp_path, elevenlabs_server.base_url)
    done = subprocess.run(
        [
            str(AURA),
            "run",
            str(path),
            "--plugins",
            "elevenlabs,local,ffmpeg",
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "runs" / "bees"
    report = json.loads((run / "report.json").read_text())

    # One synthesis per scene, through the voice resolved by name once.
    calls = elevenlabs_server.calls("/v1/text-to-speech/")
    assert {c.path for c in calls} == {"/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/with-timestamps"}
    assert len(calls) == 2
    assert len(elevenlabs_server.calls("/v1/voices")) == 1
    # The setting chose Rachel over the brief's default [voice] name "joe": said once in the report.
    assert report["notes"] == ["voice: elevenlabs spoke with its voice 'Rachel', not [voice] name 'joe'"]
    texts = {c.json["text"]: c for c in calls}
    tts = {p["name"]: p for p in report["providers"]["tts"]}["elevenlabs"]
    assert tts["usage"]["characters"] == sum(len(t) for t in texts)
    assert tts["usage"]["cost_usd"] == pytest.approx(sum(len(t) for t in texts) / 1000 * 0.3)

    # The video as it is on disk.
    video = run / "final.mp4"
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (160, 90)
        assert float(stream.average_rate) == pytest.approx(10.0)
        assert container.streams.audio, "the narration is in the video"
        duration = float(container.duration or 0) / av.time_base
        frames = [(float(f.time), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    scenes = sorted(report["scenes"], key=lambda s: s["index"])
    assert all(s["voice_provider"] == "elevenlabs" for s in scenes)

    # Each scene's expected cues: its words (timed by the server's alignment) shifted by the scene's start.
    by_first_word = {t.split()[0]: (t, c) for t, c in texts.items()}
    expected: list[tuple[float, list[str]]] = []
    for scene in scenes:
        narration = SCRIPT.split("## ")[1 + scene["index"]].split("\n", 1)[1].strip()
        text, _call = by_first_word[narration.split()[0]]
        assert text.split() == narration.split()
        alignment = elevenlabs_server.alignments[text]
        words = expected_words(text, alignment)
        for i in range(0, len(words), 7):
            chunk = words[i : i + 7]
            expected.append((scene["start"] + chunk[0][1], [w for w, _, _ in chunk]))
    assert duration >= expected[-1][0]

    cues = pysubs2.load(str(run / "final.srt"))
    assert [c.text for c in cues] == [" ".join(w) for _, w in expected]
    for cue, (start, _) in zip(cues, expected, strict=True):
        assert cue.start == round(start * 1000)  # milliseconds, as the SRT stores them
        assert cue.end > cue.start

    # Burned: the word being said is drawn in yellow, and the yellow moves along with the word timings.
    first = expected_words(*_first_scene(texts, elevenlabs_server))
    uber, naive = first[0], first[2]
    assert (uber[0], naive[0]) == ("Über", "naïve —")
    before = [img for t, img in frames if t < uber[1]]
    in_uber = [img for t, img in frames if uber[1] <= t < uber[2]]
    in_naive = [img for t, img in frames if naive[1] <= t < naive[2]]
    assert before and in_uber and in_naive
    assert all(yellow_x(img) is None for img in before)
    uber_x = [yellow_x(img) for img in in_uber]
    naive_x = [yellow_x(img) for img in in_naive]
    assert None not in uber_x and None not in naive_x
    assert max(x for x in uber_x if x is not None) < min(x for x in naive_x if x is not None)


def _first_scene(texts: dict[str, Any], server: Any) -> tuple[str, dict[str, Any]]:
    """The first scene's text and the alignment the server sent for it."""
    text = next(t for t in texts if t.startswith("Über"))
    return text, server.alignments[text]


def yellow_x(img: np.ndarray) -> float | None:
    """The mean column of yellow (highlighted word) pixels in the lower part of a frame, or None without any."""
    lower = img[int(img.shape[0] * 0.55) :].astype(int)
    r, g, b = lower[..., 0], lower[..., 1], lower[..., 2]
    mask = (r > 170) & (g > 170) & (b < 110)
    if mask.sum() < 5:
        return None
    return float(np.nonzero(mask)[1].mean())
