"""Shared fixtures of the ffmpeg composer tests.

The root pytest config uses ``--import-mode=importlib``; pytest then names these modules
``aura_plugins_ffmpeg.tests.*`` and registers the *folder* ``aura_plugins_ffmpeg/`` as a stand-in
``aura_plugins_ffmpeg`` module, which hides the installed package. Put the real package back.
"""

from __future__ import annotations

import importlib
import sys

import pytest

_stand_in = sys.modules.get("aura_plugins_ffmpeg")
if _stand_in is not None and getattr(_stand_in, "__file__", None) is None:
    del sys.modules["aura_plugins_ffmpeg"]
    _real = importlib.import_module("aura_plugins_ffmpeg")
    if "aura_plugins_ffmpeg.tests" in sys.modules:
        _real.tests = sys.modules["aura_plugins_ffmpeg.tests"]  # type: ignore[attr-defined]


@pytest.fixture
def anyio_backend() -> str:
    """The composer is tested on asyncio."""
    return "asyncio"
