"""aura providers for scripts, voices and images through the OpenAI API or any OpenAI-compatible server."""

from aura_plugins_openai.image import OpenAIIllustrator
from aura_plugins_openai.llm import OpenAIScriptWriter
from aura_plugins_openai.settings import OpenAISettings, Price, read_settings
from aura_plugins_openai.tts import OpenAIVoice

__all__ = [
    "OpenAIIllustrator",
    "OpenAIScriptWriter",
    "OpenAISettings",
    "OpenAIVoice",
    "Price",
    "read_settings",
]
