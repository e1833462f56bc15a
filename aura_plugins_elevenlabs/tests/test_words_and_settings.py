"""Word grouping on its own, the settings table and the fingerprint."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aura_core import ProviderSettings, UserError, WordTiming
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
    """Typos and out-of-range values are reported with their key under providers.elevenlabs."""
    voice = ElevenLabsVoice()
    with pytest.raises(UserError, match=r"unknown setting\(s\) stabilty, voise"):
        voice.configure(ProviderSettings(values={"voise": "Rachel", "stabilty": 0.5}))
    with pytest.raises(UserError, match=r"providers\.elevenlabs\.stability: expected a number from 0 to 1"):
        voice.configure(ProviderSettings(values={"stability": 1.5}))
    with pytest.raises(UserError, match=r"providers\.elevenlabs\.output_format: unsupported output_format"):
        voice.configure(ProviderSettings(values={"output_format": "ulaw_8000"}))
    with pytest.raises(UserError, match=r"providers\.elevenlabs\.speed"):
        voice.configure(ProviderSettings(values={"speed": 3}))


def test_configure_applies_settings_and_concurrency() -> None:
    """Configured values reach the copy; the original keeps its defaults."""
    base = ElevenLabsVoice()
    voice = base.configure(
        ProviderSettings(values={"voice": "Rachel", "model": "eleven_v3", "concurrency": 4})
    )
    assert (voice.settings.voice, voice.settings.model, voice.concurrency) == ("Rachel", "eleven_v3", 4)
    assert base.settings.model == "eleven_multilingual_v2"


def test_fingerprint_changes_with_what_changes_the_audio_only() -> None:
    """Model, voice, format and voice settings change the fingerprint; base_url and the price do not."""

    def fp(**values: object) -> str:
        return ElevenLabsVoice().configure(ProviderSettings(values=values)).fingerprint()

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
        "from aura_core import ProviderSettings\n"
        "from aura_plugins_elevenlabs import ElevenLabsVoice\n"
        "values = {'voice': 'Rachel', 'style': 0.2}\n"
        "print(ElevenLabsVoice().configure(ProviderSettings(values=values)).fingerprint())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    here = (
        ElevenLabsVoice().configure(ProviderSettings(values={"voice": "Rachel", "style": 0.2})).fingerprint()
    )
    assert out == here


def test_plugin_registers_the_elevenlabs_tts_provider() -> None:
    """The entry point module registers one provider of kind tts named elevenlabs."""
    from aura_plugins_elevenlabs import plugin

    registered: list[object] = []
    plugin.aura_register_providers(registered.append)
    assert [(p.kind, p.name) for p in registered] == [("tts", "elevenlabs")]  # type: ignore[attr-defined]
