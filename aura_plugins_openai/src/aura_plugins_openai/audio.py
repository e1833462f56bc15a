"""Measuring the speech a server sent: WAV with the standard library, other formats by decoding with PyAV.

These functions block: call them through ``anyio.to_thread.run_sync``.
"""

from __future__ import annotations

import struct
import wave
from pathlib import Path

PCM_SAMPLE_RATE = 24_000
"""OpenAI's ``pcm`` format: raw 16-bit little-endian mono at 24 kHz."""


class AudioError(ValueError):
    """The audio file cannot be read."""


def repair_wav_sizes(path: Path) -> None:
    """Rewrite the RIFF and ``data`` sizes of a streamed WAV to match the bytes actually on disk.

    A WAV streamed before its length is known carries placeholder sizes (often ``0xFFFFFFFF``),
    which makes readers report a wrong length; the sizes are fixed in place.
    """
    with path.open("r+b") as file:
        header = file.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            raise AudioError(f"{path.name} is not a WAV file")
        total = path.stat().st_size
        offset = 12
        while offset + 8 <= total:
            file.seek(offset)
            chunk_id, size = struct.unpack("<4sI", file.read(8))
            if chunk_id == b"data":
                actual = total - offset - 8
                if size != actual:
                    file.seek(offset + 4)
                    file.write(struct.pack("<I", actual))
                    file.seek(4)
                    file.write(struct.pack("<I", total - 8))
                return
            offset += 8 + size + (size & 1)
        raise AudioError(f"{path.name} has no audio data")


def measure_wav(path: Path) -> tuple[float, int]:
    """Duration in seconds and sample rate of a WAV file, after fixing streamed sizes."""
    repair_wav_sizes(path)
    try:
        with wave.open(str(path), "rb") as reader:
            frames, rate = reader.getnframes(), reader.getframerate()
    except (wave.Error, EOFError) as error:
        raise AudioError(f"{path.name}: {error}") from None
    if rate <= 0:
        raise AudioError(f"{path.name}: sample rate {rate}")
    return frames / rate, rate


def wrap_pcm(path: Path) -> None:
    """Turn raw 24 kHz 16-bit mono PCM at ``path`` into a WAV file in place."""
    raw = path.read_bytes()
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(PCM_SAMPLE_RATE)
        writer.writeframes(raw[: len(raw) - len(raw) % 2])


def measure_decoded(path: Path) -> tuple[float, int]:
    """Duration and sample rate of any audio file PyAV reads, by decoding every frame (exact for MP3 too)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioError(f"{path.name} has no audio stream")
            stream = container.streams.audio[0]
            samples = 0
            rate = 0
            for frame in container.decode(stream):
                samples += frame.samples
                rate = frame.sample_rate or rate
    except av.FFmpegError as error:
        raise AudioError(f"{path.name}: {error}") from None
    if rate <= 0 or samples == 0:
        raise AudioError(f"{path.name} holds no audio")
    return samples / rate, rate
