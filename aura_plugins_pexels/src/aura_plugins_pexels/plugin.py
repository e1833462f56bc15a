"""Entry point of the ``pexels`` plugin: registers the ``pexels`` image provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aura_core import hookimpl
from aura_plugins_pexels.provider import PexelsProvider


@hookimpl
def aura_register_providers(register: Callable[..., Any]) -> None:
    """Register the Pexels image provider (photos, and clips when the composer takes them)."""
    register(PexelsProvider())
