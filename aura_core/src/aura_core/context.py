"""``PipelineContext``: the immutable inputs of a run, its state machine, stage outputs, metrics and errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from attrs import define, field

from aura_core.contract import Scene, Speech, Video, Visual
from aura_core.events import Event
from aura_core.planning import ScriptPlan
from aura_core.specs import BriefFile, SystemProfile

#: Allowed state changes: created → running → succeeded | failed | cancelled.
TRANSITIONS = {
    "created": {"running", "failed", "cancelled"},
    "running": {"succeeded", "failed", "cancelled"},
}


@define
class SceneOutputs:
    """What the stages made for one scene, and which provider made each part."""

    scene: Scene
    speech: Speech | None = None
    picture: Visual | None = None
    voice_provider: str | None = None
    picture_provider: str | None = None


@define
class PipelineContext:
    """Everything one run knows: inputs (frozen specs), run id, state, outputs, errors, observers."""

    spec: BriefFile
    run_id: str
    run_dir: Path
    plan: ScriptPlan
    system: SystemProfile
    state: str = "created"
    scenes: dict[int, SceneOutputs] = field(factory=dict)
    video: Video | None = None
    errors: list[str] = field(factory=list)
    notes: list[str] = field(factory=list)
    observers: list[Callable[[Event], Any]] = field(factory=list)

    def transition(self, state: str) -> None:
        """Move the run to ``state``; an impossible move is a bug."""
        if state not in TRANSITIONS.get(self.state, set()):
            raise RuntimeError(f"run {self.run_id}: cannot go from {self.state} to {state}")
        self.state = state

    def emit(self, event: Event) -> None:
        """Hand ``event`` to every observer."""
        for observer in self.observers:
            observer(event)
