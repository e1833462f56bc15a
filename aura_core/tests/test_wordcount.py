"""Words are counted per language: characters in Chinese, Japanese, Korean and Thai, emoji count, English as before."""

from __future__ import annotations

import unicodedata
import wave
from pathlib import Path

import pytest

from aura_core import (
    Pipeline,
    SceneDraft,
    Speech,
    SpeechRequest,
    VoiceSpec,
    count_words,
    plan_script,
    word_unit,
)
from aura_core.dryrun import dry_run
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice
from aura_core.validation import check_script, check_speech

from .conftest import make_spec


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Bees don't dance; it's a well-known fact, told 42 times!", 10),
        ("  Hello,   world.  ", 2),
        ("café naïve résumé", 3),
        ("", 0),
        ("... — !?", 0),
    ],
)
def test_english_is_counted_in_words_as_a_reader_counts_them(text: str, words: int) -> None:
    """Apostrophes and hyphens join a word, numbers are words, punctuation is not: as before the change."""
    assert count_words(text, "en") == words
    assert word_unit("en") == "word"


@pytest.mark.parametrize(
    ("language", "text", "characters"),
    [
        ("ja", "日本語の文章です。", 8),
        ("ja-JP", "ミツバチは ダンスで 花の場所を 伝えます。", 18),
        ("zh", "蜜蜂用舞蹈告诉同伴花在哪里。", 13),
        ("zh_Hant", "蜜蜂用舞蹈告訴同伴。", 9),
        ("ko", "안녕하세요 세계", 7),
        ("th", "สวัสดีครับ ภาษาไทย", 14),  # vowel and tone marks belong to their letter
    ],
)
def test_chinese_japanese_korean_thai_are_counted_in_characters(
    language: str, text: str, characters: int
) -> None:
    """Every letter counts one, spaces and punctuation nothing; a language tag's region does not matter."""
    assert count_words(text, language) == characters
    assert word_unit(language) == "character"


def test_decomposed_hangul_counts_one_per_syllable() -> None:
    """Jamo typed one by one (NFD) count like the composed syllables."""
    assert count_words(unicodedata.normalize("NFD", "한국어"), "ko") == 3


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("🐝🐝🐝", 3),
        ("👨\u200d👩\u200d👧", 1),  # one family joined by zero-width joiners
        ("👍🏽", 1),  # a skin tone belongs to its emoji
        ("🇯🇵🇫🇷", 2),  # two flags, each two regional indicators
        ("❤️ 1️⃣", 2),  # variation selector and keycap belong to their character
    ],
)
def test_emoji_count_one_each_in_every_language(text: str, units: int) -> None:
    """Emoji-only text is not empty of words; joined sequences, flags and skin tones count once."""
    assert count_words(text, "en") == units
    assert count_words(text, "ja") == units


def test_mixed_scripts_count_each_script_in_its_own_way() -> None:
    """In Japanese every letter counts, Latin ones too; in English a Japanese word is not one long word."""
    assert count_words("私はPythonが好きです🎉", "ja") == 14
    assert count_words("Tokyo 東京 is big", "en") == 5
    assert count_words("Bees 🐝 dance 💃🏻", "en") == 4
    assert count_words("The word 蜜蜂 means bee", "en") == 6


def test_the_planner_targets_characters_for_a_character_language() -> None:
    """60 s of Japanese is 300 characters, of Chinese 240; English stays 150 words; pacing and rate scale all."""
    assert plan_script(make_spec(plan={"duration": "60s"})).word_target == 150
    japanese = plan_script(make_spec(brief={"language": "ja"}, plan={"duration": "60s"}))
    assert (japanese.word_target, japanese.words_per_minute) == (300, 300.0)
    assert plan_script(make_spec(brief={"language": "zh-CN"}, plan={"duration": "60s"})).word_target == 240
    fast = plan_script(make_spec(brief={"language": "ko"}, plan={"duration": "60s", "pacing": "fast"}))
    assert fast.word_target == 350  # 300 × 175 / 150
    chill = plan_script(make_spec(plan={"duration": "60s", "pacing": "chill"}, voice={"rate": 1.2}))
    assert chill.words_per_minute == pytest.approx(156.0)


def test_a_japanese_script_near_its_character_target_passes_the_script_check() -> None:
    """60 Japanese characters meet a target of 50 (they were "8 words, far off the target of 50")."""
    sentence = "ミツバチはダンスで仲間に花の場所を伝えます。"  # 21 characters
    drafts = [SceneDraft(heading=f"{i}", narration=sentence, visual_prompt="bee") for i in range(3)]
    assert count_words(" ".join(d.narration for d in drafts), "ja") == 63
    assert check_script(drafts, 3, 50, True, "ja") is None
    problem = check_script(drafts, 3, 500, True, "ja")
    assert problem == "the script has 63 characters, far off the target of 500"


def test_an_emoji_only_script_has_words_to_count() -> None:
    """A script of emoji is counted, not taken for an empty one."""
    drafts = [SceneDraft(heading="Bees", narration="🐝 " * 10, visual_prompt="bee")]
    assert check_script(drafts, 1, 10, True, "en") is None


def _wav(path: Path, seconds: float) -> Speech:
    rate = 8000
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x00\x40" * int(rate * seconds))
    return Speech(path=path, duration=seconds, sample_rate=rate)


def test_speech_too_short_for_its_japanese_characters_is_rejected(tmp_path: Path) -> None:
    """One second cannot hold 120 Japanese characters (at most 800 a minute); before, they were one "word"."""
    text = "ミツバチはダンスで仲間に花の場所を伝えます" * 6
    request = SpeechRequest(text=text, voice=VoiceSpec(), language="ja", out_path=tmp_path / "a.wav")
    speech = _wav(tmp_path / "a.wav", 1.0)
    assert check_speech(speech, request) == "speech lasts 1.00 s, too short for 126 characters"
    assert check_speech(_wav(tmp_path / "b.wav", 12.0), request) is None


@pytest.mark.anyio
async def test_the_dry_run_prices_a_japanese_voice_by_its_planned_characters(tmp_path: Path) -> None:
    """A 60 s Japanese brief plans 300 characters, and 300 characters are what the voice is priced for (not 6 per "word")."""
    fakes = [FakeScriptWriter(), FakeVoice(), FakeIllustrator(), FakeComposer()]
    spec = make_spec(brief={"language": "ja"}, plan={"duration": "60s"})
    plan = await dry_run(Pipeline(fakes).registry, spec, tmp_path / "run")
    voice = next(p for p in plan.providers if p.kind == "tts")
    assert voice.characters == 300
