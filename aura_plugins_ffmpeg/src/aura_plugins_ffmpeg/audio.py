"""The soundtrack graph: narration laid at its scene starts, music ducked under it, loudness normalised."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import ffmpeg
from attrs import frozen

from aura_core import Narration, ProviderError

SAMPLE_RATE = 48000
#: Music fades in and out over this many seconds (at most a quarter of the video each).
MUSIC_FADE = 2.0
#: True-peak ceiling of the normalised soundtrack, in dBTP.
TRUE_PEAK = -1.5


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
                    # The plane's own bytes (it is padded past the samples): no numpy needed.
                    data = bytes(memoryview(out.planes[0])[: 4 * min(out.samples, left)])
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


@frozen
class Loudness:
    """The EBU R128 measurements of the mix (``ebur128``'s summary): LUFS, LU and dBTP."""

    integrated: float
    threshold: float
    lra: float
    true_peak: float

    def gain(self, target: float) -> float:
        """The constant gain in dB that brings the mix to ``target`` LUFS."""
        return target - self.integrated

    def needs_limiter(self, target: float) -> bool:
        """Whether that gain would take the true peak above ``TRUE_PEAK``."""
        return self.true_peak + self.gain(target) > TRUE_PEAK


def measure_graph(mix: Any, wav: Path) -> Any:
    """Pass one: write the mix to ``wav`` through ``ebur128``, which measures it on the way (its
    summary, with the true peak, goes to stderr). ``ebur128`` is about 7x cheaper than a loudnorm
    measuring pass: it does not resample everything to 192 kHz."""
    measured = mix.filter("ebur128", peak="true", framelog="quiet")
    return ffmpeg.output(measured, str(wav), acodec="pcm_f32le", f="wav")


#: ``ebur128``'s floor: an integrated loudness at or below it is silence, not a measurement.
SILENCE = -70.0

_SUMMARY = re.compile(
    r"Integrated loudness:\s*I:\s*(?P<i>\S+) LUFS\s*Threshold:\s*(?P<thresh>\S+) LUFS"
    r"\s*Loudness range:\s*LRA:\s*(?P<lra>\S+) LU.*?True peak:\s*Peak:\s*(?P<tp>\S+) dBFS",
    re.DOTALL,
)


def parse_measurement(stderr: str) -> Loudness | None:
    """The last ``ebur128`` summary in ``stderr``, or None when absent or silent (``-inf``, or the
    scanner's floor of -70 LUFS)."""
    found = list(_SUMMARY.finditer(stderr))
    if not found:
        return None
    match = found[-1]
    try:
        values = Loudness(
            integrated=float(match["i"]),
            threshold=float(match["thresh"]),
            lra=float(match["lra"]),
            true_peak=float(match["tp"]),
        )
    except ValueError:
        return None
    return values if _audible(values.integrated) else None


_INTEGRATED = re.compile(r"Integrated loudness:\s*I:\s*(?P<i>\S+) LUFS")


def parse_integrated(stderr: str) -> float | None:
    """The integrated loudness of the last ``ebur128`` summary in ``stderr``, or None (absent or silent)."""
    found = _INTEGRATED.findall(stderr)
    try:
        value = float(found[-1]) if found else None
    except ValueError:
        return None
    return value if value is not None and _audible(value) else None


def _audible(integrated: float) -> bool:
    """Whether an integrated loudness is a measurement: not ``-inf`` and above the scanner's floor
    of -70 LUFS (silence)."""
    return math.isfinite(integrated) and integrated > SILENCE


#: Where the limiter holds sample peaks when the gain alone would pass the true-peak ceiling: half a
#: dB under it, for the inter-sample overshoot a sample-peak limiter does not see.
LIMIT = TRUE_PEAK - 0.5


@frozen
class Levelling:
    """How pass two levels the mix: a constant gain in dB, then a lookahead peak limiter or not."""

    gain: float
    limit: bool

    @classmethod
    def of(cls, measured: Loudness, target: float) -> Levelling:
        """The gain that reaches ``target``, limited when that gain would take peaks past the ceiling."""
        return cls(measured.gain(target), measured.needs_limiter(target))

    def corrected(self, limited: float, target: float) -> Levelling:
        """This levelling with the loudness the limiter took away (the result measured ``limited``
        LUFS) added back."""
        return Levelling(self.gain + target - limited, self.limit)


def level(stream: Any, levelling: Levelling | None) -> Any:
    """``stream`` levelled: the constant gain (the speech keeps its dynamics: no pumping), then the
    limiter when asked (fast attack and release: it touches the peaks alone)."""
    if levelling is None:
        return stream
    gained = stream.filter("volume", f"{levelling.gain:.2f}dB")
    if not levelling.limit:
        return gained
    return gained.filter(
        "alimiter", limit=f"{10 ** (LIMIT / 20):.4f}", level="false", latency="true", attack=1, release=20
    )


def limiter_trial_graph(wav: Path, levelling: Levelling) -> Any:
    """Measure what ``levelling`` makes of the mix in ``wav`` (the limiter costs some loudness); only
    the integrated loudness is needed, so no true-peak scan (half the cost)."""
    trial = level(ffmpeg.input(str(wav)).audio, levelling).filter("ebur128", peak="none", framelog="quiet")
    return ffmpeg.output(trial, "-", f="null")
