"""Entry point of the ``pixabay`` plugin: registers the ``pixabay`` image provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aura_core import hookimpl
from aura_plugins_pixabay.provider import PixabayProvider


@hookimpl
def aura_register_providers(register: Callable[..., Any]) -> None:
    """Register the Pixabay image provider (photos, and clips when the composer takes them)."""
    register(PixabayProvider())
