"""The checks a run makes before its first provider call: what the chained providers can tell from
the brief alone (``RenderChecker``), so a mistake is reported before any paid call, by the run and
by ``aura run --dry-run`` alike."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import anyio

from aura_core.contract import RenderChecker
from aura_core.specs import RenderSpec


async def render_problems(render: RenderSpec, composers: Iterable[Any]) -> list[str]:
    """The problems the ``composers`` of a chain find in ``render`` (those with ``check_render``),
    each once, in chain order. Every composer is asked: any of them may be the one that renders."""
    problems: list[str] = []
    for composer in composers:
        if isinstance(composer, RenderChecker):
            problems += await anyio.to_thread.run_sync(composer.check_render, render)
    return list(dict.fromkeys(problems))
