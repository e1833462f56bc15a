"""``FfmpegComposer``: the composer provider (kind ``composer``, name ``ffmpeg``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import anyio
import attrs

from aura_core import (
    AssemblyRequest,
    Availability,
    Clip,
    ProviderError,
    ProviderSettings,
    RenderSpec,
    Segment,
    SegmentRequest,
    Soundtrack,
    SoundtrackRequest,
    UserError,
    Video,
)
from aura_plugins_ffmpeg import assembly, binary, encoders, soundtrack
from aura_plugins_ffmpeg.motion import transition_problem
from aura_plugins_ffmpeg.probe import audio_problem, probe
from aura_plugins_ffmpeg.segment import SegmentPlan, encoder_threads, render
from aura_plugins_ffmpeg.stills import StillCache

#: Bumped whenever segments come out differently for the same settings (part of the fingerprint):
#: 2 = motion sampled from a 4x still, captions burned into each segment; 3 = crossfade blended in
#: Python on the yuv420p planes (its chroma differs from xfade's by a level or two), the transition
#: ending on the next segment's first frame sampled exactly as that segment samples it.
PIPELINE = 3

#: The settings ``[providers.ffmpeg]`` accepts, with their defaults.
DEFAULTS: Mapping[str, Any] = {"ffmpeg": "bundled", "hwaccel": "auto", "threads": 0, "zoom": 1.1}


@attrs.frozen
class FfmpegComposer:
    """Renders each scene's segment (Ken Burns motion, the transition into the next scene, burned
    captions) and assembles the video (segments copied, narration, ducked music, loudness, caption
    sidecars, thumbnail) with ffmpeg."""

    ffmpeg: str = "bundled"
    hwaccel: str = "auto"
    threads: int = 0
    zoom: float = 1.1

    kind: str = attrs.field(default="composer", init=False)
    name: str = attrs.field(default="ffmpeg", init=False)
    concurrency: int = attrs.field(default=2, init=False)
    #: It takes moving clips as well as pictures (``aura_core.Clip``): played from their in-point,
    #: conformed to the frame rate, cover-fitted, without their sound (see ``footage``).
    clips: ClassVar[bool] = True
    #: The upsampled pictures this run's segments share (each is decoded once; see ``stills``).
    stills: StillCache = attrs.field(factory=StillCache, init=False, eq=False, repr=False)

    @property
    def exe(self) -> str:
        """The ffmpeg binary this composer runs."""
        return binary.locate(self.ffmpeg)

    def configure(self, settings: ProviderSettings) -> FfmpegComposer:
        """A copy with the ``[providers.ffmpeg]`` settings applied; bad keys raise ``UserError``."""
        values = dict(settings.values)
        unknown = sorted(set(values) - set(DEFAULTS))
        if unknown:
            raise UserError(
                f"providers.ffmpeg: unknown setting(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}"
            )
        changes: dict[str, Any] = {}
        if "ffmpeg" in values:
            raw = str(values["ffmpeg"])
            changes["ffmpeg"] = raw if raw in ("bundled", "path") else str(settings.path("ffmpeg"))
            binary.locate(changes["ffmpeg"])
        if "hwaccel" in values:
            if values["hwaccel"] not in encoders.HWACCEL_VALUES:
                raise UserError(
                    f"providers.ffmpeg.hwaccel: expected one of {', '.join(encoders.HWACCEL_VALUES)}, "
                    f"got {values['hwaccel']!r}"
                )
            changes["hwaccel"] = values["hwaccel"]
        if "threads" in values:
            threads = values["threads"]
            if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
                raise UserError(f"providers.ffmpeg.threads: expected a whole number >= 0, got {threads!r}")
            changes["threads"] = threads
        if "zoom" in values:
            zoom = values["zoom"]
            if not isinstance(zoom, int | float) or isinstance(zoom, bool) or not 1.0 <= zoom <= 2.0:
                raise UserError(f"providers.ffmpeg.zoom: expected a number from 1.0 to 2.0, got {zoom!r}")
            changes["zoom"] = float(zoom)
        return attrs.evolve(self, **changes)

    def fingerprint(self) -> str:
        """The ffmpeg version and every setting that changes the output."""
        settings = {"hwaccel": self.hwaccel, "pipeline": PIPELINE, "threads": self.threads, "zoom": self.zoom}
        return f"{binary.version(self.exe)} {json.dumps(settings, sort_keys=True)}"

    async def check(self) -> Availability:
        """Whether the ffmpeg binary is found and runs."""
        try:
            exe = self.exe
            found = await anyio.to_thread.run_sync(binary.version, exe)
        except (UserError, ProviderError, OSError) as error:
            return Availability(False, str(error))
        return Availability(True, f"{found} ({exe})")

    def check_render(self, render: RenderSpec) -> list[str]:
        """What this composer cannot render in ``render``, one line each (``RenderChecker``): an unknown
        transition, and music that is not audio ffmpeg can read (its first frame is decoded)."""
        problems = [transition_problem(render.transition)]
        if render.music is not None:
            problem = audio_problem(render.music)
            problems.append(None if problem is None else f"render.music: {problem}")
        return [problem for problem in problems if problem is not None]

    async def _encoder(self, codec: str, quality: str) -> encoders.Encoder:
        return await encoders.choose(self.exe, codec, quality, self.hwaccel)

    async def render_scene(self, request: SegmentRequest) -> Segment:
        """Encode scene ``request.scene``'s slot to ``request.out_path`` (video only, exact frame count)."""
        spec = request.render
        plan = SegmentPlan.of(request)
        encoder = await self._encoder(spec.codec, spec.quality)
        request.out_path.parent.mkdir(parents=True, exist_ok=True)
        threads = encoder_threads(self.threads, self.concurrency)
        said = await render(
            request, plan, encoder, exe=self.exe, zoom=self.zoom, threads=threads, stills=self.stills
        )
        found = await anyio.to_thread.run_sync(probe, request.out_path)
        if found.video_frames != plan.frames:
            request.out_path.unlink(missing_ok=True)
            raise ProviderError(short_segment(request, plan, found.video_frames, said), transient=False)
        return Segment(
            path=request.out_path,
            index=request.scene.index,
            start=round(request.scene.start * spec.fps) / spec.fps,
            duration=plan.frames / spec.fps,
            width=found.width,
            height=found.height,
            fps=spec.fps,
        )

    async def mix_soundtrack(self, request: SoundtrackRequest) -> Soundtrack:
        """Mix, level and encode the soundtrack to ``request.out_path`` (AAC, or Opus for a ``.webm``);
        the runner calls it while the segments still render (``SoundtrackMixer``)."""
        return await soundtrack.mix(request, exe=self.exe, threads=self.threads)

    async def assemble(self, request: AssemblyRequest) -> Video:
        """Join the segments (copied), lay the soundtrack, write the caption sidecars and ``request.out_path``."""
        return await assembly.assemble(request, exe=self.exe, threads=self.threads)


def short_segment(request: SegmentRequest, plan: SegmentPlan, frames: int, said: str) -> str:
    """Why scene ``request.scene``'s segment came out with ``frames`` frames instead of the plan's: a
    clip that ran out before its part ended (a truncated file decodes up to where it was cut), naming
    it, with the first thing ffmpeg said about it."""
    number = request.scene.index + 1
    message = f"segment of scene {number} has {frames} frames, expected {plan.frames}"
    clips = [request.picture] if isinstance(request.picture, Clip) else []
    if isinstance(request.next_picture, Clip) and plan.transition is not None:
        clips.append(request.next_picture)
    if not clips:
        return message
    names = " or ".join(str(clip.path) for clip in clips if isinstance(clip, Clip))
    lines = binary.said(said)
    reason = f"; ffmpeg said: {lines[0]}" if lines else ""
    return f"{message}: clip {names} ended before the frames it was to give (is the file truncated?){reason}"
