"""Shared fixtures: async tests run on asyncio."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Plugin code is backend-neutral; asyncio is enough here."""
    return "asyncio"
