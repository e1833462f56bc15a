"""Run metrics from events: per-stage wall time, CPU time, peak memory, items, retries, providers.

CPU time is the process's and its children's (ffmpeg, ...) while a stage was running; stages
overlap when scenes stream, so their CPU windows overlap too. Peak memory is the largest
resident set seen of the process and of any one child by the end of the stage.
"""

from __future__ import annotations

import resource
import time
from collections import Counter
from typing import Any

from attrs import define, field

from aura_core.events import (
    BreakerChanged,
    Event,
    Fallback,
    ItemDone,
    ItemFailed,
    ItemStarted,
    Retry,
    RunFinished,
    StageFinished,
    StageStarted,
)


def cpu_seconds() -> float:
    """CPU time used so far by this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def peak_rss_bytes() -> tuple[int, int]:
    """Peak resident memory of this process and of its largest finished child, in bytes (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return own, kids


@define
class StageMetrics:
    """The figures of one stage."""

    started: float | None = None
    finished: float | None = None
    cpu_start: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss: int = 0
    peak_child_rss: int = 0
    items_done: int = 0
    items_cached: int = 0
    items_failed: int = 0
    retries: int = 0
    fallbacks: int = 0
    providers: Counter[str] = field(factory=Counter)
    item_seconds: list[float] = field(factory=list)

    def to_dict(self, origin: float) -> dict[str, Any]:
        """JSON form, times relative to the run's start."""
        wall = (
            (self.finished - self.started) if self.started is not None and self.finished is not None else None
        )
        return {
            "started_at": None if self.started is None else round(self.started - origin, 4),
            "wall_seconds": None if wall is None else round(wall, 4),
            "cpu_seconds": round(self.cpu_seconds, 4),
            "peak_rss_bytes": self.peak_rss,
            "peak_child_rss_bytes": self.peak_child_rss,
            "items_done": self.items_done,
            "items_cached": self.items_cached,
            "items_failed": self.items_failed,
            "retries": self.retries,
            "fallbacks": self.fallbacks,
            "providers": dict(self.providers),
        }


@define
class MetricsCollector:
    """An event observer that keeps the figures ``report.json`` is written from."""

    origin: float = field(factory=time.monotonic)
    stages: dict[str, StageMetrics] = field(factory=dict)
    breakers: dict[str, list[dict[str, Any]]] = field(factory=dict)
    finished: float | None = None
    state: str = "running"
    error: str | None = None
    timeline: list[dict[str, Any]] = field(factory=list)
    #: Calls under way: (stage, index, provider) → when it started and when it was retried.
    _open: dict[tuple[str, int, str], tuple[float, list[float]]] = field(factory=dict)

    def _stage(self, name: str) -> StageMetrics:
        return self.stages.setdefault(name, StageMetrics())

    def __call__(self, event: Event) -> None:
        """Take one event."""
        if isinstance(event, StageStarted):
            stage = self._stage(event.stage)
            stage.started = event.at
            stage.cpu_start = cpu_seconds()
        elif isinstance(event, StageFinished):
            self._close(self._stage(event.stage), event.at)
        elif isinstance(event, ItemStarted):
            self._open[(event.stage, event.index, event.provider)] = (event.at, [])
        elif isinstance(event, ItemDone):
            stage = self._stage(event.stage)
            stage.items_done += 1
            stage.items_cached += int(event.cached)
            stage.providers[event.provider] += 1
            stage.item_seconds.append(event.seconds)
            self._bar(
                event.stage, event.index, event.provider, event.at, "cached" if event.cached else "done"
            )
        elif isinstance(event, ItemFailed):
            self._stage(event.stage).items_failed += 1
            for stage_name, index, provider in list(self._open):
                if (stage_name, index) == (event.stage, event.index):
                    self._bar(stage_name, index, provider, event.at, "failed", event.error)
        elif isinstance(event, Retry):
            self._stage(event.stage).retries += 1
            opened = self._open.get((event.stage, event.index, event.provider))
            if opened is not None:
                opened[1].append(event.at)
        elif isinstance(event, Fallback):
            self._stage(event.stage).fallbacks += 1
            self._bar(event.stage, event.index, event.from_provider, event.at, "fallback", event.cause)
        elif isinstance(event, BreakerChanged):
            self.breakers.setdefault(event.provider, []).append(
                {
                    "kind": event.kind,
                    "state": event.state,
                    "cause": event.cause,
                    "at": round(event.at - self.origin, 4),
                }
            )
        elif isinstance(event, RunFinished):
            self.finished = event.at
            self.state = event.state
            self.error = event.error
            for stage in self.stages.values():
                if stage.started is not None and stage.finished is None:
                    self._close(stage, event.at)
            for stage_name, index, provider in list(self._open):  # calls the end of the run cut short
                self._bar(stage_name, index, provider, event.at, "unfinished")

    def _bar(
        self, stage: str, index: int, provider: str, at: float, outcome: str, cause: str | None = None
    ) -> None:
        """One timeline entry: a provider's work on an item from its start to ``at``, and how it ended.

        ``outcome`` is done, cached (no call: ``start`` equals ``end``), fallback (the provider gave up
        and the next one of the chain took over), failed, or unfinished (the run ended during the call);
        ``retries`` are the times it was retried.
        """
        started, retries = self._open.pop((stage, index, provider), (at, []))
        entry: dict[str, Any] = {
            "stage": stage,
            "index": index,
            "provider": provider,
            "cached": outcome == "cached",
            "outcome": outcome,
            "start": round(started - self.origin, 4),
            "end": round(at - self.origin, 4),
            "seconds": round(at - started, 4),
            "retries": [round(t - self.origin, 4) for t in retries],
        }
        if cause is not None:
            entry["cause"] = cause
        self.timeline.append(entry)

    def _close(self, stage: StageMetrics, at: float) -> None:
        stage.finished = at
        stage.cpu_seconds = cpu_seconds() - stage.cpu_start
        stage.peak_rss, stage.peak_child_rss = peak_rss_bytes()

    def to_dict(self) -> dict[str, Any]:
        """JSON form of everything collected."""
        end = self.finished if self.finished is not None else time.monotonic()
        return {
            "state": self.state,
            "error": self.error,
            "wall_seconds": round(end - self.origin, 4),
            "stages": {name: stage.to_dict(self.origin) for name, stage in self.stages.items()},
            "breakers": self.breakers,
            "timeline": self.timeline,
        }
