"""Plugin discovery: entry points of group ``aura``, loaded one by one so a broken plugin cannot break the rest.

``--plugins a,b`` or ``AURA_LOAD_PLUGINS=a,b`` restricts what loads (an empty value loads none);
``AURA_STRICT_PLUGINS=1`` turns a plugin's load failure into an error instead of a warning.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
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
    _event_failures: set[tuple[str, str | None]] = field(factory=set, init=False, repr=False)

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

    def _fail(self, name: str, dist: str, exc: BaseException, hook: str | None = None) -> None:
        """Record a plugin's failure (to load, or in ``hook``): one warning line, or an error if strict."""
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if hook is not None:
            error = f"{hook} failed: {error}"
        if _strict():
            what = f": {error}" if hook is not None else f" failed to load: {error}"
            raise UserError(f"plugin {name!r} from {dist}{what}") from exc
        if hook is not None:
            logger.warning("plugin {!r}: {}", name, error)
        else:
            logger.warning("plugin {!r} from {} failed to load and is skipped: {}", name, dist, error)
        self.failures.append(PluginFailure(name, dist, error))

    def _each(self, hook: str) -> Iterator[tuple[str, pluggy.HookCaller]]:
        """Each plugin implementing ``hook``, with a pluggy caller that calls that plugin's implementation alone.

        Calls go through pluggy (keyword arguments, each implementation given only the ones it names, hook-call
        monitoring sees them), one plugin at a time so that one plugin's exception cannot skip the others.
        """
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        for impl in impls:
            others = [other.plugin for other in impls if other.plugin is not impl.plugin]
            yield impl.plugin_name, self.pm.subset_hook_caller(hook, others)

    def register_providers(self, register: Callable[..., None]) -> None:
        """Call every plugin's ``aura_register_providers`` with a ``register`` callback that knows the plugin."""
        for plugin_name, call in self._each("aura_register_providers"):
            names: list[str] = []

            def bound(
                provider: Any, *, _plugin: str = plugin_name, _names: list[str] = names, **options: Any
            ) -> None:
                register(provider, plugin=_plugin, **options)
                _names.append(f"{getattr(provider, 'kind', '?')}:{getattr(provider, 'name', '?')}")

            try:
                call(register=bound)
            except Exception as exc:  # noqa: BLE001 - isolate a plugin whose registration fails
                info = self.infos.pop(plugin_name, None)
                self._fail(plugin_name, info.distribution if info else "?", exc)
                continue
            info = self.infos.get(plugin_name)
            if info is not None:
                self.infos[plugin_name] = PluginInfo(
                    info.name, info.distribution, info.version, info.hooks, info.providers + tuple(names)
                )

    def register_commands(self, cli: Any) -> None:
        """Call every plugin's ``aura_register_commands`` with the root ``click.Group``, each plugin on its own.

        One that raises loses its commands, is named in one warning line and listed among the failures
        (``aura doctor``); the other plugins' commands and the built-in ones stay.
        """
        for plugin_name, call in self._each("aura_register_commands"):
            try:
                call(cli=cli)
            except Exception as exc:  # noqa: BLE001 - a plugin's broken command must not take `aura` down
                info = self.infos.get(plugin_name)
                self._fail(plugin_name, info.distribution if info else "?", exc, "aura_register_commands")

    def emit(self, event: Any) -> None:
        """Hand an event to every ``aura_event`` implementation; one that raises is logged once per run, not fatal.

        The first exception of a plugin in a run is a warning naming the plugin, the event and the error;
        later ones from the same plugin in that run go to the debug log only. The plugin keeps getting events.
        """
        for plugin_name, call in self._each("aura_event"):
            try:
                call(event=event)
            except Exception as exc:  # noqa: BLE001 - an observer's bug must not end the run
                key = (plugin_name, getattr(event, "run_id", None))
                error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                if key in self._event_failures:
                    logger.opt(exception=exc).debug(
                        "plugin {!r}: aura_event failed again: {}", plugin_name, error
                    )
                    continue
                self._event_failures.add(key)
                logger.opt(exception=exc).warning(
                    "plugin {!r}: aura_event failed on {}: {} (later failures of this run are not shown)",
                    plugin_name,
                    getattr(event, "type", type(event).__name__),
                    error,
                )
