"""Group ElevenLabs' character alignment into word timings for captions."""

from __future__ import annotations

from collections.abc import Sequence

from aura_core import WordTiming


def _is_spoken(token: str) -> bool:
    """Whether a whitespace-free token holds something said (a letter or a digit), not only punctuation."""
    return any(ch.isalnum() for ch in token)


def group_words(
    characters: Sequence[str],
    starts: Sequence[float],
    ends: Sequence[float],
) -> tuple[WordTiming, ...]:
    """Join per-character times into words: whitespace separates words, punctuation stays with its word.

    A word starts when its first character starts and ends when its last character ends.
    A token of punctuation alone (a dash between spaces, an ellipsis) makes no word of its own:
    it is appended to the word before it, or put in front of the word after it when it opens the text,
    so the caption text keeps every visible character.
    Raises ``ValueError`` when the three sequences differ in length.
    """
    if not (len(characters) == len(starts) == len(ends)):
        raise ValueError(
            f"alignment arrays differ in length: {len(characters)} characters, "
            f"{len(starts)} start times, {len(ends)} end times"
        )
    tokens: list[tuple[str, float, float]] = []
    text = ""
    start = end = 0.0
    for char, char_start, char_end in zip(characters, starts, ends, strict=True):
        if not char:
            continue
        if char.isspace():
            if text:
                tokens.append((text, start, end))
                text = ""
            continue
        if not text:
            start = float(char_start)
        text += char
        end = max(float(char_end), start)
    if text:
        tokens.append((text, start, end))

    words: list[WordTiming] = []
    leading = ""  # punctuation seen before the first spoken word
    for token, token_start, token_end in tokens:
        if _is_spoken(token):
            words.append(WordTiming(text=leading + token, start=token_start, end=token_end))
            leading = ""
        elif words:
            last = words[-1]
            words[-1] = WordTiming(text=f"{last.text} {token}", start=last.start, end=last.end)
        else:
            leading += token + " "
    return tuple(words)
