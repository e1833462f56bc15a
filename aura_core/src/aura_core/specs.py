"""The brief file: what the user asks for, as frozen attrs classes.

Units, once: durations in seconds; ``VoiceSpec.rate`` is a speaking-rate multiplier (1.0 = the
voice's natural pace); ``VoiceSpec.pitch`` is in semitones; sizes in pixels; loudness in LUFS.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from attrs import field, frozen, validators

from aura_core.fields import added_field

Aspect = Literal["16:9", "9:16", "1:1"]
Pacing = Literal["chill", "conversational", "fast"]
Density = Literal["sparse", "balanced", "dense"]
PauseStyle = Literal["short", "normal", "long"]
CaptionMode = Literal["burn", "sidecar", "off"]
Codec = Literal["h264", "h265", "vp9", "av1"]
Quality = Literal["draft", "standard", "high", "max"]
Kind = Literal["llm", "tts", "image", "composer"]

KINDS: tuple[Kind, ...] = ("llm", "tts", "image", "composer")

#: Short side of each preset, in pixels; the aspect decides the long side and the orientation.
PRESETS: Mapping[str, int] = {"360p": 360, "480p": 480, "720p": 720, "1080p": 1080, "1440p": 1440, "4k": 2160}

#: Pause after each scene's narration, in seconds, by ``VoiceSpec.pause``.
PAUSES: Mapping[str, float] = {"short": 0.3, "normal": 0.6, "long": 1.0}


#: ``plan.duration`` bounds in seconds: the shortest video worth a script, and the longest a run makes.
MIN_DURATION = 1.0
MAX_DURATION = 3 * 3600.0

#: The most scenes a run makes, whether given as ``plan.scenes`` or implied by duration and density.
MAX_SCENES = 1000

#: Longest ``brief.topic`` and ``brief.goal``, in characters: a paragraph, not a document.
LONG_TEXT_CHARS = 2000

#: Longest of every other text key (a name, a tone, a language code, a path), in characters.
SHORT_TEXT_CHARS = 200

#: Characters a multi-line text key may hold besides printable ones (TOML multi-line strings).
_LINE_BREAKS = frozenset("\t\n\r")


def _positive(_inst: object, attribute: Any, value: float) -> None:
    if value <= 0:
        raise ValueError(f"'{attribute.name}' must be greater than 0: {value:g}")


def _not_blank(_inst: object, attribute: Any, value: str) -> None:
    if not value.strip():
        raise ValueError(f"'{attribute.name}' must not be empty")


def _duration_range(_inst: object, attribute: Any, value: float) -> None:
    if not MIN_DURATION <= value <= MAX_DURATION:
        raise ValueError(f"'{attribute.name}' must be from 1s to 3h: {value:g}")


def control_character(text: str, allowed: frozenset[str] = frozenset()) -> str | None:
    """A description of the first control character in ``text`` not in ``allowed``
    (``"U+0000 at character 13"``), or None when it has none."""
    for index, char in enumerate(text):
        if char not in allowed and unicodedata.category(char) in ("Cc", "Cs"):
            return f"U+{ord(char):04X} at character {index + 1}"
    return None


def bounded_text(max_chars: int, *, multiline: bool = False) -> Any:
    """An attrs validator: at most ``max_chars`` characters and no control characters (tab and line
    breaks allowed when ``multiline``); NUL and friends end up in prompts, file names and captions."""
    allowed = _LINE_BREAKS if multiline else frozenset()

    def check(_inst: object, attribute: Any, value: str) -> None:
        if len(value) > max_chars:
            raise ValueError(f"'{attribute.name}' must be at most {max_chars:,} characters: {len(value):,}")
        found = control_character(value, allowed)
        if found is not None:
            raise ValueError(f"'{attribute.name}' must not contain control characters: {found}")

    return check


_short = bounded_text(SHORT_TEXT_CHARS)


@frozen
class Brief:
    """What the video is about and who it is for."""

    topic: str = field(validator=[bounded_text(LONG_TEXT_CHARS, multiline=True), _not_blank])
    audience: str = field(default="curious adults", validator=_short)
    goal: str = field(default="", validator=bounded_text(LONG_TEXT_CHARS, multiline=True))
    tone: str = field(default="informative", validator=_short)
    language: str = field(default="en", validator=_short)
    aspect: Aspect = "16:9"


@frozen
class PlanSpec:
    """How long the video runs and how its script is paced; ``duration`` in seconds."""

    duration: float = field(default=60.0, validator=[_positive, _duration_range])
    pacing: Pacing = "conversational"
    density: Density = "balanced"
    style: str = field(default="documentary", validator=_short)
    scenes: int | None = field(
        default=None, validator=validators.optional([validators.ge(1), validators.le(MAX_SCENES)])
    )


@frozen
class VoiceSpec:
    """The narrator: ``rate`` multiplies the natural pace, ``pitch`` shifts in semitones."""

    name: str = field(default="joe", validator=_short)
    rate: float = field(default=1.0, validator=[validators.ge(0.5), validators.le(2.0)])
    pitch: float = field(default=0.0, validator=[validators.ge(-12.0), validators.le(12.0)])
    pause: PauseStyle = "normal"

    @property
    def pause_seconds(self) -> float:
        """The silence after each scene's narration, in seconds."""
        return PAUSES[self.pause]


