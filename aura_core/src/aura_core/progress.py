"""Weighted stage progress with an ETA, shown as rich bars on a terminal or JSON lines with ``--json``."""

from __future__ import annotations

import json
import sys
import time
from typing import IO, Any

from attrs import define, field
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from aura_core.events import (
    Event,
    Fallback,
    ItemDone,
    Retry,
    RunFinished,
    RunStarted,
    StageStarted,
)
from aura_core.logs import redact
from aura_core.stages import STAGES

#: Share of the whole run each stage stands for (they add up to 1; a stage only some runs have counts 0).
STAGE_WEIGHTS = {stage.name: stage.weight for stage in STAGES if stage.weight}


@define
class ProgressModel:
    """Fraction done and ETA from events: each stage's weight times its share of items done."""

    totals: dict[str, int] = field(factory=dict)
    done: dict[str, int] = field(factory=dict)
    retries: int = 0
    started: float = field(factory=time.monotonic)

    def update(self, event: Event) -> None:
        """Take one event."""
        if isinstance(event, RunStarted):
            self.totals = {stage.name: stage.items(event.scene_count) for stage in STAGES}
            self.started = event.at
        elif isinstance(event, StageStarted):
            self.totals[event.stage] = event.total
        elif isinstance(event, ItemDone):
            self.done[event.stage] = self.done.get(event.stage, 0) + 1
        elif isinstance(event, Retry):
            self.retries += 1

    @property
    def fraction(self) -> float:
        """0..1 of the run done."""
        total = 0.0
        for stage, weight in STAGE_WEIGHTS.items():
            count = max(self.totals.get(stage, 1), 1)
            total += weight * min(self.done.get(stage, 0) / count, 1.0)
        return total

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left at the pace so far, or None before anything is done."""
        fraction = self.fraction
        if fraction <= 0.0:
            return None
        elapsed = (now if now is not None else time.monotonic()) - self.started
        return max(0.0, elapsed * (1.0 - fraction) / fraction)


class JsonLines:
    """Print every event as one JSON line (``--json``)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.model = ProgressModel()

    def __call__(self, event: Event) -> None:
        """Take one event."""
        self.model.update(event)
        data: dict[str, Any] = event.to_dict()
        data["progress"] = round(self.model.fraction, 4)
        eta = self.model.eta(event.at)
        data["eta_seconds"] = None if eta is None else round(eta, 2)
        self.stream.write(redact(json.dumps(data, ensure_ascii=False)) + "\n")
        self.stream.flush()


class RichBars:
    """Rich progress bars: one per stage and one for the whole run with its ETA; retries and fallbacks noted."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.model = ProgressModel()
        self.progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            TextColumn("{task.completed:>4.0f}/{task.total:<4.0f}"),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichBars:
        self.progress.start()
        self.tasks["run"] = self.progress.add_task("run", total=1000, note="")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: Event) -> None:
        """Take one event."""
        self.model.update(event)
        if isinstance(event, StageStarted) and event.stage not in self.tasks:
            self.tasks[event.stage] = self.progress.add_task(event.stage, total=event.total, note="")
        elif isinstance(event, ItemDone) and event.stage in self.tasks:
            self.progress.update(self.tasks[event.stage], total=self.model.totals.get(event.stage), advance=1)
        elif isinstance(event, Retry) and event.stage in self.tasks:
            note = f"retry {event.provider} #{event.attempt} in {event.wait:.1f}s: {redact(event.cause)[:40]}"
            self.progress.update(self.tasks[event.stage], note=note)
        elif isinstance(event, Fallback) and event.stage in self.tasks:
            self.progress.update(self.tasks[event.stage], note=f"{event.from_provider} → {event.to_provider}")
        eta = self.model.eta(event.at)
        note = "" if eta is None else f"ETA {eta:5.1f}s"
        if isinstance(event, RunFinished):
            note = event.state
        self.progress.update(self.tasks["run"], completed=round(self.model.fraction * 1000), note=note)
