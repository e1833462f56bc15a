"""Pipeline events: what observers (progress bars, logs, the report, ``aura_event`` hooks) see.

Every event carries the run id and a monotonic timestamp; ``to_dict()`` gives its JSON form.
"""

from __future__ import annotations

import time
from typing import Any

from attrs import asdict, field, frozen

from aura_core.stages import STAGE_NAMES


def _now() -> float:
    return time.monotonic()


@frozen(kw_only=True)
class Event:
    """Base of every event."""

    run_id: str
    at: float = field(factory=_now)

    @property
    def type(self) -> str:
        """The event's name in JSON lines, e.g. ``stage_started``."""
        name = type(self).__name__
        return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data."""
        data = asdict(self, value_serializer=lambda _i, _a, v: str(v) if hasattr(v, "__fspath__") else v)
        return {"event": self.type, **data}


@frozen(kw_only=True)
class RunStarted(Event):
    """A run began: how many scenes it plans and with which providers per kind."""

    scene_count: int
    word_target: int
    chains: dict[str, list[str]]


@frozen(kw_only=True)
class StageStarted(Event):
    """A stage began; ``total`` items are expected (scenes, or 1)."""

    stage: str
    total: int


@frozen(kw_only=True)
class StageFinished(Event):
    """A stage ended; ``ok`` False when it failed or was cancelled."""

    stage: str
    ok: bool


@frozen(kw_only=True)
class ItemStarted(Event):
    """A provider began work on one item (a scene's voice, picture, segment...)."""

    stage: str
    index: int
    provider: str


@frozen(kw_only=True)
class ItemDone(Event):
    """One item finished; ``cached`` when it came from the store with no provider call."""

    stage: str
    index: int
    provider: str
    cached: bool
    seconds: float


@frozen(kw_only=True)
class ItemFailed(Event):
    """One item failed for good (after retries and fallbacks)."""

    stage: str
    index: int
    error: str


@frozen(kw_only=True)
class Retry(Event):
    """A call failed transiently and will be tried again after ``wait`` seconds."""

    stage: str
    index: int
    provider: str
    attempt: int
    wait: float
    cause: str


@frozen(kw_only=True)
class BreakerChanged(Event):
    """A provider's circuit breaker changed state (closed, open, half_open)."""

    provider: str
    kind: str
    state: str
    cause: str = ""


@frozen(kw_only=True)
class Fallback(Event):
    """A call moved from one provider to the next in its chain."""

    stage: str
    index: int
    kind: str
    from_provider: str
    to_provider: str
    cause: str


@frozen(kw_only=True)
class SceneTimed(Event):
    """A scene's timing was set from its measured speech."""

    index: int
    start: float
    duration: float


@frozen(kw_only=True)
class RunFinished(Event):
    """The run ended: ``state`` is succeeded, failed or cancelled."""

    state: str
    video: str | None = None
    error: str | None = None


#: The stage names, in order (the stages themselves are in ``aura_core.stages``).
STAGES = STAGE_NAMES
