"""The ``sd`` plugin: registers the Stable Diffusion image provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aura_core import hookimpl
from aura_plugins_sd.provider import SDProvider


@hookimpl
def aura_register_providers(register: Callable[..., Any]) -> None:
    """Register the image provider ``sd`` (its backend is chosen in ``[providers.sd]``)."""
    register(SDProvider())
