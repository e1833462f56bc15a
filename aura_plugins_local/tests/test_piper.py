"""The Piper voice with the real bundled model: measured durations, determinism, rate, word timings."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from aura_core import ProviderError, Speech, SpeechRequest, VoiceSpec
from aura_plugins_local.piper_voice import PiperSettings, PiperVoiceProvider, estimate_words, split_sentences

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
async def test_piper_speaks_an_unknown_voice_name_with_the_bundled_voice_and_says_which(
    tmp_path: Path,
) -> None:
    """A voice name Piper has no model for (it used to fail the run) is spoken by the bundled joe voice, the
    same audio as for "joe", and the result names joe, so the core can note the difference."""
    request = SpeechRequest(
        text="Hi there.", voice=VoiceSpec(name="rachel"), language="en", out_path=tmp_path / "x.wav"
    )
    speech = await PiperVoiceProvider().synthesize(request)
    joe = await _say(tmp_path / "joe.wav", "Hi there.")
    assert speech.voice == joe.voice == "joe"
    assert _wav(speech.path)[1].tobytes() == _wav(joe.path)[1].tobytes()


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
    from aura_core import UserError
    from aura_core.testing import configured
    from aura_plugins_local.piper_voice import bundled_model

    voice = configured(PiperVoiceProvider(), {"model": str(bundled_model())}, tmp_path)
    request = SpeechRequest(
        text="Hello.", voice=VoiceSpec(name="custom"), language="en", out_path=tmp_path / "m.wav"
    )
    speech = await voice.synthesize(request)
    assert speech.duration > 0.3
    assert speech.voice == "joe"  # the voice of en_US-joe-medium.onnx, named from Piper's file naming
    with pytest.raises(UserError, match=r"providers\.piper\.model"):
        configured(PiperVoiceProvider(), {"model": "missing.onnx"}, tmp_path)
    with pytest.raises(UserError, match="voice_id"):
        configured(PiperVoiceProvider(), {"voice_id": "x"}, tmp_path)
    with pytest.raises(UserError) as caught:
        configured(
            PiperVoiceProvider(),
            {"model": "missing.onnx", "sentence_pause": 5, "length_scale": "slow", "voice_id": "x"},
            tmp_path,
        )
    assert str(caught.value).splitlines() == [
        f"providers.piper.model: {tmp_path / 'missing.onnx'} needs both the .onnx file and its .onnx.json beside it",
        "providers.piper.sentence_pause: expected a number from 0 to 3, got 5",
        "providers.piper.length_scale: expected a number from 0.3 to 3, got 'slow'",
        "providers.piper.voice_id: unknown setting; expected one of model, sentence_pause, length_scale",
    ]
    slow = configured(PiperVoiceProvider(), {"length_scale": 2, "sentence_pause": 0}, tmp_path)
    assert slow.settings == PiperSettings(model=None, sentence_pause=0.0, length_scale=2.0)
    assert slow.fingerprint() != PiperVoiceProvider().fingerprint()


BEES = "honeybees share the way to flowers with a dance that tells their sisters how far to fly"
RUN_ON = " ".join(BEES.split()[i % 17] for i in range(300))


@pytest.mark.anyio
async def test_piper_speaks_a_long_run_on_sentence_in_bounded_inferences(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 words with no punctuation (one Piper sentence, one huge onnx inference before) are spoken in
    pieces: no inference gets more than MAX_PHONEME_IDS phoneme ids, the speech lasts as long as 300
    words take, and the word timings are in order and cover the audio without a long hole."""
    from piper import PiperVoice

    from aura_plugins_local.piper_voice import MAX_PHONEME_IDS

    sizes: list[int] = []
    infer = PiperVoice.phoneme_ids_to_audio

    def observed(self: PiperVoice, phoneme_ids: list[int], *args: object, **kwargs: object) -> object:
        sizes.append(len(phoneme_ids))  # what this one onnx inference gets; Piper still does the work
        return infer(self, phoneme_ids, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(PiperVoice, "phoneme_ids_to_audio", observed)
    speech = await _say(tmp_path / "long.wav", RUN_ON)

    assert len(sizes) >= 8, sizes
    assert max(sizes) <= MAX_PHONEME_IDS, sizes
    rate, samples = _wav(speech.path)
    assert speech.duration == pytest.approx(len(samples) / rate)
    assert 100 <= 300 / (speech.duration / 60) <= 220  # words per minute of narration
    assert [w.text for w in speech.words] == RUN_ON.split()
    for before, after in zip(speech.words, speech.words[1:], strict=False):
        assert before.start < before.end <= after.start + 1e-6
        assert after.start - before.end < 1.0  # no hole in the timings
    assert speech.words[0].start < 1.0
    assert speech.duration - 1.0 < speech.words[-1].end <= speech.duration
    # audible all through: every second of the file has speech in it
    seconds = samples[: len(samples) // rate * rate].reshape(-1, rate).astype(np.float64)
    assert (np.sqrt(np.mean(seconds**2, axis=1)) > 300).all()


def test_cjk_sentence_ends_split_sentences() -> None:
    """``。``, ``！`` and ``？`` end a sentence with or without a space after them; a closing quote stays."""
    assert split_sentences("蜜蜂跳舞。它们分享方向！你知道吗？「是的。」好") == [
        "蜜蜂跳舞。",
        "它们分享方向！",
        "你知道吗？",
        "「是的。」",
        "好",
    ]
    assert split_sentences('He said "go." Then 1.5 m! Done') == ['He said "go."', "Then 1.5 m!", "Done"]


def test_a_long_sentence_splits_at_clauses_then_spaces_then_anywhere() -> None:
    """Pieces keep every character in order, stay within the limit and prefer clause marks, then spaces;
    ``;`` and the CJK ``、，；：`` are clause marks; text without spaces is cut at the length."""
    from aura_plugins_local.piper_voice import split_pieces

    clauses = "bees dance in the dark hive, sisters follow the figure; scouts return: the colony learns"
    assert split_pieces(clauses, 40) == [
        "bees dance in the dark hive,",
        "sisters follow the figure;",
        "scouts return: the colony learns",
    ]
    words = " ".join(f"w{i}" for i in range(100))
    pieces = split_pieces(words, 50)
    assert all(len(p) <= 50 for p in pieces)
    assert " ".join(pieces) == words
    cjk = "一二三四五，六七八九十；" * 10
    pieces = split_pieces(cjk, 30)
    assert "".join(pieces) == cjk
    assert all(len(p) <= 30 and p[-1] in "，；" for p in pieces)
    assert pieces[0] == "一二三四五，六七八九十；一二三四五，六七八九十；一二三四五，"
    assert split_pieces("字" * 70, 30) == ["字" * 30, "字" * 30, "字" * 10]
    assert split_pieces("short one", 30) == ["short one"]


def test_a_piece_whose_digits_read_long_is_halved_until_its_phonemes_fit() -> None:
    """154 characters of digits read out as words make thousands of phoneme ids; the voice halves the
    piece until Piper's own phonemizer gives no sentence more than MAX_PHONEME_IDS."""
    from aura_plugins_local.piper_voice import MAX_PHONEME_IDS, bounded_pieces, bundled_model, load_voice

    voice = load_voice(bundled_model())
    digits = "1234567890 " * 14
    assert max(len(voice.phonemes_to_ids(s)) for s in voice.phonemize(digits)) > 4 * MAX_PHONEME_IDS
    pieces = bounded_pieces(voice, digits.strip())
    assert " ".join(pieces) == digits.strip()
    for piece in pieces:
        assert max(len(voice.phonemes_to_ids(s)) for s in voice.phonemize(piece)) <= MAX_PHONEME_IDS
