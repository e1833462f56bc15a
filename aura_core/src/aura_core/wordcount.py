"""How much there is to say in a text, counted the way its language is measured.

Chinese, Japanese, Korean and Thai are written without spaces between words, so their unit is the
character: every letter, digit or emoji counts one (a Korean syllable block is one character).
Every other language counts words: a run of letters and digits, joined by ``'``, ``’`` or ``-``
(``don't`` and ``well-known`` are one word each); an emoji is one word too.
In either, characters of the scripts written without spaces (Han, kana, Hangul, Thai, Lao, Khmer,
Myanmar) count one each, so a Japanese name inside an English sentence is not one long word.
Combining marks, emoji modifiers and joined emoji sequences belong to the character before them;
spaces and punctuation count nothing.
The standard library's Unicode database is enough for this: no dependency.
"""

from __future__ import annotations

import bisect
import unicodedata

#: Languages (primary subtag of the brief's ``language``) whose unit is the character.
CHARACTER_LANGUAGES = frozenset({"zh", "ja", "ko", "th"})

#: Units per minute at a conversational pace: words, or characters for the languages above.
#: Japanese narration runs at about 300 characters a minute (the broadcasters' rule of thumb),
#: Mandarin at about 240, Korean at about 300 syllables, Thai at about 500 letters (vowel and tone
#: marks are not counted); the planner scales these by pacing and voice rate.
SPEAKING_RATES = {"zh": 240.0, "ja": 300.0, "ko": 300.0, "th": 500.0}

#: Words per minute at a conversational pace in every other language.
WORDS_PER_MINUTE = 150.0

# Code point ranges (first, last) of the scripts written without spaces between words.
_UNSPACED = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x1780, 0x17FF),  # Khmer
    (0x3005, 0x3007),  # ideographic iteration and closing marks, ideographic zero
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x31FF),  # Bopomofo, Hangul compatibility Jamo, Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFFDC),  # half-width Katakana and Hangul
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)
_STARTS = [first for first, _ in _UNSPACED]
_JOINERS = frozenset("'’-")
_ZWJ = "\u200d"
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)


def primary_language(language: str) -> str:
    """The primary subtag of a language tag, lower-cased: ``"ja-JP"`` and ``"ja_jp"`` give ``"ja"``."""
    return language.replace("_", "-").split("-", 1)[0].strip().lower()


def counts_characters(language: str) -> bool:
    """Whether ``language`` is measured in characters rather than words."""
    return primary_language(language) in CHARACTER_LANGUAGES


def word_unit(language: str) -> str:
    """The unit ``count_words`` counts in ``language``: ``"character"`` or ``"word"``."""
    return "character" if counts_characters(language) else "word"


def speaking_rate(language: str) -> float:
    """Units of ``language`` (see ``word_unit``) said in a minute at a conversational pace."""
    return SPEAKING_RATES.get(primary_language(language), WORDS_PER_MINUTE)


def _unspaced(char: str) -> bool:
    code = ord(char)
    index = bisect.bisect_right(_STARTS, code) - 1
    return index >= 0 and code <= _UNSPACED[index][1]


def count_words(text: str, language: str) -> int:
    """How many units there are to say in ``text`` in ``language`` (see the module docstring)."""
    by_character = counts_characters(language)
    units = 0
    in_word = False  # inside a word of a spaced script: its further letters add nothing
    joined = False  # the previous character was a zero-width joiner: this one extends an emoji
    flag_open = False  # an odd regional indicator was seen: the next one completes the flag
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if char == _ZWJ:
            joined = True
            continue
        if joined or category[0] == "M" or category == "Sk":
            # part of the character before it: a mark, a skin tone, a joined emoji
            joined = False
            continue
        if category[0] in "LN":
            flag_open = False
            if by_character or _unspaced(char):
                units += 1
                in_word = False
            elif not in_word:
                units += 1
                in_word = True
            continue
        if category == "So":
            # an emoji (or another pictograph); two regional indicators make one flag
            flag = ord(char) in _REGIONAL_INDICATORS
            if not (flag and flag_open):
                units += 1
            flag_open = flag and not flag_open
            in_word = False
            continue
        flag_open = False
        if char in _JOINERS and in_word:
            continue
        in_word = False
    return units


__all__ = [
    "CHARACTER_LANGUAGES",
    "SPEAKING_RATES",
    "WORDS_PER_MINUTE",
    "count_words",
    "counts_characters",
    "primary_language",
    "speaking_rate",
    "word_unit",
]
