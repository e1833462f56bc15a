"""The soundtrack graph: narration laid at its scene starts, music ducked under it, loudness normalised.

The graph reads its timeline on stdin (``Track``): the narration, and with music the music's gain
beside it (its fades), so it needs no end time and can start before the timeline is known.
"""

from __future__ import annotations

import array
import itertools
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
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


def samples(seconds: float) -> int:
    """``seconds`` as a whole number of samples at ``SAMPLE_RATE``."""
    return round(seconds * SAMPLE_RATE)


#: One second of silence as f32le mono samples (written in pieces of at most this size).
_SILENCE = bytes(4 * SAMPLE_RATE)


def _silence(count: int) -> Iterator[bytes]:
    """``count`` samples of silence, a second at most at a time."""
    size = 4 * count
    while size > 0:
        piece = min(size, len(_SILENCE))
        yield _SILENCE[:piece]
        size -= piece


#: The narration's sample format in the in-process graphs: f32 mono at 48 kHz.
_MONO: Mapping[str, str] = {"sample_rates": str(SAMPLE_RATE), "sample_fmts": "flt", "channel_layouts": "mono"}


def _filtered(path: Path, filters: Sequence[tuple[str, str]]) -> Iterator[Any]:
    """The audio of ``path`` decoded by PyAV as f32 mono at 48 kHz, through ``filters`` (name,
    arguments) in an in-process filter graph, one frame at a time."""
    import av  # imported here: ``import aura_plugins_ffmpeg.plugin`` stays cheap

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise ProviderError(f"the speech file {path} has no audio stream", transient=False)
            stream = container.streams.audio[0]
            yield from _graph(
                lambda graph: graph.add_abuffer(template=stream),
                filters,
                itertools.chain(container.decode(stream), [None]),
            )
    except av.FFmpegError as error:
        raise ProviderError(f"cannot decode the speech file {path}: {error}", transient=False) from error


def _through(frames: Sequence[Any], filters: Sequence[tuple[str, str]]) -> Iterator[Any]:
    """``frames`` (from ``_filtered``) through ``filters`` in a graph of their own."""
    first = frames[0]

    def source(graph: Any) -> Any:
        return graph.add(
            "abuffer",
            sample_rate=str(SAMPLE_RATE),
            sample_fmt="flt",
            channel_layout="mono",
            time_base=str(first.time_base),
        )

    return _graph(source, filters, itertools.chain(frames, [None]))


def _graph(source: Any, filters: Sequence[tuple[str, str]], frames: Iterable[Any]) -> Iterator[Any]:
    """The frames out of a graph ``source`` (a function adding the source to a graph) → f32 mono
    48 kHz → ``filters`` → f32 mono 48 kHz, fed ``frames`` (None last, to flush it)."""
    import av

    graph = av.filter.Graph()
    chain = [
        source(graph),
        graph.add("aformat", **_MONO),
        *(graph.add(name, arguments) for name, arguments in filters),
        graph.add("aformat", **_MONO),  # back to f32 after a filter of its own format (the limiter's)
        graph.add("abuffersink"),
    ]
    for before, after in itertools.pairwise(chain):
        before.link_to(after)
    graph.configure()
    for frame in frames:
        graph.push(frame)
        while True:
            try:
                yield graph.pull()
            except (av.BlockingIOError, av.EOFError):
                break


def _decoded(path: Path, count: int, levelling: Levelling | None) -> Iterator[bytes]:
    """The first ``count`` samples of ``path`` as f32le mono 48 kHz, levelled as ``levelling`` says,
    padded with silence when the file is shorter."""
    left = count
    for frame in _filtered(path, _levelling_filters(levelling)):
        # The plane's own bytes (it is padded past the samples): no numpy needed.
        data = bytes(memoryview(frame.planes[0])[: 4 * min(frame.samples, left)])
        left -= len(data) // 4
        yield data
        if left <= 0:
            return
    yield from _silence(left)


