"""The hook specifications of aura: the whole plugin contract, one docstring each.

A plugin implements any of these with ``@aura_core.hookimpl``.
Specs only ever grow by optional arguments, so an implementation written today keeps working.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("aura")
hookimpl = pluggy.HookimplMarker("aura")


@hookspec
def aura_register_providers(register: Any) -> None:
    """Register provider objects by calling ``register(provider)`` once per provider.

    ``register`` is a core callback; it may grow keyword arguments, never lose them.
    """


@hookspec
def aura_register_commands(cli: Any) -> None:
    """Add sub-commands to the ``aura`` command line; ``cli`` is the root ``click.Group``."""


@hookspec
def aura_event(event: Any) -> None:
    """Observe one pipeline event (an instance of one of the classes in ``aura_core.events``)."""
