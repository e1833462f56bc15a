"""The chat messages and the JSON schema that ask a model for a script, built from a ``ScriptRequest``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aura_core import ScriptRequest, word_unit

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

SCRIPT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "scenes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "heading": {"type": "string", "description": "a short on-screen title, 2–6 words"},
                    "narration": {"type": "string", "description": "what the narrator says in this scene"},
                    "visual_prompt": {
                        "type": "string",
                        "description": "a concrete description of one still image for this scene",
                    },
                },
                "required": ["heading", "narration", "visual_prompt"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["scenes"],
    "additionalProperties": False,
}
"""The shape of the answer, for ``response_format = json_schema`` (strict)."""

_ASPECT_RULES: Mapping[str, str] = {
    "16:9": "The video is widescreen (16:9): visual prompts describe wide, landscape compositions.",
    "9:16": (
        "The video is vertical (9:16) for phones: write short, punchy lines, one idea per scene, "
        "hook the viewer in the first sentence; visual prompts describe tall compositions "
        "with the subject centred."
    ),
    "1:1": "The video is square (1:1): visual prompts describe centred subjects with room around them.",
}

_PACING_RULES: Mapping[str, str] = {
    "chill": "Pacing is unhurried: calm sentences with room to breathe.",
    "conversational": "Pacing is conversational: natural spoken sentences, as if talking to a friend.",
    "fast": "Pacing is fast: brisk, short sentences, no filler.",
}

_DENSITY_RULES: Mapping[str, str] = {
    "sparse": "Keep each scene to one simple point.",
    "balanced": "Give each scene one clear point with a supporting detail.",
    "dense": "Pack each scene with facts, without losing clarity.",
}

REPAIR_NOTE = (
    "Your previous answer could not be read as the JSON script. "
    'Answer again with only the JSON object {"scenes": [...]} and nothing else.'
)


def script_messages(request: ScriptRequest, *, repair: bool = False) -> list[ChatCompletionMessageParam]:
    """The system and user messages for ``request``; ``repair`` adds a note after an unreadable answer."""
    brief, plan = request.brief, request.plan
    per_scene = max(1, round(request.word_target / max(1, request.scene_count)))
    # the target is in the core's unit for the language: characters in Chinese, Japanese, Korean, Thai
    unit = f"{word_unit(request.language)}s"
    system = (
        "You write scripts for short narrated explainer videos. "
        "Each scene has a heading, the narration the voice reads, and a visual prompt for an image "
        "generator. Answer with JSON only, in exactly this shape: "
        '{"scenes": [{"heading": "...", "narration": "...", "visual_prompt": "..."}]}. '
        "Narration is spoken text: no stage directions, no markdown, no emojis, numbers written as "
        "they are said. Visual prompts are in English, describe one concrete still image each "
        "(subject, setting, light, composition), and contain no text, letters or logos."
    )
    lines = [
        f"Topic: {brief.topic}",
        f"Audience: {brief.audience}",
    ]
    if brief.goal:
        lines.append(f"Goal: {brief.goal}")
    lines += [
        f"Tone: {brief.tone}",
        f"Style: {plan.style}",
        f"Length: about {plan.duration:g} seconds of narration.",
        f"Write exactly {request.scene_count} scenes and about {request.word_target} {unit} of narration "
        f"in all (about {per_scene} {unit} per scene).",
        f"Write the headings and the narration in the language with code '{request.language}'.",
        _PACING_RULES.get(plan.pacing, ""),
        _DENSITY_RULES.get(plan.density, ""),
        _ASPECT_RULES.get(brief.aspect, ""),
        "Open with a hook, build the explanation scene by scene, and close with a memorable takeaway.",
    ]
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": system},
        {"role": "user", "content": "\n".join(line for line in lines if line)},
    ]
    if repair:
        messages.append({"role": "user", "content": REPAIR_NOTE})
    return messages
