"""The ``openai`` plugin: registers the script writer, the voice and the illustrator, all named ``openai``."""

from __future__ import annotations

from collections.abc import Callable

from aura_core import hookimpl
from aura_plugins_openai.image import OpenAIIllustrator
from aura_plugins_openai.llm import OpenAIScriptWriter
from aura_plugins_openai.tts import OpenAIVoice


@hookimpl
def aura_register_providers(register: Callable[[object], None]) -> None:
    """Register the three ``openai`` providers (kinds llm, tts and image) with their default settings."""
    register(OpenAIScriptWriter())
    register(OpenAIVoice())
    register(OpenAIIllustrator())
