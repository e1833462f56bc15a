"""Turn the audio ElevenLabs returns into a WAV file on disk and measure it.

Whatever format is requested, the file written is a 16-bit mono WAV, so the composer gets one kind of file:
``pcm_*`` is raw 16-bit little-endian mono and only needs a header, ``wav_*`` is checked and kept,
``mp3_*`` and ``opus_*`` are decoded with PyAV.
"""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from attrs import frozen

if TYPE_CHECKING:
    import numpy as np

#: Output formats this provider accepts, as the API spells them (codec_samplerate[_bitrate]).
FORMAT = re.compile(r"^(?P<codec>pcm|wav|mp3|opus)_(?P<rate>\d{4,5})(?:_(?P<bitrate>\d{2,3}))?$")


@frozen
class Measured:
    """What was written: the file's duration in seconds and its sample rate in Hz."""

    duration: float
    sample_rate: int


class AudioFormatError(ValueError):
    """The audio the server sent cannot be read as the requested format."""


def parse_format(output_format: str) -> tuple[str, int]:
    """The codec and sample rate of an output format such as ``pcm_24000`` or ``mp3_44100_128``.

    Raises ``ValueError`` for a format it cannot turn into a WAV (``ulaw_8000``, ``alaw_8000``, typos).
    """
    match = FORMAT.match(output_format)
    if match is None:
        raise ValueError(
            f"unsupported output_format {output_format!r}; use pcm_<rate> (e.g. pcm_24000), "
            "wav_<rate>, mp3_<rate>_<kbps> or opus_48000_<kbps>"
        )
    return match.group("codec"), int(match.group("rate"))


def _write_wav(path: Path, samples: bytes, sample_rate: int) -> Measured:
    """Write 16-bit mono little-endian ``samples`` as a WAV file."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(samples)
    return Measured(duration=len(samples) / 2 / sample_rate, sample_rate=sample_rate)


def _decode(data: bytes) -> tuple[bytes, int]:
    """Decode compressed audio with PyAV into 16-bit mono samples and their rate."""
    import av  # imported on first use: registering the voice needs neither PyAV nor numpy
    import numpy as np

    chunks: list[np.ndarray] = []
    rate = 0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.audio[0]
            rate = int(stream.codec_context.sample_rate or stream.rate or 0)
            resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except (av.error.FFmpegError, IndexError) as exc:  # IndexError: no audio stream at all
        raise AudioFormatError(f"the audio could not be decoded ({type(exc).__name__})") from exc
    if not chunks or rate <= 0:
        raise AudioFormatError("the audio decoded to no samples")
    samples = np.concatenate(chunks).astype("<i2")
    return samples.tobytes(), rate


def write_audio(path: Path, data: bytes, output_format: str) -> Measured:
    """Write ``data`` (audio in ``output_format``) to ``path`` as a 16-bit mono WAV and measure it.

    Blocking: call it in a worker thread. Raises ``AudioFormatError`` when ``data`` is not that format.
    """
    codec, rate = parse_format(output_format)
    if not data:
        raise AudioFormatError("the server returned no audio")
    if codec == "pcm":
        if len(data) % 2:
            raise AudioFormatError(f"{len(data)} bytes of 16-bit PCM is not a whole number of samples")
        return _write_wav(path, data, rate)
    if codec == "wav":
        try:
            with wave.open(io.BytesIO(data), "rb") as src:
                channels, width, rate = src.getnchannels(), src.getsampwidth(), src.getframerate()
                frames = src.readframes(src.getnframes())
        except (wave.Error, EOFError) as exc:
            raise AudioFormatError(f"the WAV audio is malformed ({exc})") from exc
        if width != 2 or channels != 1:
            samples, rate = _decode(data)
            return _write_wav(path, samples, rate)
        return _write_wav(path, frames, rate)
    samples, rate = _decode(data)
    return _write_wav(path, samples, rate)
