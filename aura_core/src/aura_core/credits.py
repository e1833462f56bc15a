"""The credits of a run: who made each scene's visual and under which licence.

One credit per distinct (source, author, link, licence), with the scenes that show it, in the order of
their first scene. ``report.json`` lists them under ``credits`` (each scene also carries its own
``credit``), ``report.html`` shows them, and with ``[render] credits = true`` they are written as text
beside the video (``credits_text``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aura_core.contract import Clip, Visual

#: The suffix of the credits file beside a video: ``final.credits.txt``, ``<out>.credits.txt``.
CREDITS_SUFFIX = ".credits.txt"


def credit_of(visual: Visual | None) -> dict[str, str] | None:
    """A visual's credit as ``report.json`` writes it (source, author, link, license), or None without one."""
    if visual is None:
        return None
    return {"source": visual.source, "author": visual.author, "link": visual.link, "license": visual.license}


def visual_kind(visual: Visual | None) -> str | None:
    """``"clip"``, ``"picture"``, or None for a scene with no visual."""
    if visual is None:
        return None
    return "clip" if isinstance(visual, Clip) else "picture"


def credits_of(visuals: Mapping[int, Visual | None]) -> list[dict[str, Any]]:
    """The distinct credits of the scenes' ``visuals`` (by scene index), each with its ``scenes`` (indexes)."""
    merged: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for index, visual in sorted(visuals.items()):
        credit = credit_of(visual)
        if credit is None:
            continue
        entry = merged.setdefault(
            (credit["source"], credit["author"], credit["link"], credit["license"]), {"scenes": [], **credit}
        )
        entry["scenes"].append(index)
    return list(merged.values())


def credit_line(credit: Mapping[str, Any]) -> str:
    """One credit as a line: ``Scenes 1, 3: <source>, by <author>, <licence>, <link>`` (empty parts left out)."""
    numbers = [int(i) + 1 for i in credit.get("scenes", [])]
    where = f"Scene {numbers[0]}" if len(numbers) == 1 else "Scenes " + ", ".join(map(str, numbers))
    parts = [str(credit.get("source") or "unknown source")]
    if credit.get("author"):
        parts.append(f"by {credit['author']}")
    parts.append(str(credit.get("license") or "licence not given"))
    if credit.get("link"):
        parts.append(str(credit["link"]))
    return f"{where}: " + ", ".join(parts)


def credits_text(credits: Sequence[Mapping[str, Any]]) -> str:
    """The credits file: a title line, then one line per credit."""
    lines = ["Visuals", *(credit_line(credit) for credit in credits)]
    return "\n".join(lines) + "\n"
