"""Word grouping on its own, the settings table and the fingerprint."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aura_core import BriefError, WordTiming
from aura_core.testing import configured
from aura_plugins_elevenlabs import ElevenLabsVoice, group_words


def timed(text: str, step: float = 0.1) -> tuple[list[str], list[float], list[float]]:
    """Characters of ``text``, one every ``step`` seconds, each lasting ``step``."""
    chars = list(text)
    starts = [round(i * step, 3) for i in range(len(chars))]
    return chars, starts, [round(s + step, 3) for s in starts]


def test_words_span_first_start_to_last_end() -> None:
    """ "Hi there": two words, timed from their first character's start to their last character's end."""
    assert group_words(*timed("Hi there")) == (
        WordTiming("Hi", 0.0, 0.2),
        WordTiming("there", 0.3, 0.8),
    )


def test_punctuation_only_tokens_join_a_neighbour_and_never_stand_alone() -> None:
    """Leading quotes join the next word, a lone dash or ellipsis the word before; none is a word alone."""
    words = group_words(*timed('" ... Well - so ?'))
    assert [w.text for w in words] == ['" ... Well -', "so ?"]
    assert words[0].start == pytest.approx(0.6)  # when "W" starts, not the quote
    assert group_words(*timed(" -- ... ! ")) == ()


def test_combining_marks_and_multi_character_entries_stay_inside_words() -> None:
    """A decomposed "é" (e + U+0301) and multi-character entries stay in one word; tabs and newlines split."""
    chars = ["C", "a", "f", "e", "\u0301", "\t", "ü", "ber", "\n", "\n", "ok"]
    starts = [float(i) for i in range(len(chars))]
    ends = [s + 0.5 for s in starts]
    assert group_words(chars, starts, ends) == (
        WordTiming("Cafe\u0301", 0.0, 4.5),
        WordTiming("über", 6.0, 7.5),
        WordTiming("ok", 10.0, 10.5),
    )


def test_arrays_of_different_lengths_are_refused() -> None:
    """A malformed alignment raises ValueError instead of shifting every word."""
    with pytest.raises(ValueError, match="differ in length"):
        group_words(["a", "b"], [0.0], [0.1, 0.2])


def test_unknown_and_bad_settings_raise_user_errors_naming_them() -> None:
    """Typos and bad values are each one line under providers.elevenlabs, in the core's wording."""

    def problems(**values: object) -> tuple[str, ...]:
        with pytest.raises(BriefError) as caught:
            configured(ElevenLabsVoice(), values)
        return caught.value.problems

    expected = "expected one of voice, model, output_format"
    assert [line.split(";")[0] for line in problems(voise="Rachel", stabilty=0.5)] == [
        "providers.elevenlabs.stabilty: unknown setting (did you mean stability?)",
        "providers.elevenlabs.voise: unknown setting (did you mean voice?)",
    ]
    assert expected in problems(voise="Rachel")[0]
    assert problems(stability=1.5) == (
        "providers.elevenlabs.stability: expected a number from 0 to 1, got 1.5",
    )
    (line,) = problems(output_format="ulaw_8000")
    assert line.startswith("providers.elevenlabs.output_format: unsupported output_format 'ulaw_8000'")
    assert problems(speed=3) == ("providers.elevenlabs.speed: expected a number from 0.7 to 1.2, got 3",)
    assert problems(seed=2**32, base_url="ftp://x", concurrency=0, use_speaker_boost="yes") == (
        "providers.elevenlabs.use_speaker_boost: expected true or false, got 'yes'",
        "providers.elevenlabs.seed: expected a whole number from 0 to 4294967295, got 4294967296",
        "providers.elevenlabs.base_url: expected an http:// or https:// URL like "
        "\"http://127.0.0.1:8080\", got 'ftp://x'",
        "providers.elevenlabs.concurrency: expected a whole number of at least 1, got 0",
    )


def test_api_key_env_takes_a_variable_name_and_never_echoes_a_key() -> None:
    """``api_key_env`` names the variable the key is read from; a pasted key is refused without showing it."""
    pasted = "sk_" + "0a1b2c3d" * 4
    with pytest.raises(BriefError) as caught:
        configured(ElevenLabsVoice(), {"api_key_env": pasted})
    assert caught.value.problems[0].startswith("providers.elevenlabs.api_key_env: expected the NAME of")
    assert pasted not in str(caught.value)
    voice = configured(ElevenLabsVoice(), {"api_key_env": "MY_ELEVEN_KEY"})
    assert voice.settings.api_key.env == "MY_ELEVEN_KEY"
    assert pasted not in repr(voice.settings)


def test_configure_applies_settings_and_concurrency() -> None:
    """Configured values reach the copy; the original keeps its defaults."""
    base = ElevenLabsVoice()
    voice = configured(base, {"voice": "Rachel", "model": "eleven_v3", "concurrency": 4})
    assert (voice.settings.voice, voice.settings.model, voice.concurrency) == ("Rachel", "eleven_v3", 4)
    assert (base.settings.model, base.concurrency) == ("eleven_multilingual_v2", 2)


def test_fingerprint_changes_with_what_changes_the_audio_only() -> None:
    """Model, voice, format and voice settings change the fingerprint; base_url and the price do not."""

    def fp(**values: object) -> str:
        return configured(ElevenLabsVoice(), values).fingerprint()

    plain = fp()
    assert fp(base_url="http://127.0.0.1:1", price_per_1k_characters=9.0, timeout=5) == plain
    changed = [
        fp(model="eleven_flash_v2_5"),
        fp(voice="Rachel"),
        fp(output_format="mp3_44100_128"),
        fp(stability=0.3),
        fp(similarity_boost=0.3),
        fp(style=0.3),
        fp(speed=0.9),
        fp(language="fr"),
    ]
    assert len({plain, *changed}) == len(changed) + 1


def test_fingerprint_is_the_same_in_another_process() -> None:
    """The fingerprint is stable across processes (it is part of the cache key)."""
    code = (
        "from aura_core.testing import configured\n"
        "from aura_plugins_elevenlabs import ElevenLabsVoice\n"
        "values = {'voice': 'Rachel', 'style': 0.2}\n"
        "print(configured(ElevenLabsVoice(), values).fingerprint())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    here = configured(ElevenLabsVoice(), {"voice": "Rachel", "style": 0.2}).fingerprint()
    assert out == here


def test_plugin_registers_the_elevenlabs_tts_provider() -> None:
    """The entry point module registers one provider of kind tts named elevenlabs."""
    from aura_plugins_elevenlabs import plugin

    registered: list[object] = []
    plugin.aura_register_providers(registered.append)
    assert [(p.kind, p.name) for p in registered] == [("tts", "elevenlabs")]  # type: ignore[attr-defined]
