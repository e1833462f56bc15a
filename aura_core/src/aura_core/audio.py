"""One decoder for the speech vendors send: any audio in, a measured 16-bit mono PCM WAV on disk out.

WAV (a streamed one with placeholder sizes too), MP3, Ogg/Opus, FLAC and AAC are decoded with PyAV; raw
16-bit PCM, which carries no header, is given its rate and channel count by the caller.
PyAV is imported on first use, so ``import aura_core`` stays light: it comes with ``aura-core[audio]``.
"""

from __future__ import annotations

import io
import os
import tempfile
import uuid
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from attrs import frozen

from aura_core.errors import ProviderError

if TYPE_CHECKING:
    import av.audio.frame

#: The bytes one sample of one channel takes in the WAV written (16-bit PCM).
SAMPLE_WIDTH = 2

_COPY_CHUNK = 1 << 20


@frozen
class DecodedAudio:
    """The WAV ``decode_to_wav`` wrote: its path, and its length measured by the samples written."""

    path: Path
    duration: float
    sample_rate: int
    samples: int


class AudioDecodeError(ProviderError):
    """Audio that cannot be decoded (garbled, empty, not audio at all): a permanent ``ProviderError`` whose
    message is one line saying why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


def decode_to_wav(
    source: bytes | Path, out: Path, *, pcm_rate: int | None = None, pcm_channels: int = 1
) -> DecodedAudio:
    """Write ``source`` (encoded audio, as bytes or a file) to ``out`` as a 16-bit mono PCM WAV at the
    source's own sample rate, and measure it.

    With ``pcm_rate`` the source is raw 16-bit little-endian PCM of ``pcm_channels`` interleaved channels at
    that rate; otherwise its format is found from its bytes. ``out`` may be the source file itself: it is
    replaced only when the whole WAV is written, and on failure nothing is written to it.
    Blocking: call it through ``anyio.to_thread.run_sync``. Raises ``AudioDecodeError`` for audio that
    cannot be decoded, ``ValueError`` for a ``pcm_rate`` or ``pcm_channels`` below 1.
    """
    if (len(source) if isinstance(source, bytes) else _size(source)) == 0:
        raise AudioDecodeError("the audio is empty (0 bytes)")
    with _replacing(out) as part:
        if pcm_rate is None:
            rate, samples = _decode(source, part)
        elif pcm_channels == 1:
            rate, samples = pcm_rate, _wrap_pcm(source, part, pcm_rate, 1)
        else:
            # A WAV header around the interleaved samples lets the decoder downmix them.
            with tempfile.TemporaryFile() as interleaved:
                _wrap_pcm(source, interleaved, pcm_rate, pcm_channels)
                interleaved.seek(0)
                rate, samples = _decode(interleaved, part)
    return DecodedAudio(path=out, duration=samples / rate, sample_rate=rate, samples=samples)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as error:
        raise AudioDecodeError(f"the audio file {path} cannot be read ({error.strerror or error})") from None


@contextmanager
def _replacing(out: Path) -> Iterator[IO[bytes]]:
    """A temporary file beside ``out`` that replaces it when the block ends well and is removed otherwise."""
    out.parent.mkdir(parents=True, exist_ok=True)
    # Opened by name (not mkstemp) so that the WAV gets the usual permissions, not mkstemp's 0600.
    part = out.with_name(f".{out.name}.{uuid.uuid4().hex}.part")
    try:
        with part.open("x+b") as file:
            yield file
        os.replace(part, out)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _wrap_pcm(source: bytes | Path, target: IO[bytes], rate: int, channels: int) -> int:
    """Write raw 16-bit PCM as a WAV of ``channels`` channels to ``target``; the number of frames."""
    if rate <= 0 or channels <= 0:
        raise ValueError(f"raw PCM needs a positive rate and channel count, got {rate} Hz, {channels}")
    size = len(source) if isinstance(source, bytes) else _size(source)
    frame = SAMPLE_WIDTH * channels
    if size % frame:
        raise AudioDecodeError(
            f"{size} bytes of 16-bit PCM in {channels} channel(s) is not a whole number of samples"
        )
    with wave.open(target, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(SAMPLE_WIDTH)
        writer.setframerate(rate)
        if isinstance(source, bytes):
            writer.writeframes(source)
        else:
            with source.open("rb") as raw:
                while chunk := raw.read(_COPY_CHUNK):
                    writer.writeframes(chunk)
    return size // frame


def _decode(source: bytes | Path | IO[bytes], target: IO[bytes]) -> tuple[int, int]:
    """Decode the first audio stream of ``source`` into a 16-bit mono WAV in ``target``, one frame at a
    time; its sample rate and number of samples."""
    import av  # imported here: ``import aura_core`` does not need PyAV

    opened = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with av.open(str(opened) if isinstance(opened, Path) else opened, mode="r") as container:
            if not container.streams.audio:
                kinds: list[str] = sorted({stream.type for stream in container.streams}) or ["nothing"]
                raise AudioDecodeError(
                    f"the data is {container.format.name}, with no audio stream (it holds {', '.join(kinds)})"
                )
            return _write_frames(container.decode(container.streams.audio[0]), target)
    except av.error.FFmpegError as error:
        raise AudioDecodeError(f"the audio cannot be decoded ({error.strerror or error})") from None


def _write_frames(frames: Iterator[av.audio.frame.AudioFrame], target: IO[bytes]) -> tuple[int, int]:
    """Resample ``frames`` to 16-bit mono at the first frame's rate and write them as a WAV."""
    import av

    first = next(frames, None)
    if first is None or not first.sample_rate:
        raise AudioDecodeError("the audio holds no samples")
    rate = first.sample_rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    samples = 0
    with wave.open(target, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(SAMPLE_WIDTH)
        writer.setframerate(rate)
        for frame in _chain(first, frames):
            try:
                resampled = resampler.resample(frame)
            except ValueError as error:  # a frame unlike the first (another rate or layout mid-stream)
                raise AudioDecodeError(f"the audio changes its format midway ({error})") from None
            for out in resampled:
                # The plane is padded past its samples: only those are written.
                writer.writeframes(bytes(memoryview(out.planes[0])[: SAMPLE_WIDTH * out.samples]))
                samples += out.samples
    if samples == 0:
        raise AudioDecodeError("the audio holds no samples")
    return rate, samples


def _chain(
    first: av.audio.frame.AudioFrame, rest: Iterator[av.audio.frame.AudioFrame]
) -> Iterator[av.audio.frame.AudioFrame | None]:
    """``first``, then ``rest``, then ``None`` (which flushes the resampler)."""
    yield first
    yield from rest
    yield None
