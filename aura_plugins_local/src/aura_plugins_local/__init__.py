"""aura's offline defaults: template and script-file writers, the Piper voice, title cards, a media folder."""

from aura_plugins_local.cards import CardsIllustrator
from aura_plugins_local.folder import FolderIllustrator
from aura_plugins_local.piper_voice import PiperVoiceProvider
from aura_plugins_local.scriptfile import ScriptFileWriter
from aura_plugins_local.template import TemplateWriter

__all__ = [
    "CardsIllustrator",
    "FolderIllustrator",
    "PiperVoiceProvider",
    "ScriptFileWriter",
    "TemplateWriter",
]
