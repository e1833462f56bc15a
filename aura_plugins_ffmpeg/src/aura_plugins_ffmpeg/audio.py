"""The soundtrack graph: narration laid at its scene starts, music ducked under it, loudness normalised."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import ffmpeg

from aura_core import Narration, ProviderError

SAMPLE_RATE = 48000
#: Music fades in and out over this many seconds (at most a quarter of the video each).
MUSIC_FADE = 2.0
#: True-peak ceiling and loudness range given to loudnorm.
TRUE_PEAK = -1.5
LOUDNESS_RANGE = 11.0


def _samples(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE)


#: One second of silence as f32le mono samples (written in pieces of at most this size).
_SILENCE = bytes(4 * SAMPLE_RATE)
#: ffmpeg-python input options of the narration track piped on stdin: f32le mono at 48 kHz.
NARRATION_INPUT: Mapping[str, Any] = {"f": "f32le", "ar": SAMPLE_RATE, "ac": 1}


def _silence(samples: int) -> Iterator[bytes]:
    size = 4 * samples
    while size > 0:
        piece = min(size, len(_SILENCE))
        yield _SILENCE[:piece]
        size -= piece


def _decoded(path: Path, samples: int) -> Iterator[bytes]:
    """The first ``samples`` samples of ``path`` as f32le mono 48 kHz (decoded and resampled by PyAV,
    one frame at a time), padded with silence when the file is shorter."""
    import av  # imported here: ``import aura_plugins_ffmpeg.plugin`` stays cheap

    left = samples
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise ProviderError(f"the speech file {path} has no audio stream", transient=False)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            frames = itertools.chain(container.decode(container.streams.audio[0]), [None])
            for frame in frames:
                for out in resampler.resample(frame):
                    data = out.to_ndarray().tobytes()[: 4 * left]
                    left -= len(data) // 4
                    yield data
                if left <= 0:
                    return
    except av.FFmpegError as error:
        raise ProviderError(f"cannot decode the speech file {path}: {error}", transient=False) from error
    yield from _silence(left)


def narration_samples(narration: Sequence[Narration], total: float) -> Iterator[bytes]:
    """The narration track as f32le mono 48 kHz bytes, ``total`` seconds long: each speech at its
    ``start`` (sample-exact), cut at the next one's start, silence between.

    Blocking (iterated in a worker thread while ffmpeg reads it on stdin): one frame of one speech
    is in memory at a time, however many scenes there are, and ffmpeg has a single narration input
    (two scenes sharing one speech file simply read it twice).
    """
    items = sorted(narration, key=lambda n: n.start)
    end = _samples(total)
    at = 0
    for i, item in enumerate(items):
        slot_start = min(_samples(item.start), end)
        slot_end = min(_samples(items[i + 1].start) if i + 1 < len(items) else end, end)
        if slot_end <= slot_start:
            continue
        yield from _silence(slot_start - at)
        yield from _decoded(item.speech.path, slot_end - slot_start)
        at = slot_end
    yield from _silence(end - at)


def narration_track() -> Any:
    """The narration piped on stdin (see ``narration_samples``) as a stream with exact timestamps."""
    source = ffmpeg.input("pipe:", **NARRATION_INPUT).audio
    return source.filter("aformat", sample_fmts="fltp", channel_layouts="mono").filter("asetpts", "N/SR/TB")


def soundtrack(total: float, music: Path | None, music_volume: float) -> Any:
    """The stereo mix: the narration (on stdin), plus ``music`` looped to length, faded, and ducked
    under the voice."""
    voice = narration_track().filter("aformat", channel_layouts="stereo")
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
