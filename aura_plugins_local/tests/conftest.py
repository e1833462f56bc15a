"""Shared fixtures: async tests run on asyncio.

The root pytest config uses ``--import-mode=importlib``; pytest then names these test modules
``aura_plugins_local.tests.*`` and registers the *folder* ``aura_plugins_local/`` as a stand-in
``aura_plugins_local`` module, which hides the installed package. Put the real package back.
"""

from __future__ import annotations

import importlib
import sys

import pytest

_stand_in = sys.modules.get("aura_plugins_local")
if _stand_in is not None and getattr(_stand_in, "__file__", None) is None:
    del sys.modules["aura_plugins_local"]
    _real = importlib.import_module("aura_plugins_local")
    if "aura_plugins_local.tests" in sys.modules:
        _real.tests = sys.modules["aura_plugins_local.tests"]  # type: ignore[attr-defined]


@pytest.fixture
def anyio_backend() -> str:
    """Plugin code is backend-neutral; asyncio is enough here."""
    return "asyncio"
