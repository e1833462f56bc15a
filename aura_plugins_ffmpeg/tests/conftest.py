"""Shared fixtures of the ffmpeg composer tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """The composer is tested on asyncio."""
    return "asyncio"
