"""aura: turn a short brief into a finished, narrated video.

Plugins import only the names listed in ``__all__``.
"""

from aura_core.contract import (
    AssemblyRequest,
    Availability,
    Composer,
    Illustrator,
    ImageRequest,
    Narration,
    Picture,
    Provider,
    ProviderSettings,
    Scene,
    SceneDraft,
    ScriptRequest,
    ScriptWriter,
    Segment,
    SegmentRequest,
    Speech,
    SpeechRequest,
    Video,
    Voice,
    WordTiming,
)
from aura_core.errors import AuraError, BriefError, ProviderError, RunFailed, UserError
from aura_core.hookspecs import hookimpl
from aura_core.specs import (
    Brief,
    BriefFile,
    PlanSpec,
    ProvidersSpec,
    RenderSpec,
    SystemProfile,
    VoiceSpec,
)
from aura_core.usage import record_usage

__all__ = [
    "AssemblyRequest",
    "AuraError",
    "Availability",
    "Brief",
    "BriefError",
    "BriefFile",
    "Composer",
    "Illustrator",
    "ImageRequest",
    "Narration",
    "Picture",
    "PlanSpec",
    "Provider",
    "ProviderError",
    "ProviderSettings",
    "ProvidersSpec",
    "RenderSpec",
    "RunFailed",
    "Scene",
    "SceneDraft",
    "ScriptRequest",
    "ScriptWriter",
    "Segment",
    "SegmentRequest",
    "Speech",
    "SpeechRequest",
    "SystemProfile",
    "UserError",
    "Video",
    "Voice",
    "VoiceSpec",
    "WordTiming",
    "hookimpl",
    "record_usage",
]
