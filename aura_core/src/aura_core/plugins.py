"""Plugin discovery: entry points of group ``aura``, loaded one by one so a broken plugin cannot break the rest.

``--plugins a,b`` or ``AURA_LOAD_PLUGINS=a,b`` restricts what loads (an empty value loads none);
``AURA_STRICT_PLUGINS=1`` turns a plugin's load failure into an error instead of a warning.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import Any

import pluggy
from attrs import define, field, frozen
from loguru import logger

from aura_core import hookspecs
from aura_core.errors import UserError

ENTRY_POINT_GROUP = "aura"


@frozen
class PluginInfo:
    """A loaded plugin: its entry-point name, distribution, version, hooks and the providers it registered."""

    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...]
    providers: tuple[str, ...] = ()


@frozen
class PluginFailure:
    """A plugin that could not be loaded, and why."""

    name: str
    distribution: str
    error: str


def requested_plugins(option: str | None) -> frozenset[str] | None:
    """The plugin names to load from ``--plugins`` or ``AURA_LOAD_PLUGINS``; None means all."""
    value = option if option is not None else os.environ.get("AURA_LOAD_PLUGINS")
    if value is None:
        return None
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def _strict() -> bool:
    return os.environ.get("AURA_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes", "on"}


def new_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager that knows aura's hook specs."""
    pm = pluggy.PluginManager("aura")
    pm.add_hookspecs(hookspecs)
    return pm


@define
class PluginHost:
    """The loaded plugins, their failures, and the plugin manager that calls their hooks."""

    pm: pluggy.PluginManager = field(factory=new_plugin_manager)
    infos: dict[str, PluginInfo] = field(factory=dict)
    failures: list[PluginFailure] = field(factory=list)

    @classmethod
    def from_entry_points(cls, only: Iterable[str] | str | None = None) -> PluginHost:
        """Load the installed plugins (all of them, or the names in ``only``), each on its own."""
        wanted = requested_plugins(only if isinstance(only, str) or only is None else ",".join(only))
        host = cls()
        found: set[str] = set()
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            found.add(ep.name)
            if wanted is not None and ep.name not in wanted:
                continue
            dist = ep.dist.name if ep.dist is not None else "?"
            version = ep.dist.version if ep.dist is not None else "?"
            try:
                module = ep.load()
                host.pm.register(module, name=ep.name)
                host.pm.check_pending()
            except Exception as exc:  # noqa: BLE001 - a plugin's failure must not take the others down
                if host.pm.is_registered(locals().get("module")):
                    host.pm.unregister(name=ep.name)
                host._fail(ep.name, dist, exc)
                continue
            hooks = tuple(sorted(h.name for h in host.pm.get_hookcallers(module) or ()))
            host.infos[ep.name] = PluginInfo(ep.name, dist, version, hooks)
        if wanted is not None:
            for name in sorted(wanted - found):
                raise UserError(
                    f"--plugins: no installed plugin is named {name!r} (installed: {', '.join(sorted(found)) or 'none'})"
                )
        return host

    def _fail(self, name: str, dist: str, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if _strict():
            raise UserError(f"plugin {name!r} from {dist} failed to load: {error}") from exc
        logger.warning("plugin {!r} from {} failed to load and is skipped: {}", name, dist, error)
        self.failures.append(PluginFailure(name, dist, error))

    def register_providers(self, register: Callable[..., None]) -> None:
        """Call every plugin's ``aura_register_providers`` with a ``register`` callback that knows the plugin."""
        caller = self.pm.hook.aura_register_providers
        for impl in caller.get_hookimpls():
            plugin_name = impl.plugin_name
            names: list[str] = []

            def bound(
                provider: Any, *, _plugin: str = plugin_name, _names: list[str] = names, **options: Any
            ) -> None:
                register(provider, plugin=_plugin, **options)
                _names.append(f"{getattr(provider, 'kind', '?')}:{getattr(provider, 'name', '?')}")

            try:
                impl.function(**dict.fromkeys(impl.argnames, bound))
            except Exception as exc:  # noqa: BLE001 - isolate a plugin whose registration fails
                info = self.infos.pop(plugin_name, None)
                self._fail(plugin_name, info.distribution if info else "?", exc)
                continue
            info = self.infos.get(plugin_name)
            if info is not None:
                self.infos[plugin_name] = PluginInfo(
                    info.name, info.distribution, info.version, info.hooks, info.providers + tuple(names)
                )

    def emit(self, event: Any) -> None:
        """Hand an event to every ``aura_event`` implementation; one that raises is logged, not fatal."""
        for impl in self.pm.hook.aura_event.get_hookimpls():
            try:
                impl.function(**dict.fromkeys(impl.argnames, event))
            except Exception:  # noqa: BLE001 - an observer's bug must not end the run
                logger.opt(exception=True).warning(
                    "plugin {!r}: aura_event failed on {}", impl.plugin_name, event.type
                )
