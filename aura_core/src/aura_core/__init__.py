"""aura: turn a short brief into a finished, narrated video.

Plugins import only the names listed in ``__all__``.
"""

from loguru import logger

from aura_core.audio import AudioDecodeError, DecodedAudio, decode_to_wav
from aura_core.contract import (
    AssemblyRequest,
    Availability,
    Clip,
    Composer,
    Illustrator,
    ImageRequest,
    Narration,
    Picture,
    Provider,
    ProviderSettings,
    RenderChecker,
    Scene,
    SceneDraft,
    ScriptRequest,
    ScriptWriter,
    Segment,
    SegmentRequest,
    Soundtrack,
    SoundtrackMixer,
    SoundtrackRequest,
    Speech,
    SpeechRequest,
    Video,
    Visual,
    Voice,
    WordTiming,
)
from aura_core.download import DownloadTooLarge, download
from aura_core.errors import AuraError, BriefError, ProviderError, RunFailed, UserError, retry_after_seconds
from aura_core.events import (
    BreakerChanged,
    Event,
    Fallback,
    ItemDone,
    ItemFailed,
    ItemStarted,
    Retry,
    RunFinished,
    RunStarted,
    SceneTimed,
    StageFinished,
    StageStarted,
)
from aura_core.executor import Executor, InProcess
from aura_core.filework import write_in_thread
from aura_core.hookspecs import hookimpl
from aura_core.http_failures import (
    TRANSIENT_STATUSES,
    http_failure,
    is_transient_status,
    retry_after_header,
    transport_failures,
)
from aura_core.loader import load_brief, parse_brief
from aura_core.logs import redact, route_stdlib_logging
from aura_core.members import OPTIONAL_MEMBERS, OptionalMember, optional_member
from aura_core.pipeline import Pipeline
from aura_core.planning import ScriptPlan, plan_script
from aura_core.resilience import CallPolicy
from aura_core.settings import Secret, secret, setting, settings_keys, structure_settings
from aura_core.specs import (
    Brief,
    BriefFile,
    PlanSpec,
    ProvidersSpec,
    RenderSpec,
    SystemProfile,
    VoiceSpec,
)
from aura_core.stock import (
    MediaKind,
    Rendition,
    StockItem,
    StockPicker,
    StockSearch,
    fetch_stock,
    find_stock,
    orientation_of,
    pick_rendition,
    search_words,
)
from aura_core.usage import record_usage
from aura_core.wordcount import count_words, word_unit

# A library logs nowhere until the application asks (loguru's advice for libraries): the CLI enables it,
# an app calls ``logger.enable("aura_core")`` (docs/library.md). Until then run.log stays empty too.
logger.disable("aura_core")

__all__ = [
    "OPTIONAL_MEMBERS",
    "TRANSIENT_STATUSES",
    "AssemblyRequest",
    "AudioDecodeError",
    "AuraError",
    "Availability",
    "BreakerChanged",
    "Brief",
    "BriefError",
    "BriefFile",
    "CallPolicy",
    "Clip",
    "Composer",
    "DecodedAudio",
    "DownloadTooLarge",
    "Event",
    "Executor",
    "Fallback",
    "Illustrator",
    "ImageRequest",
    "InProcess",
    "ItemDone",
    "ItemFailed",
    "ItemStarted",
    "MediaKind",
    "Narration",
    "OptionalMember",
    "Picture",
    "Pipeline",
    "PlanSpec",
    "Provider",
    "ProviderError",
    "ProviderSettings",
    "ProvidersSpec",
    "RenderChecker",
    "RenderSpec",
    "Rendition",
    "Retry",
    "RunFailed",
    "RunFinished",
    "RunStarted",
    "Scene",
    "SceneDraft",
    "SceneTimed",
    "ScriptPlan",
    "ScriptRequest",
    "ScriptWriter",
    "Secret",
    "Segment",
    "SegmentRequest",
    "Soundtrack",
    "SoundtrackMixer",
    "SoundtrackRequest",
    "Speech",
    "SpeechRequest",
    "StageFinished",
    "StageStarted",
    "StockItem",
    "StockPicker",
    "StockSearch",
    "SystemProfile",
    "UserError",
    "Video",
    "Visual",
    "Voice",
    "VoiceSpec",
    "WordTiming",
    "count_words",
    "decode_to_wav",
    "download",
    "fetch_stock",
    "find_stock",
    "hookimpl",
    "http_failure",
    "is_transient_status",
    "load_brief",
    "optional_member",
    "orientation_of",
    "parse_brief",
    "pick_rendition",
    "plan_script",
    "record_usage",
    "redact",
    "retry_after_header",
    "retry_after_seconds",
    "route_stdlib_logging",
    "search_words",
    "secret",
    "setting",
    "settings_keys",
    "structure_settings",
    "transport_failures",
    "word_unit",
    "write_in_thread",
]
