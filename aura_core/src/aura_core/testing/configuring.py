"""A provider configured from a ``[providers.<name>]`` table exactly as a run configures it, for tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from aura_core.calls import configure

P = TypeVar("P")


def configured(provider: P, settings: Mapping[str, Any], base_dir: Path | None = None) -> P:
    """``provider`` set up from the table ``settings`` (as in the brief; paths relative to ``base_dir``,
    the brief's folder, default the current folder) the way the core does before a run: through the
    provider's ``configure``, else into its declared ``settings`` class, else refusing any key.
    Every problem raises the run's ``UserError`` (a ``BriefError`` for declared settings)."""
    result: P = configure(provider, settings, base_dir or Path.cwd())
    return result
