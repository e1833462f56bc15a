"""The stages of a run, named once: the runner's stage events, the progress model and the report page read them here.

A stage has one item per scene (``voice``…) or one per run (``script``, ``assembly``; their index is 0).
Its ``weight`` is its share of the run's progress; the weights of the stages every run has add up to 1,
and a stage only some runs have (``soundtrack``: only when the composers mix it on their own) weighs 0,
so a run without it still reaches 1.
"""

from __future__ import annotations

from attrs import frozen


@frozen
class Stage:
    """One stage of a run."""

    name: str
    per_scene: bool
    weight: float
    #: What the report page calls one scene's item of the stage (``scene 2 · segment``); the name when empty.
    item: str = ""

    def items(self, scene_count: int) -> int:
        """How many items the stage has in a run of ``scene_count`` scenes."""
        return scene_count if self.per_scene else 1

    def label(self, index: int) -> str:
        """The report page's lane of item ``index``: the stage's name, or ``scene <n> · <item>``."""
        return f"scene {index + 1} · {self.item or self.name}" if self.per_scene else self.name


#: Every stage, in the order a run starts them.
STAGES: tuple[Stage, ...] = (
    Stage("script", per_scene=False, weight=0.10),
    Stage("voice", per_scene=True, weight=0.20),
    Stage("visuals", per_scene=True, weight=0.25),
    Stage("segments", per_scene=True, weight=0.35, item="segment"),
    Stage("soundtrack", per_scene=False, weight=0.0),
    Stage("assembly", per_scene=False, weight=0.10),
)

#: The stages by name.
BY_NAME = {stage.name: stage for stage in STAGES}

#: The stage names, in order (``events.STAGES``).
STAGE_NAMES = tuple(BY_NAME)

#: The stages with one item per scene.
PER_SCENE = tuple(stage.name for stage in STAGES if stage.per_scene)


def stage_named(name: str) -> Stage:
    """The stage called ``name``; a name no stage has is a stage of its own, one item per scene, weight 0."""
    return BY_NAME.get(name) or Stage(name, per_scene=True, weight=0.0)
