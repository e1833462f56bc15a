"""The ``aura`` pytest plugin (entry point ``pytest11``): fixtures for testing with aura."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina


@pytest.fixture
def aura_no_backoff() -> Iterator[None]:
    """Retries happen at once (stamina's testing mode), with the attempts each policy asks for."""
    with stamina.set_testing(True, attempts=100, cap=True):
        yield
