"""Reading a provider's ``[providers.<name>]`` table: known keys only, typed values."""

from __future__ import annotations

from collections.abc import Iterable

from aura_core import ProviderSettings, UserError


def reject_unknown(name: str, settings: ProviderSettings, known: Iterable[str]) -> None:
    """Raise ``UserError`` naming every key of ``settings`` that provider ``name`` does not know."""
    allowed = set(known)
    unknown = sorted(set(settings.values) - allowed)
    if unknown:
        expected = ", ".join(sorted(allowed)) or "no settings"
        raise UserError(f"providers.{name}: unknown setting(s) {', '.join(unknown)}; expected {expected}")
