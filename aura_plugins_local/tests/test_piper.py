"""The Piper voice with the real bundled model: measured durations, determinism, rate, word timings."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from aura_core import ProviderError, Speech, SpeechRequest, VoiceSpec
from aura_plugins_local.piper_voice import PiperVoiceProvider, estimate_words, split_sentences

TEXT = "Bees dance to share directions. The angle points the way!"


async def _say(out: Path, text: str = TEXT, rate: float = 1.0) -> Speech:
    request = SpeechRequest(text=text, voice=VoiceSpec(rate=rate), language="en", out_path=out)
    return await PiperVoiceProvider().synthesize(request)


def _wav(path: Path) -> tuple[int, np.ndarray]:
    with wave.open(str(path), "rb") as wav:
        return wav.getframerate(), np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


@pytest.mark.anyio
async def test_piper_writes_a_real_wav_whose_measured_duration_is_reported(tmp_path: Path) -> None:
    """The WAV on disk holds audible speech, and Speech.duration/sample_rate match the file."""
    speech = await _say(tmp_path / "a.wav")
    rate, samples = _wav(speech.path)
    assert speech.path == tmp_path / "a.wav"
    assert speech.sample_rate == rate == 22050
    assert speech.duration == pytest.approx(len(samples) / rate)
    assert 1.5 < speech.duration < 8.0
    assert np.abs(samples).max() > 10000  # real, normalised speech, not silence


@pytest.mark.anyio
async def test_piper_is_deterministic_for_the_same_text(tmp_path: Path) -> None:
    """Two syntheses of the same text give byte-identical files and the same word timings."""
    first = await _say(tmp_path / "1.wav")
    second = await _say(tmp_path / "2.wav")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.words == second.words


@pytest.mark.anyio
async def test_piper_rate_changes_duration(tmp_path: Path) -> None:
    """A faster rate gives shorter speech, a slower rate longer speech."""
    normal = await _say(tmp_path / "n.wav", "Honeybees dance.")
    fast = await _say(tmp_path / "f.wav", "Honeybees dance.", rate=1.5)
    slow = await _say(tmp_path / "s.wav", "Honeybees dance.", rate=0.7)
    assert fast.duration < normal.duration * 0.85
    assert slow.duration > normal.duration * 1.2


@pytest.mark.anyio
async def test_piper_word_timings_are_ordered_and_inside_the_audio(tmp_path: Path) -> None:
    """One timing per word, in text order, non-overlapping, inside the audio; the second sentence starts
    after a silent gap in the audio."""
    speech = await _say(tmp_path / "w.wav")
    assert [w.text for w in speech.words] == TEXT.split()
    for before, after in zip(speech.words, speech.words[1:], strict=False):
        assert before.start < before.end <= after.start + 1e-6
    assert speech.words[0].start >= 0
    assert speech.words[-1].end <= speech.duration
    # the gap between the sentences is silence in the file
    rate, samples = _wav(speech.path)
    gap_start, gap_end = speech.words[4].end, speech.words[5].start
    assert gap_end - gap_start > 0.2
    quiet = samples[int(gap_start * rate) + 50 : int(gap_end * rate) - 50]

    def rms(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))

    assert rms(quiet) < 0.1 * rms(samples)


@pytest.mark.anyio
@pytest.mark.parametrize("text", ["", "   \n "])
async def test_piper_refuses_empty_text_permanently(tmp_path: Path, text: str) -> None:
    """Empty or blank text raises a permanent ProviderError and writes no file."""
    with pytest.raises(ProviderError) as caught:
        await _say(tmp_path / "e.wav", text)
    assert caught.value.transient is False
    assert not (tmp_path / "e.wav").exists()


@pytest.mark.anyio
async def test_piper_unknown_voice_name_is_a_permanent_error(tmp_path: Path) -> None:
    """A voice name other than the bundled one, with no model setting, says how to fix it."""
    request = SpeechRequest(
        text="Hi.", voice=VoiceSpec(name="rachel"), language="en", out_path=tmp_path / "x.wav"
    )
    with pytest.raises(ProviderError, match="model"):
        await PiperVoiceProvider().synthesize(request)


def test_fingerprint_is_stable_and_names_the_voice() -> None:
    """The fingerprint names the voice file and its settings and does not change between calls."""
    voice = PiperVoiceProvider()
    assert voice.fingerprint() == PiperVoiceProvider().fingerprint()
    assert "en_US-joe-medium.onnx" in voice.fingerprint()
    assert PiperVoiceProvider(sentence_pause=0.5).fingerprint() != voice.fingerprint()


def test_sentence_split_and_proportional_estimate() -> None:
    """Sentences split after end marks; longer words get longer slots that tile the span exactly."""
    assert split_sentences("One. Two! Three? Four") == ["One.", "Two!", "Three?", "Four"]
    timings = estimate_words(["a", "extraordinary", "b"], 1.0, 3.0)
    assert timings[0].start == 1.0
    assert timings[-1].end == 3.0
    assert timings[1].end - timings[1].start > 3 * (timings[0].end - timings[0].start)


@pytest.mark.anyio
async def test_piper_model_setting_selects_a_voice_file_and_bad_settings_are_user_errors(
    tmp_path: Path,
) -> None:
    """``model`` by path speaks with that file even under another voice name; bad settings name the key."""
    from aura_core import ProviderSettings, UserError
    from aura_plugins_local.piper_voice import bundled_model

    voice = PiperVoiceProvider().configure(ProviderSettings({"model": str(bundled_model())}, tmp_path))
    request = SpeechRequest(
        text="Hello.", voice=VoiceSpec(name="custom"), language="en", out_path=tmp_path / "m.wav"
    )
    assert (await voice.synthesize(request)).duration > 0.3
    with pytest.raises(UserError, match=r"providers\.piper\.model"):
        PiperVoiceProvider().configure(ProviderSettings({"model": "missing.onnx"}, tmp_path))
    with pytest.raises(UserError, match="voice_id"):
        PiperVoiceProvider().configure(ProviderSettings({"voice_id": "x"}, tmp_path))
