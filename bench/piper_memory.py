"""Memory: peak RSS of the offline Piper voice speaking 2,000 words with no punctuation vs the same words
punctuated.

Each synthesis is a child process (this script with ``--child``) calling ``PiperVoiceProvider.synthesize``
with the bundled joe voice; its peak RSS is sampled every 20 ms with psutil (``_common.peak_rss_of``).
The punctuated text is the same words in sentences of 10 to 30 words (20 on average, as a narrated
script has them) with a comma in the middle of each; the unpunctuated text is one run-on sentence.
Before the voice bounded what one inference gets, 800 unpunctuated words took 5.2 GB and 1,400 crashed
onnxruntime. Goal: the unpunctuated peak within 20 % of the punctuated one.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from pathlib import Path

from _common import MIB, header, peak_rss_of, row

PASSAGE = (
    "honeybees share the way to flowers with a dance that tells their sisters how far to fly and in which "
    "direction to turn against the sun while the hive waits in the dark for news of nectar and pollen "
    "scouts return and repeat the figure many times so that others learn it before they leave"
)
WORDS = PASSAGE.split()

GOAL = 1.20


def texts(count: int) -> tuple[str, str]:
    """``count`` words as one run-on sentence, and the same words as punctuated sentences."""
    words = [WORDS[i % len(WORDS)] for i in range(count)]
    sentences: list[str] = []
    start = 0
    for length in itertools.cycle((10, 14, 18, 22, 26, 30)):
        if start >= count:
            break
        part = words[start : start + length]
        part[max(0, len(part) // 2 - 1)] += ","
        sentences.append(" ".join(part).capitalize() + ".")
        start += length
    return " ".join(words), " ".join(sentences)


def child(text_file: Path, out: Path) -> None:
    """Speak the text in ``text_file`` into ``out`` and print its duration and word count as JSON."""
    import anyio

    from aura_core import SpeechRequest, VoiceSpec
    from aura_plugins_local.piper_voice import PiperVoiceProvider

    request = SpeechRequest(text=text_file.read_text(), voice=VoiceSpec(), language="en", out_path=out)
    speech = anyio.run(PiperVoiceProvider().synthesize, request)
    print(json.dumps({"duration": speech.duration, "words": len(speech.words)}))


def main() -> None:
    """Measure both texts ``--repeats`` times, print the table and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", nargs=2, type=Path, metavar=("TEXT", "WAV"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    header(
        f"Piper voice: peak RSS speaking {args.words:,} words, run-on vs punctuated",
        f"python bench/piper_memory.py --words {args.words} --repeats {args.repeats}",
        args.repeats,
    )
    peaks: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, text in zip(("unpunctuated", "punctuated"), texts(args.words), strict=True):
            source = Path(folder) / f"{label}.txt"
            source.write_text(text)
            for _ in range(args.repeats):
                report = Path(folder) / "out.json"
                argv = [sys.executable, __file__, "--child", str(source), str(Path(folder) / f"{label}.wav")]
                wall, peak, code = peak_rss_of(argv, stdout=report, stderr=Path(folder) / "err.txt")
                if code != 0:
                    raise SystemExit(f"{label}: the child failed:\n{(Path(folder) / 'err.txt').read_text()}")
                spoken = json.loads(report.read_text())
                print(f"  {label}: {spoken['duration']:.0f} s of speech in {wall:.0f} s", flush=True)
                peaks.setdefault(label, []).append(peak / MIB)
    for label, values in peaks.items():
        row(f"peak RSS, {label}", values, "MiB")
    ratio = max(peaks["unpunctuated"]) / min(peaks["punctuated"])
    verdict = "ok" if ratio <= GOAL else "over the goal"
    print(f"  unpunctuated / punctuated: {ratio:.2f} (goal: at most {GOAL:.2f}, {verdict})")


if __name__ == "__main__":
    main()
