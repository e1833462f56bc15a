"""The ``aura`` pytest plugin (entry point ``pytest11``): fixtures for testing with aura."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import stamina

if TYPE_CHECKING:
    from aura_core.testing.http import FakeHTTPServer


@pytest.fixture
def aura_no_backoff() -> Iterator[None]:
    """Retries happen at once (stamina's testing mode), with the attempts each policy asks for."""
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture
def fake_http_server() -> Iterator[FakeHTTPServer]:
    """A running ``aura_core.testing.http.FakeHTTPServer`` on 127.0.0.1, stopped after the test; a handler
    that raised, or a request no route took, fails the test there (needs ``aura-core[testing]``)."""
    from aura_core.testing.http import FakeHTTPServer  # pytest-httpserver only when the fixture is used

    with FakeHTTPServer() as server:
        yield server
    server.check()
