"""``decode_to_wav``: real audio encoded by PyAV in every format vendors send, decoded to a 16-bit mono WAV
whose measured length is asserted; garbled, empty and non-audio input refused with one line."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from aura_core import AudioDecodeError, DecodedAudio, ProviderError, decode_to_wav

RATE = 24_000
SECONDS = 1.5
Samples = np.ndarray[Any, np.dtype[np.int16]]


def tone(rate: int = RATE, seconds: float = SECONDS, hz: float = 440.0) -> Samples:
    """A sine of ``hz`` at ``rate``, 16-bit."""
    t = np.arange(round(rate * seconds)) / rate
    return (np.sin(2 * np.pi * hz * t) * 12000).astype(np.int16)


def encoded(container: str, codec: str, pcm: Samples, rate: int, channels: int = 1) -> bytes:
    """``pcm`` (mono, repeated on every channel) encoded by PyAV into ``container`` with ``codec``."""
    layout = "mono" if channels == 1 else "stereo"
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        interleaved = np.repeat(pcm, channels).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(interleaved, format="s16", layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def wav_samples(path: Path) -> tuple[int, int, int, Samples]:
    """Channels, sample width, rate and samples of the WAV at ``path``, read with the standard library."""
    with wave.open(str(path), "rb") as reader:
        frames = reader.readframes(reader.getnframes())
        return (
            reader.getnchannels(),
            reader.getsampwidth(),
            reader.getframerate(),
            np.frombuffer(frames, "<i2"),
        )


def loudest_hz(samples: Samples, rate: int) -> float:
    """The frequency with the most energy: the tone survived the codec when it is the one encoded."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def assert_is_the_tone(result: DecodedAudio, rate: int, tolerance: float) -> None:
    """The WAV is 16-bit mono at ``rate``, as long as measured, and holds the 440 Hz tone of SECONDS."""
    channels, width, wav_rate, samples = wav_samples(result.path)
    assert (channels, width, wav_rate) == (1, 2, rate)
    assert result.sample_rate == rate
    assert result.samples == len(samples)
    assert result.duration == pytest.approx(len(samples) / rate)
    assert abs(result.duration - SECONDS) <= tolerance + 1e-9, result.duration
    assert loudest_hz(samples, rate) == pytest.approx(440, abs=2)


# ADTS AAC announces neither its encoder delay nor its padding: up to two 1024-sample frames more.
FORMATS = [
    ("mp3", "libmp3lame", 24_000, 0.0),
    ("ogg", "libopus", 48_000, 0.0),
    ("flac", "flac", 24_000, 0.0),
    ("adts", "aac", 24_000, 2048 / 24_000),
    ("wav", "pcm_s16le", 22_050, 0.0),
]


@pytest.mark.parametrize(("container", "codec", "rate", "tolerance"), FORMATS)
def test_each_vendor_format_becomes_a_measured_16_bit_mono_wav(
    tmp_path: Path, container: str, codec: str, rate: int, tolerance: float
) -> None:
    """MP3, Ogg/Opus, FLAC, AAC (ADTS) and WAV, given as bytes, come out as the same tone, measured."""
    data = encoded(container, codec, tone(rate), rate)
    result = decode_to_wav(data, tmp_path / "speech.wav")
    assert result.path == tmp_path / "speech.wav"
    assert_is_the_tone(result, rate, tolerance)


def test_a_stereo_float_wav_is_downmixed_to_16_bit_mono(tmp_path: Path) -> None:
    """A 32-bit float stereo WAV at 44.1 kHz keeps its rate and becomes 16-bit mono."""
    data = encoded("wav", "pcm_f32le", tone(44_100), 44_100, channels=2)
    assert_is_the_tone(decode_to_wav(data, tmp_path / "s.wav"), 44_100, 0.0)


