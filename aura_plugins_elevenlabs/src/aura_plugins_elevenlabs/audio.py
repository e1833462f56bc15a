"""ElevenLabs' audio formats (``codec_samplerate[_bitrate]``) and how each becomes a measured WAV.

Decoding is the core's ``decode_to_wav``, the one decoder every voice uses: ``pcm_*`` is raw 16-bit mono and
is given its rate, ``wav_*``, ``mp3_*`` and ``opus_*`` are decoded from their bytes.
"""

from __future__ import annotations

import re
from pathlib import Path

from aura_core import DecodedAudio, decode_to_wav

#: Output formats this provider accepts, as the API spells them (codec_samplerate[_bitrate]).
FORMAT = re.compile(r"^(?P<codec>pcm|wav|mp3|opus)_(?P<rate>\d{4,5})(?:_(?P<bitrate>\d{2,3}))?$")


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


def write_audio(path: Path, data: bytes, output_format: str) -> DecodedAudio:
    """Write ``data`` (audio in ``output_format``) to ``path`` as a 16-bit mono WAV and measure it.

    Blocking: call it in a worker thread. Raises ``AudioDecodeError`` when ``data`` cannot be decoded.
    """
    codec, rate = parse_format(output_format)
    return decode_to_wav(data, path, pcm_rate=rate if codec == "pcm" else None)
