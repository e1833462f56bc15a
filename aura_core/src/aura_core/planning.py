"""How many scenes and words a brief asks for, and how scenes are timed before they are voiced.

The formula (documented in docs/concepts.md); a "word" is a character in Chinese, Japanese, Korean
and Thai (``wordcount``):

    words per minute  = speaking rate × {chill: 130, conversational: 150, fast: 175}[pacing] / 150 × voice.rate
    speaking rate     = 150 words, or characters: {zh: 240, ja: 300, ko: 300, th: 500}[language]
    word target       = round(duration / 60 × words per minute)
    seconds per scene = {sparse: 12, balanced: 8, dense: 5}[density]
    scene count       = plan.scenes, or max(1, round(duration / seconds per scene))
"""

from __future__ import annotations

from attrs import frozen

from aura_core.contract import Scene, SceneDraft
from aura_core.specs import BriefFile
from aura_core.wordcount import count_words, speaking_rate

WORDS_PER_MINUTE = {"chill": 130.0, "conversational": 150.0, "fast": 175.0}
SECONDS_PER_SCENE = {"sparse": 12.0, "balanced": 8.0, "dense": 5.0}


@frozen
class ScriptPlan:
    """What the script must look like: scene count, word target, and the speaking pace it assumes."""

    scene_count: int
    word_target: int
    words_per_minute: float

    @property
    def words_per_scene(self) -> float:
        """The word target spread evenly over the scenes."""
        return self.word_target / self.scene_count


def plan_script(spec: BriefFile) -> ScriptPlan:
    """Scene count and word target from duration, pacing and density (see the module docstring)."""
    # the pacing scales the language's own conversational rate (150 words, or e.g. 300 Japanese characters)
    pace = WORDS_PER_MINUTE[spec.plan.pacing]
    wpm = speaking_rate(spec.brief.language) * pace / WORDS_PER_MINUTE["conversational"] * spec.voice.rate
    word_target = max(1, round(spec.plan.duration / 60.0 * wpm))
    scenes = spec.plan.scenes or max(1, round(spec.plan.duration / SECONDS_PER_SCENE[spec.plan.density]))
    return ScriptPlan(scene_count=scenes, word_target=word_target, words_per_minute=wpm)


def estimate_speech_seconds(text: str, words_per_minute: float, language: str) -> float:
    """How long ``text`` in ``language`` takes to say at ``words_per_minute``, before it is voiced."""
    return max(0.5, count_words(text, language) / words_per_minute * 60.0)


def draft_scene(
    index: int, draft: SceneDraft, start: float, words_per_minute: float, pause: float, language: str
) -> Scene:
    """A scene timed from its word count; the runner re-times it from the measured speech."""
    speech = estimate_speech_seconds(draft.narration, words_per_minute, language)
    return Scene(
        index=index,
        heading=draft.heading,
        narration=draft.narration,
        visual_prompt=draft.visual_prompt,
        start=start,
        duration=speech + pause,
        speech_duration=speech,
    )