@pytest.mark.parametrize("placeholder", [0xFFFFFFFF, 0])
def test_a_streamed_wav_with_placeholder_sizes_is_measured_by_its_bytes(
    tmp_path: Path, placeholder: int
) -> None:
    """A WAV streamed before its length was known (RIFF and data sizes 0xFFFFFFFF or 0), given as the file it
    was streamed into, is rewritten in place with the sizes of the samples really there."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(tone().tobytes())
    data = bytearray(buffer.getvalue())
    assert data[36:40] == b"data"
    data[4:8] = data[40:44] = struct.pack("<I", placeholder)
    path = tmp_path / "streamed.wav"
    path.write_bytes(bytes(data))
    assert_is_the_tone(decode_to_wav(path, path), RATE, 0.0)
    assert not list(tmp_path.glob(".*.part"))


def test_raw_pcm_is_given_its_rate_and_channels(tmp_path: Path) -> None:
    """Raw 16-bit PCM has no header: mono is wrapped as it is; stereo is downmixed."""
    mono = decode_to_wav(tone().tobytes(), tmp_path / "mono.wav", pcm_rate=RATE)
    assert_is_the_tone(mono, RATE, 0.0)
    assert wav_samples(mono.path)[3].tobytes() == tone().tobytes()  # wrapped, not re-coded
    stereo_file = tmp_path / "stereo.pcm"
    stereo_file.write_bytes(np.repeat(tone(16_000), 2).tobytes())
    stereo = decode_to_wav(stereo_file, tmp_path / "stereo.wav", pcm_rate=16_000, pcm_channels=2)
    assert_is_the_tone(stereo, 16_000, 0.0)


def test_an_encoded_file_on_disk_is_replaced_by_its_wav(tmp_path: Path) -> None:
    """A file a response was streamed into can be decoded in place: the MP3 at the path becomes a WAV."""
    path = tmp_path / "speech.wav"
    path.write_bytes(encoded("mp3", "libmp3lame", tone(), RATE))
    result = decode_to_wav(path, path)
    assert path.read_bytes()[:4] == b"RIFF"
    assert_is_the_tone(result, RATE, 0.0)
    (tmp_path / "plain").write_bytes(b"")
    assert path.stat().st_mode == (tmp_path / "plain").stat().st_mode  # the usual permissions
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain", "speech.wav"]


def png_bytes() -> bytes:
    """A small PNG: a valid file of the wrong kind."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


BAD = {
    "empty": (b"", "empty"),
    "garbled": (bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8)), "cannot be decoded"),
    "json error page": (b'{"detail": {"status": "quota_exceeded"}}', "cannot be decoded"),
    "a picture": (png_bytes(), "no audio stream"),
    "odd raw pcm": (b"\x00\x01\x02", "not a whole number of samples"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_undecodable_input_is_one_permanent_line_and_writes_nothing(tmp_path: Path, case: str) -> None:
    """Empty, garbled, a vendor's JSON error in place of audio, a picture, truncated raw PCM: an
    ``AudioDecodeError`` (a permanent ``ProviderError``) with one line saying why, and no file."""
    data, reason = BAD[case]
    out = tmp_path / "speech.wav"
    with pytest.raises(AudioDecodeError) as caught:
        decode_to_wav(data, out, pcm_rate=RATE if case == "odd raw pcm" else None)
    error = caught.value
    assert isinstance(error, ProviderError) and error.transient is False
    assert reason in error.message and "\n" not in error.message
    assert list(tmp_path.iterdir()) == []


def test_a_failed_decode_in_place_leaves_the_source_as_it_was(tmp_path: Path) -> None:
    """Decoding a file into itself replaces it only on success: a garbled file stays, byte for byte."""
    path = tmp_path / "speech.wav"
    path.write_bytes(b"RIFF" + bytes(range(200)))
    with pytest.raises(AudioDecodeError):
        decode_to_wav(path, path)
    assert path.read_bytes() == b"RIFF" + bytes(range(200))
    assert [p.name for p in tmp_path.iterdir()] == ["speech.wav"]


def test_a_missing_source_file_is_one_line(tmp_path: Path) -> None:
    """A source path that does not exist is an ``AudioDecodeError`` naming it."""
    with pytest.raises(AudioDecodeError, match=r"missing\.mp3 cannot be read"):
        decode_to_wav(tmp_path / "missing.mp3", tmp_path / "out.wav")


def test_importing_aura_core_does_not_import_pyav() -> None:
    """PyAV is heavy and optional (``aura-core[audio]``): ``import aura_core`` leaves it unloaded."""
    code = "import sys, aura_core, aura_core.audio; print('av' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
