"""The ``local`` plugin: registers the offline providers with aura."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aura_core import hookimpl
from aura_plugins_local.cards import CardsIllustrator
from aura_plugins_local.folder import FolderIllustrator
from aura_plugins_local.piper_voice import PiperVoiceProvider
from aura_plugins_local.scriptfile import ScriptFileWriter
from aura_plugins_local.template import TemplateWriter


@hookimpl
def aura_register_providers(register: Callable[..., Any]) -> None:
    """Register the template and script-file writers, the Piper voice, title cards and the media folder."""
    register(TemplateWriter())
    register(ScriptFileWriter())
    register(PiperVoiceProvider())
    register(CardsIllustrator())
    register(FolderIllustrator())
