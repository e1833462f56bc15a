"""The soundtrack graph: narration laid at its scene starts, music ducked under it, loudness normalised."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ffmpeg

from aura_core import Narration

SAMPLE_RATE = 48000
#: Music fades in and out over this many seconds (at most a quarter of the video each).
MUSIC_FADE = 2.0
#: True-peak ceiling and loudness range given to loudnorm.
TRUE_PEAK = -1.5
LOUDNESS_RANGE = 11.0


def _samples(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE)


def _mono(stream: Any) -> Any:
    return stream.filter("aresample", SAMPLE_RATE).filter(
        "aformat", sample_fmts="fltp", channel_layouts="mono"
    )


def _silence(samples: int) -> Any:
    source = ffmpeg.input(f"anullsrc=r={SAMPLE_RATE}:cl=mono", f="lavfi").audio
    return _mono(source.filter("atrim", end_sample=samples))


def narration_track(narration: Sequence[Narration], total: float) -> Any:
    """A mono track of ``total`` seconds: each speech at its ``start`` (sample-exact), silence between.

    Each clip is padded (or cut) to reach the next clip's start, then all are concatenated,
    which keeps memory flat however many scenes there are.
    """
    items = sorted(narration, key=lambda n: n.start)
    end = _samples(total)
    parts: list[Any] = []
    lead = _samples(items[0].start) if items else end
    if lead > 0:
        parts.append(_silence(min(lead, end)))
    for i, item in enumerate(items):
        slot_start = _samples(item.start)
        slot_end = min(_samples(items[i + 1].start) if i + 1 < len(items) else end, end)
        length = slot_end - slot_start
        if length <= 0:
            continue
        clip = _mono(ffmpeg.input(str(item.speech.path)).audio)
        parts.append(clip.filter("apad", whole_len=length).filter("atrim", end_sample=length))
    if len(parts) == 1:
        return parts[0].filter("asetpts", "N/SR/TB")
    return ffmpeg.concat(*parts, v=0, a=1).filter("asetpts", "N/SR/TB")


def soundtrack(narration: Sequence[Narration], total: float, music: Path | None, music_volume: float) -> Any:
    """The stereo mix: narration, plus ``music`` looped to length, faded, and ducked under the voice."""
    voice = narration_track(narration, total).filter("aformat", channel_layouts="stereo")
    if music is None or music_volume <= 0:
        return voice
    fade = min(MUSIC_FADE, total / 4)
    bed = (
        ffmpeg.input(str(music), stream_loop=-1)
        .audio.filter("aresample", SAMPLE_RATE)
        .filter("aformat", sample_fmts="fltp", channel_layouts="stereo")
        .filter("atrim", end_sample=_samples(total))
        .filter("asetpts", "N/SR/TB")
        .filter("volume", f"{music_volume:.4f}")
        .filter("afade", type="in", start_time=0, duration=f"{fade:.3f}")
        .filter("afade", type="out", start_time=f"{max(total - fade, 0):.3f}", duration=f"{fade:.3f}")
    )
    split = voice.filter_multi_output("asplit", 2)
    ducked = ffmpeg.filter(
        [bed, split[1]], "sidechaincompress", threshold=0.02, ratio=10, attack=20, release=400, makeup=1
    )
    return ffmpeg.filter([split[0], ducked], "amix", inputs=2, duration="first", normalize=0)


def measure_graph(mix: Any, wav: Path, target: float) -> Any:
    """Pass one: write the mix to ``wav`` and measure it with loudnorm (JSON on stderr)."""
    split = mix.filter_multi_output("asplit", 2)
    measured = split[1].filter("loudnorm", I=target, TP=TRUE_PEAK, LRA=LOUDNESS_RANGE, print_format="json")
    return ffmpeg.merge_outputs(
        ffmpeg.output(split[0], str(wav), acodec="pcm_f32le", f="wav"),
        ffmpeg.output(measured, "-", f="null"),
    )


def parse_measurement(stderr: str) -> Mapping[str, str] | None:
    """loudnorm's first-pass JSON from ``stderr``, or None when absent or silent (``-inf``)."""
    found = re.findall(r"\{[^{}]*\"input_i\"[^{}]*\}", stderr)
    if not found:
        return None
    values: dict[str, str] = json.loads(found[-1])
    if "inf" in values.get("input_i", "-inf"):
        return None
    return values


def normalise(stream: Any, target: float, measured: Mapping[str, str] | None) -> Any:
    """Pass two: loudnorm with the first pass's measurements (linear when it can), back to 48 kHz."""
    if measured is None:
        return stream
    normalised = stream.filter(
        "loudnorm",
        I=target,
        TP=TRUE_PEAK,
        LRA=LOUDNESS_RANGE,
        measured_I=measured["input_i"],
        measured_TP=measured["input_tp"],
        measured_LRA=measured["input_lra"],
        measured_thresh=measured["input_thresh"],
        offset=measured["target_offset"],
        linear="true",
    )
    return normalised.filter("aresample", SAMPLE_RATE)
