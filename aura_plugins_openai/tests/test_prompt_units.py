"""The script prompt names the unit the core counts in: characters for Chinese, Japanese, Korean and Thai."""

from __future__ import annotations

import pytest

from aura_core import Brief, PlanSpec, ScriptRequest
from aura_plugins_openai.prompt import script_messages


@pytest.mark.parametrize(
    ("language", "unit"),
    [("en", "words"), ("de", "words"), ("ja", "characters"), ("zh-CN", "characters"), ("ko", "characters")],
)
def test_the_prompt_asks_for_the_target_in_the_languages_unit(language: str, unit: str) -> None:
    """A Japanese target of 300 is 300 characters, not 300 words (five times too long a script)."""
    request = ScriptRequest(
        brief=Brief(topic="Honeybees"), plan=PlanSpec(), scene_count=4, word_target=300, language=language
    )
    text = "\n".join(str(m["content"]) for m in script_messages(request))
    assert f"about 300 {unit} of narration in all (about 75 {unit} per scene)" in text
