"""The provider contract: request and result classes and the protocol of each provider kind.

Every request and result is a frozen attrs class. Paths are absolute. Times are in seconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol, TypeAlias, TypeVar, runtime_checkable

from attrs import field, frozen

from aura_core.fields import added_field
from aura_core.settings import structure_settings
from aura_core.specs import Brief, PlanSpec, RenderSpec, VoiceSpec

T = TypeVar("T")


@frozen
class Availability:
    """Whether a provider can be used now, and why not when it cannot."""

    ok: bool
    detail: str = ""


@frozen
class ProviderSettings:
    """The ``[providers.<name>]`` table of a brief, handed to a provider's optional ``configure``.

    ``values`` are the keys as the user wrote them (the core's own resilience keys removed);
    ``base_dir`` is the brief's folder, for resolving relative paths with ``path()``;
    ``provider`` is the provider's name, which ``structure()`` puts in its messages.
    """

    values: Mapping[str, Any] = field(factory=dict)
    base_dir: Path = field(factory=Path.cwd)
    provider: str = ""

    def structure(self, cls: type[T], *, current: T | None = None) -> T:
        """The table read into the settings class ``cls`` (see ``aura_core.setting``): every problem is
        one line of a ``BriefError`` (``providers.<name>.<key>: …``); a key left out takes its value from
        ``current`` when given, else the field's default."""
        return structure_settings(
            cls, self.values, provider=self.provider, base_dir=self.base_dir, current=current
        )

    def path(self, key: str) -> Path | None:
        """The setting ``key`` as a path resolved from the brief's folder, or None when unset."""
        raw = self.values.get(key)
        if raw is None:
            return None
        path = Path(str(raw)).expanduser()
        return path if path.is_absolute() else (self.base_dir / path).resolve()


@frozen
class WordTiming:
    """One spoken word and when it is said, relative to the start of its speech file."""

    text: str
    start: float
    end: float


@frozen
class SceneDraft:
    """One scene of a script as the LLM writes it."""

    heading: str
    narration: str
    visual_prompt: str


@frozen
class ScriptRequest:
    """Ask for a script of ``scene_count`` scenes of about ``word_target`` words in all."""

    brief: Brief
    plan: PlanSpec
    scene_count: int
    word_target: int
    language: str = "en"


@frozen
class SpeechRequest:
    """Speak ``text`` with ``voice`` into a WAV (or other audio) file at ``out_path``."""

    text: str
    voice: VoiceSpec
    language: str
    out_path: Path


@frozen
class Speech:
    """A voiced file: its measured duration, sample rate and, when known, word timings.

    ``voice`` names the voice that really spoke, when the provider knows it: the core notes it once per
    provider in ``run.log`` and ``report.json`` when it is not the brief's ``[voice] name``.
    """

    path: Path
    duration: float
    sample_rate: int
    words: tuple[WordTiming, ...] = ()
    voice: str = ""


@frozen
class ImageRequest:
    """Make a ``width`` x ``height`` visual for ``prompt`` at ``out_path``: a picture (PNG), or a moving clip.

    ``duration`` is how long the scene's slot needs filling, in seconds: estimated from the narration's
    words when the scene is first known, exact once it is voiced; 0 when unknown. It is a hint, not part
    of the cache key: a clip is cut (or slowed) to the voiced slot by the composer. ``clips`` says
    whether a moving clip (a ``Clip``) may be returned: True only when every composer of the chain takes
    clips and the illustrator declares ``clips = True``; when it is False an illustrator returns a
    ``Picture``. A clip is written beside ``out_path`` with its own suffix
    (``out_path.with_suffix(".mp4")``), and the ``Clip`` says where.
    An illustrator written before clips existed reads neither and keeps working unchanged.
    """

    prompt: str
    negative_prompt: str
    width: int
    height: int
    style: str
    seed: int
    out_path: Path
    heading: str = ""
    duration: float = added_field(0.0, key="never")
    clips: bool = added_field(False)


@frozen
class Picture:
    """A picture on disk, where it came from and under which licence.

    ``author`` and ``link`` credit the picture's maker and its page when the source asks for attribution.
    """

    path: Path
    width: int
    height: int
    source: str
    license: str
    author: str = added_field("")
    link: str = added_field("")


@frozen
class Clip:
    """A moving clip on disk for a scene, as measured: ``width`` x ``height`` pixels, ``duration`` seconds
    at ``fps`` frames per second (the average rate of a variable-rate file).

    The composer plays it from ``start`` seconds into the file, cut to the scene's slot; scales and crops
    it to fill the frame; conforms it to the video's frame rate; and drops its sound. ``source``,
    ``license``, ``author`` and ``link`` credit it as for a ``Picture``.
    """

    path: Path
    width: int
    height: int
    duration: float
    fps: float
    source: str
    license: str
    start: float = 0.0
    author: str = ""
    link: str = ""


Visual: TypeAlias = Picture | Clip
"""What an illustrator returns and a segment shows: a still picture or a moving clip."""


@frozen
class Scene:
    """A timed scene: where it sits on the timeline of the video.

    ``start`` and ``duration`` are the scene's slot on the timeline; its narration starts at
    ``start`` and lasts ``speech_duration``; the rest of the slot is the pause after it.
    Before the scene is voiced, durations are estimated from the word count.
    """

    index: int
    heading: str
    narration: str
    visual_prompt: str
    start: float
    duration: float
    speech_duration: float


@frozen
class SegmentRequest:
    """Render ``scene``'s slot: its visual in motion, ending in the transition to ``next_picture``.

    ``next_picture`` is None for the last scene. ``picture`` is None when no visual could be made:
    the composer then draws a background of its own. Either may be a ``Clip`` only when the composer
    takes clips.
    """

    scene: Scene
    speech: Speech
    picture: Visual | None
    next_picture: Visual | None
    render: RenderSpec
    out_path: Path
    scene_count: int = 1


@frozen
class Segment:
    """One encoded scene slot: video only, exactly ``duration`` seconds long."""

    path: Path
    index: int
    start: float
    duration: float
    width: int
    height: int
    fps: int


@frozen
class Narration:
    """One scene's speech placed on the timeline at ``start``, with its text for captions."""

    speech: Speech
    start: float
    text: str


@frozen
class SoundtrackRequest:
    """Mix the narration (each speech at its start) and the music to ``duration`` seconds, level it
    to ``render.loudness`` and encode it for the video's container at ``out_path``."""

    narration: tuple[Narration, ...]
    music: Path | None
    render: RenderSpec
    duration: float
    out_path: Path


@frozen
class SoundtrackStart:
    """A soundtrack to stream as the scenes are placed (``SoundtrackStreamer``): what is known
    before the first one. The stream may write its file at ``out_path`` (a fresh path in the run's
    ``tmp/``, with the suffix of the container to write) until ``finish`` gives the whole timeline."""

    music: Path | None
    render: RenderSpec
    out_path: Path


@frozen
class Soundtrack:
    """The encoded soundtrack of a video, as measured on disk."""

    path: Path
    duration: float


@frozen
class AssemblyRequest:
    """Join the segments, lay the narration and music under them, add captions, write ``out_path``.

    ``soundtrack``, when given, is that narration and music already mixed, levelled and encoded
    (by the composer's optional ``mix_soundtrack``, while the segments rendered): use it as is.
    """

    segments: tuple[Segment, ...]
    narration: tuple[Narration, ...]
    music: Path | None
    captions: str
    render: RenderSpec
    out_path: Path
    soundtrack: Soundtrack | None = None


@frozen
class Video:
    """The finished video as probed on disk; captions and thumbnail paths when made."""

    path: Path
    duration: float
    width: int
    height: int
    fps: float
    size_bytes: int
    captions_path: Path | None = None
    thumbnail_path: Path | None = None


@runtime_checkable
class Provider(Protocol):
    """What every provider has. Optional: ``check()``, ``fingerprint()``, ``concurrency``, ``settings``,
    ``configure()`` and the rest of ``OPTIONAL_MEMBERS``."""

    kind: str
    name: str


@runtime_checkable
class ScriptWriter(Provider, Protocol):
    """kind ``llm``: writes the script, yielding each scene as soon as it is known."""

    def write_script(self, request: ScriptRequest) -> AsyncIterator[SceneDraft]:
        """Yield the scenes of the script in order."""
        ...


@runtime_checkable
class Voice(Provider, Protocol):
    """kind ``tts``: speaks text into an audio file."""

    async def synthesize(self, request: SpeechRequest) -> Speech:
        """Write the speech to ``request.out_path`` and describe it."""
        ...


@runtime_checkable
class Illustrator(Provider, Protocol):
    """kind ``image``: makes a picture for a scene, or a moving clip when the request takes clips."""

    async def generate(self, request: ImageRequest) -> Visual:
        """Write the picture to ``request.out_path`` (a clip beside it, with its own suffix) and describe it."""
        ...


@runtime_checkable
class Composer(Provider, Protocol):
    """kind ``composer``: renders scene segments and assembles the video."""

    async def render_scene(self, request: SegmentRequest) -> Segment:
        """Encode one scene slot to ``request.out_path``."""
        ...

    async def assemble(self, request: AssemblyRequest) -> Video:
        """Write the finished video to ``request.out_path``."""
        ...


@runtime_checkable
class SoundtrackMixer(Protocol):
    """What a composer may add to the ``Composer`` protocol: the soundtrack made on its own.

    The runner calls ``mix_soundtrack`` as soon as every scene is voiced (while segments still
    render) when every composer of the chain has it, and hands the result to ``assemble`` as
    ``request.soundtrack``; the slow audio work then no longer waits for the last segment.
    """

    async def mix_soundtrack(self, request: SoundtrackRequest) -> Soundtrack:
        """Write the soundtrack of ``request`` to ``request.out_path``."""
        ...


@runtime_checkable
class SoundtrackStream(Protocol):
    """A soundtrack being made while the scenes are placed (see ``SoundtrackStreamer``)."""

    async def add(self, narration: Narration, end: float) -> None:
        """Scene placed: its ``narration`` at its start, its slot ending at ``end`` seconds (the next
        scene's start). Called in timeline order; returns without waiting for the audio work."""
        ...

    async def finish(self, request: SoundtrackRequest) -> Soundtrack:
        """The whole timeline is known: write the soundtrack of ``request`` to ``request.out_path``,
        the one ``mix_soundtrack(request)`` would write."""
        ...


@runtime_checkable
class SoundtrackStreamer(Protocol):
    """What a composer with ``mix_soundtrack`` may add: the soundtrack made as the scenes are placed.

    When the first composer of the chain has it, the runner opens the stream once a scene's voice
    is freshly made (not on a run that finds its voices stored), calls ``add`` for each scene as its
    start becomes known, then asks for the soundtrack as for ``mix_soundtrack``, with the same
    ``SoundtrackRequest`` and cache key, by awaiting ``finish`` for the first attempt (retries call
    ``mix_soundtrack``). A stored soundtrack is used without ``finish``. Leaving the context without
    ``finish`` (a stored result, an error, a cancelled run) must stop the work and leave no file.
    """

    def stream_soundtrack(self, start: SoundtrackStart) -> AbstractAsyncContextManager[SoundtrackStream]:
        """A stream for a soundtrack that starts as ``start`` says, open while the context is."""
        ...


@runtime_checkable
class RenderChecker(Protocol):
    """What a composer may add to the ``Composer`` protocol: the render settings checked up front.

    The pipeline calls ``check_render`` with the brief's ``render`` table before the first provider
    call (and ``aura run --dry-run`` calls it too), in a worker thread, since it may read a file
    briefly (probe the music). Each problem is one line naming its key and what to do
    (``render.transition: unknown transition "wipe"; …``); any problem stops the run before any
    paid call, as a mistake in the brief (``BriefError``, exit code 2).
    """

    def check_render(self, render: RenderSpec) -> list[str]:
        """The problems this composer finds in ``render``, one line each; empty when it can render it."""
        ...


PROTOCOLS: Mapping[str, type] = {
    "llm": ScriptWriter,
    "tts": Voice,
    "image": Illustrator,
    "composer": Composer,
}