@frozen
class RenderSpec:
    """How the video is encoded. ``width``/``height`` are resolved from preset or resolution and the aspect."""

    width: int = 1920
    height: int = 1080
    preset: str = field(default="1080p", validator=_short)
    resolution: str | None = field(default=None, validator=validators.optional(_short))
    fps: int = field(default=30, validator=[validators.ge(1), validators.le(120)])
    codec: Codec = "h264"
    quality: Quality = "standard"
    captions: CaptionMode = "burn"
    music: Path | None = None
    music_volume: float = field(default=0.25, validator=[validators.ge(0.0), validators.le(1.0)])
    transition: str = field(default="crossfade", validator=_short)
    transition_duration: float = field(default=0.5, validator=[validators.ge(0.0), validators.le(3.0)])
    loudness: float = field(default=-14.0, validator=[validators.ge(-40.0), validators.le(-5.0)])
    #: Write the credits of the scenes' visuals beside the video; it changes no provider's result.
    credits: bool = added_field(False, key="never")


@frozen
class ProvidersSpec:
    """An ordered fallback chain of provider names per kind, and settings per provider name."""

    chains: Mapping[str, tuple[str, ...]] = field(factory=dict)
    settings: Mapping[str, Mapping[str, Any]] = field(factory=dict)

    def chain(self, kind: str) -> tuple[str, ...]:
        """The names the brief gives for ``kind``, in order; empty when it gives none."""
        return self.chains.get(kind, ())


@frozen
class SystemProfile:
    """The machine a run happens on."""

    cores: int
    memory_bytes: int
    gpu: str | None
    ffmpeg: str | None

    @classmethod
    def detect(cls) -> SystemProfile:
        """Read the profile of this machine."""
        import psutil

        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            try:
                import imageio_ffmpeg

                ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
            except Exception:  # noqa: BLE001 - optional: no bundled binary means none found
                ffmpeg = None
        gpu = None
        if shutil.which("nvidia-smi") or Path("/dev/nvidia0").exists():
            gpu = "nvidia"
        return cls(
            cores=os.cpu_count() or 1,
            memory_bytes=int(psutil.virtual_memory().total),
            gpu=gpu,
            ffmpeg=ffmpeg,
        )


@frozen
class BriefFile:
    """A whole brief file: the brief and the plan, voice, render and provider tables."""

    brief: Brief
    plan: PlanSpec = PlanSpec()
    voice: VoiceSpec = VoiceSpec()
    render: RenderSpec = RenderSpec()
    providers: ProvidersSpec = ProvidersSpec()
    source: Path | None = None

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the brief are resolved from."""
        return self.source.parent if self.source is not None else Path.cwd()


_DURATION = re.compile(
    r"^\s*(?:(?P<h>\d+(?:\.\d+)?)h)?\s*(?:(?P<m>\d+(?:\.\d+)?)m)?\s*(?:(?P<s>\d+(?:\.\d+)?)s?)?\s*$"
)


def parse_duration(value: object) -> float:
    """``"90s"``, ``"2m"``, ``"1m30s"``, ``"1h"`` or a number of seconds, as seconds."""
    if isinstance(value, bool):
        raise ValueError(f'expected a duration like "60s", got {value!r}')
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f'expected a finite duration like "60s", got {value!r}')
        return float(value)
    if isinstance(value, str):
        if value.strip().startswith("-"):
            raise ValueError(f"must be greater than 0, got {value!r}")
        match = _DURATION.match(value)
        if match and any(match.group(g) for g in "hms"):
            h, m, s = (float(match.group(g) or 0) for g in "hms")
            return h * 3600 + m * 60 + s
    raise ValueError(f'expected a duration like "60s", got {value!r}')


def frame_size(preset: str, resolution: str | None, aspect: str) -> tuple[int, int]:
    """Width and height in pixels from a preset or an explicit ``WxH`` resolution, oriented by the aspect."""
    if resolution is not None:
        match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", resolution)
        if not match:
            raise ValueError(f'expected a resolution like "1280x720", got {resolution!r}')
        width, height = int(match.group(1)), int(match.group(2))
        if not (16 <= width <= 8192 and 16 <= height <= 8192):
            raise ValueError(f"resolution {resolution!r} is outside 16..8192 pixels")
        return width - width % 2, height - height % 2
    short = PRESETS.get(preset.lower())
    if short is None:
        raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    num, den = (int(x) for x in aspect.split(":"))
    long_side = round(short * max(num, den) / min(num, den))
    long_side -= long_side % 2
    return (long_side, short) if num >= den else (short, long_side)