def _levelling_filters(levelling: Levelling | None) -> list[tuple[str, str]]:
    """``level``'s filters (the gain, then the limiter when asked) for an in-process graph."""
    if levelling is None:
        return []
    filters = [("volume", f"volume={levelling.gain:.4f}dB:precision=float")]
    if levelling.limit:
        # The mix lays the mono narration on both channels 3 dB down: its peaks there stay under
        # LIMIT when they stay 3 dB over it here (limited 3 dB down, then brought back up).
        up = f"level_in={1 / math.sqrt(2):.6f}:level_out={math.sqrt(2):.6f}"
        settings = ":".join(f"{key}={value}" for key, value in _LIMITER.items())
        filters.append(("alimiter", f"limit={10 ** (LIMIT / 20):.4f}:{up}:{settings}"))
    return filters


def _measured(frames: Sequence[Any], levelling: Levelling | None) -> tuple[float | None, float]:
    """The integrated loudness (LUFS, None when silent) and the sample peak (dBFS) of a speech's
    ``frames`` (from ``_filtered``) levelled as ``levelling`` says (blocking: measured in this process)."""
    found: Mapping[str, str] = {}
    measuring = ("ebur128", "metadata=1:peak=sample:framelog=quiet")
    for frame in _through(frames, [*_levelling_filters(levelling), measuring]) if frames else ():
        found = frame.metadata or found
    try:
        loudness = float(found.get("lavfi.r128.I", "-inf"))
        peak = float(found.get("lavfi.r128.sample_peak", "0"))
    except ValueError:
        return None, -math.inf
    return (loudness if _audible(loudness) else None), (20 * math.log10(peak) if peak > 0 else -math.inf)


#: How much higher (dB) a mono narration's peaks are than on each channel of the mix (3 dB down there).
_UPMIX = 20 * math.log10(math.sqrt(2))
#: The most a scene's narration is raised or lowered to reach the target on its own, in dB: a
#: speech further off than that is noise or near silence, not a voice to bring up.
NARRATION_GAIN_LIMIT = 20.0
#: How close to the target a limited speech (or mix) must measure, in LU, and how many measuring
#: passes may bring it there.
LIMITED_TOLERANCE = 0.1
LIMITED_TRIALS = 3


def speech_levelling(path: Path, target: float) -> Levelling | None:
    """How to bring the speech in ``path`` to ``target`` LUFS on its own (None when it is silent):
    a gain, and the limiter when that gain takes its peaks past ``LIMIT``, the loudness the limiter
    takes away measured and given back. Blocking: decoded (once) and measured in this process."""
    frames = list(_filtered(path, []))
    loudness, peak = _measured(frames, None)
    if loudness is None:
        return None
    gain = max(-NARRATION_GAIN_LIMIT, min(NARRATION_GAIN_LIMIT, target - loudness))
    levelling = Levelling(gain, peak + gain > LIMIT + _UPMIX)
    for _ in range(LIMITED_TRIALS if levelling.limit else 0):
        limited, _peak = _measured(frames, levelling)
        if limited is None or abs(target - limited) <= LIMITED_TOLERANCE:
            break
        levelling = levelling.corrected(limited, target)
    return levelling


@frozen
class _Slot:
    """One speech on the track: its file, the samples ``[start, end)`` it fills (cut at ``end``), and
    how it is levelled (``speech_levelling``)."""

    path: Path
    start: int
    end: int
    levelling: Levelling | None


