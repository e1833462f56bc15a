"""Providers by kind and name, and the chains a brief asks for."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from attrs import define, field
from loguru import logger

from aura_core.contract import PROTOCOLS, Provider
from aura_core.errors import UserError
from aura_core.members import optional_member
from aura_core.specs import KINDS

_METHODS = {
    "llm": ("write_script",),
    "tts": ("synthesize",),
    "image": ("generate",),
    "composer": ("render_scene", "assemble"),
}


def provider_problem(provider: Any) -> str | None:
    """Why ``provider`` does not satisfy its kind's protocol, or None when it does."""
    kind = getattr(provider, "kind", None)
    name = getattr(provider, "name", None)
    if kind not in KINDS:
        return f"{provider!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}"
    if not isinstance(name, str) or not name:
        return f"{provider!r}: name must be a non-empty string"
    missing = [m for m in _METHODS[kind] if not callable(getattr(provider, m, None))]
    if missing or not isinstance(provider, PROTOCOLS[kind]):
        return f"{kind} provider {name!r} lacks {', '.join(missing) or 'the protocol'}"
    return None


@define
class ProviderRegistry:
    """Every known provider, by kind then name, with the plugin that registered it."""

    _by_kind: dict[str, dict[str, Provider]] = field(factory=lambda: {k: {} for k in KINDS})
    plugin_of: dict[tuple[str, str], str] = field(factory=dict)

    @classmethod
    def of(cls, providers: Iterable[Any]) -> ProviderRegistry:
        """A registry holding ``providers`` (raises ``UserError`` for one that breaks the contract)."""
        registry = cls()
        for provider in providers:
            registry.register(provider, plugin="(app)", strict=True)
        return registry

    def register(
        self, provider: Any, *, plugin: str = "(app)", strict: bool = False, **_options: Any
    ) -> None:
        """Add ``provider``; a later one with the same kind and name replaces the earlier one."""
        problem = provider_problem(provider)
        if problem is not None:
            if strict:
                raise UserError(problem)
            logger.warning("plugin {!r} registered a provider that is skipped: {}", plugin, problem)
            return
        self._by_kind[provider.kind][provider.name] = provider
        self.plugin_of[(provider.kind, provider.name)] = plugin

    def of_kind(self, kind: str) -> list[Provider]:
        """The providers of ``kind`` in registration order."""
        return list(self._by_kind[kind].values())

    def get(self, kind: str, name: str) -> Provider:
        """The provider ``name`` of ``kind``; ``UserError`` naming the alternatives when there is none."""
        try:
            return self._by_kind[kind][name]
        except KeyError:
            known = ", ".join(self._by_kind[kind]) or "none loaded"
            raise UserError(
                f"providers.{kind}: no {kind} provider named {name!r} (available: {known})"
            ) from None

    def default_chain(self, kind: str) -> list[Provider]:
        """The chain for a kind the brief does not name: the ``auto`` providers, else every one of the kind."""
        providers = self.of_kind(kind)
        auto = [p for p in providers if optional_member(p, "auto")]
        return auto or providers
