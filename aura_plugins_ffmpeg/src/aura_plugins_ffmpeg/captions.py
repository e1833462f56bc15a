"""Captions from the narration: SRT and VTT sidecars, and an ASS file for burning in with word highlight."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from attrs import frozen

from aura_core import Narration

#: At most this many words on screen at once.
WORDS_PER_CAPTION = 7
#: The shipped font's family name, as libass finds it in the package's ``fonts`` folder.
FONT_NAME = "DejaVu Sans"
FONTS_DIR = Path(__file__).with_name("fonts")


@frozen
class Cue:
    """One caption on screen: its words, and for each word when it is said (absolute seconds)."""

    start: float
    end: float
    words: tuple[str, ...]
    word_times: tuple[tuple[float, float], ...] = ()


def cues(narration: Sequence[Narration]) -> list[Cue]:
    """Split each narration into short cues timed by word timings when known, else by characters."""
    result: list[Cue] = []
    for item in narration:
        speech = item.speech
        length = max(speech.duration, 0.0)
        if speech.words:
            timed = [
                (
                    w.text,
                    item.start + min(max(w.start, 0.0), length),
                    item.start + min(max(w.end, 0.0), length),
                )
                for w in speech.words
                if w.text.strip()
            ]
            for i in range(0, len(timed), WORDS_PER_CAPTION):
                chunk = timed[i : i + WORDS_PER_CAPTION]
                following = timed[i + WORDS_PER_CAPTION][1] if i + WORDS_PER_CAPTION < len(timed) else None
                end = following if following is not None else chunk[-1][2]
                result.append(
                    Cue(
                        start=chunk[0][1],
                        end=max(end, chunk[0][1] + 0.05),
                        words=tuple(t for t, _, _ in chunk),
                        word_times=tuple((s, e) for _, s, e in chunk),
                    )
                )
            continue
        words = item.text.split()
        if not words or length <= 0:
            continue
        lines = [words[i : i + WORDS_PER_CAPTION] for i in range(0, len(words), WORDS_PER_CAPTION)]
        total = sum(len(" ".join(line)) for line in lines)
        at = item.start
        for line in lines:
            span = length * len(" ".join(line)) / total
            result.append(Cue(start=at, end=at + span, words=tuple(line)))
            at += span
    return result


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def write_sidecars(items: Sequence[Cue], stem: Path) -> tuple[Path, Path]:
    """Write ``<stem>.srt`` and ``<stem>.vtt``; return their paths.

    Each cue's text is the script's words exactly: pysubs2 would read them as ASS (dropping ``{…}``
    and turning ``\\N`` into a line break), so only its timestamps are used and the cues are written
    here. SRT has no escapes; WebVTT escapes ``&``, ``<`` and ``>``, which it reads as markup.
    """
    from pysubs2.formats.subrip import SubripFormat  # imported here: the plugin's import stays cheap
    from pysubs2.formats.webvtt import WebVTTFormat

    srt, vtt = stem.with_suffix(".srt"), stem.with_suffix(".vtt")
    srt_blocks, vtt_blocks = [], ["WEBVTT\n"]
    for number, cue in enumerate(items, 1):
        start, end, text = _ms(cue.start), _ms(cue.end), " ".join(cue.words)
        srt_blocks.append(
            f"{number}\n{SubripFormat.ms_to_timestamp(start)} --> {SubripFormat.ms_to_timestamp(end)}\n{text}\n"
        )
        vtt_blocks.append(
            f"{WebVTTFormat.ms_to_timestamp(start)} --> {WebVTTFormat.ms_to_timestamp(end)}\n{html.escape(text, quote=False)}\n"
        )
    srt.write_text("\n".join(srt_blocks), encoding="utf-8")
    vtt.write_text("\n".join(vtt_blocks), encoding="utf-8")
    return srt, vtt


#: Written after every backslash of the script: libass reads ``\\N``, ``\\n``, ``\\h``, ``\\{`` and
#: ``\\}`` as escapes and has none for a backslash itself, so an invisible word joiner (no width,
#: default-ignorable) keeps the backslash from pairing with what follows (libass issues 194, 462).
WORD_JOINER = "\u2060"


def escape(text: str) -> str:
    """``text`` as ASS dialogue that libass draws exactly as written: a backslash never starts an
    escape, and braces are libass's literal ``\\{`` and ``\\}`` instead of override blocks."""
    return text.replace("\\", "\\" + WORD_JOINER).replace("{", "\\{").replace("}", "\\}")


def write_ass(items: Sequence[Cue], path: Path, width: int, height: int) -> None:
    """Write the ASS file to burn: white bold text, the word being said in yellow when timings are known."""
    import pysubs2  # imported here: ``import aura_plugins_ffmpeg.plugin`` stays cheap

    subs = pysubs2.SSAFile()
    subs.info["PlayResX"] = str(width)
    subs.info["PlayResY"] = str(height)
    subs.info["WrapStyle"] = "0"
    subs.styles["Default"] = pysubs2.SSAStyle(
        fontname=FONT_NAME,
        fontsize=max(8, round(height * 0.065)),
        bold=True,
        primarycolor=pysubs2.Color(255, 255, 255),
        outlinecolor=pysubs2.Color(0, 0, 0),
        backcolor=pysubs2.Color(0, 0, 0, 128),
        outline=max(1, round(height * 0.004)),
        shadow=1,
        alignment=pysubs2.Alignment.BOTTOM_CENTER,
        marginv=round(height * 0.06),
        marginl=round(width * 0.05),
        marginr=round(width * 0.05),
    )
    for cue in items:
        if not cue.word_times:
            text = " ".join(escape(w) for w in cue.words)
            subs.append(pysubs2.SSAEvent(start=_ms(cue.start), end=_ms(cue.end), text=text))
            continue
        # One event per word: the whole cue, with the word being said highlighted.
        for i, (start, _end) in enumerate(cue.word_times):
            until = cue.word_times[i + 1][0] if i + 1 < len(cue.word_times) else cue.end
            if i == 0:
                start = cue.start
            parts = [
                f"{{\\c&H00FFFF&}}{escape(w)}{{\\r}}" if j == i else escape(w)
                for j, w in enumerate(cue.words)
            ]
            subs.append(
                pysubs2.SSAEvent(start=_ms(start), end=_ms(max(until, start + 0.02)), text=" ".join(parts))
            )
    subs.save(str(path), format_="ass")