class Track:
    """The soundtrack's timeline as f32le samples at 48 kHz for the graph's stdin, written as it
    grows: each speech at its start (sample-exact), cut at the next one's start, silence between;
    with music, two channels, the second being the music's gain (``gain``: its fades).

    ``place`` adds a scene as the runner places it, ``close`` gives the timeline's end; ``chunks``
    writes what is known so far. A fade-out needs the end, so with music the last ``MUSIC_FADE``
    seconds wait for ``close``, and nothing is written before the timeline reaches four fades (the
    fades are a quarter of a shorter video). Blocking (iterated in a worker thread while ffmpeg
    reads it): one frame of one speech is in memory at a time, however many scenes there are.
    """

    def __init__(self, music: bool) -> None:
        """An empty timeline; ``music``: whether the graph mixes music (two channels)."""
        self.music = music
        self.at = 0  # samples written
        self._slots: list[_Slot] = []
        self._next = 0  # the first slot not written to its end
        self._end = 0  # the placed timeline's end, in samples
        self._total: int | None = None
        self._speech: Iterator[bytes] | None = None  # the slot being written: its decoder
        self._left = b""  # decoded bytes past what could be written yet

    @classmethod
    def of(
        cls,
        narration: Sequence[Narration],
        total: float,
        music: bool,
        levellings: Mapping[Path, Levelling | None],
    ) -> Track:
        """The whole timeline of a request: ``narration`` (in any order), its end, and how each
        speech is levelled, by its file."""
        track = cls(music)
        items = sorted(narration, key=lambda n: n.start)
        for item, after in zip(items, [*items[1:], None], strict=True):
            end = total if after is None else after.start
            track.place(item, end, levellings.get(item.speech.path))
        track.close(total)
        return track

    @property
    def end(self) -> int:
        """The placed timeline's end, in samples."""
        return self._end

    def place(self, narration: Narration, end: float, levelling: Levelling | None = None) -> None:
        """Add a speech at ``narration.start``, levelled as ``levelling`` says, whose slot ends at
        ``end`` seconds (the next scene's start). Slots come in order: one that starts before the
        last one's end is cut to start there."""
        if self._total is not None:
            raise ValueError("the track is closed")
        stop = max(samples(end), self._end)
        start = min(max(samples(narration.start), self._end), stop)
        if stop > start:
            self._slots.append(_Slot(narration.speech.path, start, stop, levelling))
        self._end = stop

    def close(self, total: float) -> None:
        """The timeline ends at ``total`` seconds: every sample can be written now."""
        self._total = max(samples(total), self.at)

    @property
    def fade(self) -> int:
        """The music's fade in and out, in samples (known once the timeline reaches four fades)."""
        whole = self._total if self._total is not None else self._end
        return max(1, min(samples(MUSIC_FADE), whole // 4))

    def ready(self) -> int:
        """How far the track can be written now, in samples."""
        if self._total is not None:
            return self._total
        if not self.music:
            return self._end
        if self._end < 4 * samples(MUSIC_FADE):
            return self.at
        return max(self.at, self._end - samples(MUSIC_FADE))

    def gain(self, start: int, stop: int) -> array.array[float]:
        """The music's gain at samples ``[start, stop)``: a linear fade in from 0, a linear fade out
        to the end (``afade``'s ``tri`` curve), 1 between."""
        fade = self.fade
        total = self._total
        values = array.array("f", [1.0]) * (stop - start)
        for n in range(start, min(stop, fade)):
            values[n - start] = n / fade
        if total is not None:
            for n in range(max(start, total - fade), stop):
                values[n - start] *= (total - n) / fade
        return values

    def chunks(self) -> Iterator[bytes]:
        """The samples from where the last call stopped up to ``ready()`` (one channel, or the
        narration and the music's gain interleaved)."""
        until = self.ready()
        for mono in self._narration(until):
            count = len(mono) // 4
            if not self.music:
                yield mono
                continue
            both = array.array("f", bytes(8 * count))
            both[0::2] = array.array("f", mono)
            both[1::2] = self.gain(self.at - count, self.at)
            yield both.tobytes()

    def _narration(self, until: int) -> Iterator[bytes]:
        """The narration's samples from ``at`` up to ``until`` (advancing ``at``)."""
        while self.at < until:
            while self._next < len(self._slots) and self._slots[self._next].end <= self.at:
                self._next += 1
            slot = self._slots[self._next] if self._next < len(self._slots) else None
            if slot is None or slot.start > self.at:
                quiet = min(until, slot.start if slot is not None else until) - self.at
                data = _SILENCE[: 4 * min(quiet, SAMPLE_RATE)]
            else:
                data = self._speech_bytes(slot, until)
            self.at += len(data) // 4
            yield data

    def _speech_bytes(self, slot: _Slot, until: int) -> bytes:
        """The next bytes of ``slot``'s speech, at most up to ``until``."""
        if self._speech is None:
            self._speech = _decoded(slot.path, slot.end - slot.start, slot.levelling)
        data = self._left or next(self._speech, b"")
        if not data:  # the decoder ended exactly at the slot's end
            data = bytes(4 * (slot.end - self.at))
        room = 4 * (min(until, slot.end) - self.at)
        data, self._left = data[:room], data[room:]
        if self.at + len(data) // 4 >= slot.end:
            self.finish_speech()
        return data

    def finish_speech(self) -> None:
        """Close the speech being decoded (its file), if any."""
        if self._speech is not None:
            close = getattr(self._speech, "close", None)
            if close is not None:
                close()
        self._speech, self._left = None, b""


def _narration(source: Any) -> Any:
    """The narration channel of the track on stdin, mono with exact timestamps."""
    return source.filter("aformat", sample_fmts="fltp", channel_layouts="mono").filter("asetpts", "N/SR/TB")


def with_music(music: Path | None, music_volume: float) -> bool:
    """Whether the mix has a music bed (and its ``Track`` the music's gain beside the narration)."""
    return music is not None and music_volume > 0


def soundtrack(music: Path | None, music_volume: float) -> Any:
    """The stereo mix of the ``Track`` on stdin: the narration, plus ``music`` looped, faded (by the
    track's second channel) and ducked under the voice. The graph ends with the track."""
    bed_too = with_music(music, music_volume)
    track = ffmpeg.input("pipe:", f="f32le", ar=SAMPLE_RATE, ac=2 if bed_too else 1).audio
    if music is None or not bed_too:
        return _narration(track).filter("aformat", channel_layouts="stereo")
    channels = track.filter_multi_output("asplit", 2)
    voice = _narration(channels[0].filter("channelmap", map="FL-FC", channel_layout="mono"))
    voice = voice.filter("aformat", channel_layouts="stereo")
    fades = (
        channels[1]
        .filter("channelmap", map="FR-FL|FR-FR", channel_layout="stereo")
        .filter("aformat", sample_fmts="fltp", channel_layouts="stereo")
    )
    bed = (
        ffmpeg.input(str(music), stream_loop=-1)
        .audio.filter("aresample", SAMPLE_RATE)
        .filter("aformat", sample_fmts="fltp", channel_layouts="stereo")
        .filter("asetpts", "N/SR/TB")
        .filter("volume", f"{music_volume:.4f}")
    )
    faded = ffmpeg.filter([bed, fades], "amultiply")  # ends with the track
    split = voice.filter_multi_output("asplit", 2)
    ducked = ffmpeg.filter(
        [faded, split[1]], "sidechaincompress", threshold=0.02, ratio=10, attack=20, release=400, makeup=1
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
#: The limiter's other settings: fast attack and release (it touches the peaks alone), its delay
#: compensated (the output lines up with the input, sample for sample).
_LIMITER: Mapping[str, str] = {"level": "false", "latency": "true", "attack": "1", "release": "20"}


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
    return gained.filter("alimiter", limit=f"{10 ** (LIMIT / 20):.4f}", **_LIMITER)


def limiter_trial_graph(wav: Path, levelling: Levelling) -> Any:
    """Measure what ``levelling`` makes of the mix in ``wav`` (the limiter costs some loudness); only
    the integrated loudness is needed, so no true-peak scan (half the cost)."""
    trial = level(ffmpeg.input(str(wav)).audio, levelling).filter("ebur128", peak="none", framelog="quiet")
    return ffmpeg.output(trial, "-", f="null")
