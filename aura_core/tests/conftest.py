"""Core tests run on asyncio and trio; retries never sleep for real."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stamina
from loguru import logger

from aura_core import BriefFile, parse_brief


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async core test runs on both backends."""
    return str(request.param)


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    """Retries happen at once (stamina's testing mode) with each policy's own attempts."""
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture
def aura_logs() -> Iterator[None]:
    """aura's log lines on, as an application turns them on (the library logs nowhere by default)."""
    logger.enable("aura_core")
    yield
    logger.disable("aura_core")


def make_spec(**tables: dict[str, object]) -> BriefFile:
    """A small brief (64x36 at 10 fps) with fake providers; ``tables`` override or add tables."""
    data: dict[str, dict[str, object]] = {
        "brief": {"topic": "Honeybees"},
        "plan": {"duration": "40s"},
        "render": {"resolution": "64x36", "fps": 10},
    }
    for name, values in tables.items():
        data[name] = {**data.get(name, {}), **values}
    return parse_brief(data, None)


def fake_providers() -> dict[str, Any]:
    """One fresh fake provider of each kind, by kind (the core's own unit tests' stack)."""
    from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

    return {
        "llm": FakeScriptWriter(),
        "tts": FakeVoice(),
        "image": FakeIllustrator(),
        "composer": FakeComposer(),
    }
