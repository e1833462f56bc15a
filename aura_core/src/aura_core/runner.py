"""The streaming stage runner.

Stages: script → scene timing → voice → visuals → segment render → (soundtrack) → assembly. Scenes
stream: as soon as the LLM finishes scene k it is voiced and illustrated, while scene k+1 is still
being written. Scene k's segment renders once its voice, its picture, the next scene's picture and
the voices before it (which fix its start) exist. When the composers can (``SoundtrackMixer``), the
soundtrack is mixed as soon as every scene is voiced, while segments still render. Assembly waits
for the last segment. Concurrency per provider is bounded by its ``CapacityLimiter``; drafts flow
through a bounded memory stream.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, cast

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from attrs import define, evolve, field
from loguru import logger

from aura_core.calls import Link, ProviderCalls
from aura_core.context import PipelineContext, SceneOutputs
from aura_core.contract import (
    AssemblyRequest,
    ImageRequest,
    Narration,
    Scene,
    SceneDraft,
    ScriptRequest,
    Segment,
    SegmentRequest,
    Soundtrack,
    SoundtrackMixer,
    SoundtrackRequest,
    SoundtrackStart,
    SoundtrackStream,
    Speech,
    SpeechRequest,
    Video,
    Visual,
)
from aura_core.events import SceneTimed, StageFinished, StageStarted
from aura_core.executor import InProcess
from aura_core.members import optional_member
from aura_core.planning import ScriptPlan, draft_scene, estimate_speech_seconds
from aura_core.specs import BriefFile, RenderSpec
from aura_core.stages import PER_SCENE, stage_named
from aura_core.store import RunStore
from aura_core.validation import check_segment, check_soundtrack, check_speech, check_video, check_visual

NEGATIVE_PROMPT = "text, watermark, signature, blurry, low quality, distorted"
_PLACEHOLDER = Path("pending")


def scene_seed(index: int, visual_prompt: str) -> int:
    """A fixed seed per scene and prompt, so a re-run asks for the same picture (and finds it cached)."""
    return int(hashlib.sha256(f"{index}:{visual_prompt}".encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


# The requests the runner makes, as functions: ``aura run --dry-run`` computes the same cache keys.

#: What an illustrator's result is read back as from the store: a ``Picture`` or a ``Clip``.
VISUAL_TYPE = cast("type[Visual]", Visual)

#: A segment's look does not depend on where it sits: moving it must not re-render it.
SEGMENT_KEY_IGNORE = frozenset({"scene.start", "scene_count"})


def script_request(spec: BriefFile, plan: ScriptPlan) -> ScriptRequest:
    """The script request of a brief."""
    return ScriptRequest(
        brief=spec.brief,
        plan=spec.plan,
        scene_count=plan.scene_count,
        word_target=plan.word_target,
        language=spec.brief.language,
    )


def speech_request(spec: BriefFile, draft: SceneDraft) -> SpeechRequest:
    """The voice request of one scene."""
    return SpeechRequest(
        text=draft.narration, voice=spec.voice, language=spec.brief.language, out_path=_PLACEHOLDER
    )


def image_request(
    spec: BriefFile, index: int, draft: SceneDraft, *, duration: float = 0.0, clips: bool = False
) -> ImageRequest:
    """The visual request of one scene: ``duration`` is its slot's length (a hint, in no cache key),
    ``clips`` whether the composers take moving clips (``composers_take_clips``)."""
    prompt = draft.visual_prompt.strip() or draft.narration
    return ImageRequest(
        prompt=prompt,
        negative_prompt=NEGATIVE_PROMPT,
        width=spec.render.width,
        height=spec.render.height,
        style=spec.plan.style,
        seed=scene_seed(index, prompt),
        out_path=_PLACEHOLDER,
        heading=draft.heading,
        duration=duration,
        clips=clips,
    )


def image_request_for(provider: Any, request: ImageRequest) -> ImageRequest:
    """``request`` as one illustrator is asked it: clips are offered only to one that declares ``clips = True``.

    An illustrator that makes no clips is asked, and keyed, exactly as before clips existed."""
    return evolve(request, clips=request.clips and optional_member(provider, "clips") is True)


def composers_take_clips(composers: Sequence[Link]) -> bool:
    """Whether every composer of a chain declares ``clips = True`` (takes a ``Clip`` as a scene's visual)."""
    return bool(composers) and all(optional_member(link.provider, "clips") is True for link in composers)


def slot_frames(spec: BriefFile, speech_seconds: float) -> int:
    """How many frames a scene lasts: its speech, the pause after it, at least a transition."""
    fps = spec.render.fps
    seconds = max(speech_seconds + spec.voice.pause_seconds, spec.render.transition_duration + 2.0 / fps)
    return math.ceil(seconds * fps - 1e-6)


def scene_frames(spec: BriefFile, speech: Speech) -> int:
    """How many frames a voiced scene lasts (``slot_frames`` of its measured speech)."""
    return slot_frames(spec, speech.duration)


def estimated_slot(spec: BriefFile, plan: ScriptPlan, draft: SceneDraft) -> float:
    """How long a scene not yet voiced will last, in seconds, from its words at the plan's pace."""
    speech = estimate_speech_seconds(draft.narration, plan.words_per_minute, spec.brief.language)
    return slot_frames(spec, speech) / spec.render.fps


def timed_scene(
    spec: BriefFile, index: int, draft: SceneDraft, speech: Speech, start_frames: int, frames: int
) -> Scene:
    """A scene placed on the video's timeline from the frames of the scenes before it."""
    fps = spec.render.fps
    return Scene(
        index=index,
        heading=draft.heading,
        narration=draft.narration,
        visual_prompt=draft.visual_prompt,
        start=start_frames / fps,
        duration=frames / fps,
        speech_duration=speech.duration,
    )


def segment_request(
    spec: BriefFile,
    scene: Scene,
    speech: Speech,
    picture: Visual | None,
    next_picture: Visual | None,
    scene_count: int,
) -> SegmentRequest:
    """The render request of one scene's segment."""
    return SegmentRequest(
        scene=scene,
        speech=speech,
        picture=picture,
        next_picture=next_picture,
        render=spec.render,
        out_path=_PLACEHOLDER,
        scene_count=scene_count,
    )


def soundtrack_request(
    spec: BriefFile, narration: tuple[Narration, ...], duration: float
) -> SoundtrackRequest:
    """The request that mixes the video's soundtrack (narration and music, ``duration`` long)."""
    return SoundtrackRequest(
        narration=narration,
        music=spec.render.music,
        render=spec.render,
        duration=duration,
        out_path=_PLACEHOLDER,
    )


def video_suffix(render: RenderSpec) -> str:
    """The suffix of segment and video files: WebM for VP9, else MP4."""
    return ".webm" if render.codec == "vp9" else ".mp4"


def soundtrack_suffix(render: RenderSpec) -> str:
    """The soundtrack file's suffix: what the video's container carries (Opus in WebM for VP9)."""
    return ".webm" if render.codec == "vp9" else ".m4a"


def mixes_soundtrack(calls: ProviderCalls) -> bool:
    """Whether every composer of the chain makes soundtracks on their own (``SoundtrackMixer``)."""
    return composers_mix_soundtrack(calls.chains["composer"])


def composers_mix_soundtrack(composers: Sequence[Link]) -> bool:
    """Whether every composer of a chain makes soundtracks on its own (``SoundtrackMixer``)."""
    return bool(composers) and all(isinstance(link.provider, SoundtrackMixer) for link in composers)


def streams_soundtrack(calls: ProviderCalls) -> bool:
    """Whether the soundtrack can be made as the scenes are placed: the composers mix soundtracks,
    the first of the chain streams them (``SoundtrackStreamer``) and its calls run in this process."""
    links = calls.chains["composer"]
    return (
        mixes_soundtrack(calls)
        and callable(optional_member(links[0].provider, "stream_soundtrack"))
        and isinstance(calls.executor, InProcess)
    )


def assembly_request(
    spec: BriefFile,
    segments: tuple[Segment, ...],
    narration: tuple[Narration, ...],
    soundtrack: Soundtrack | None = None,
) -> AssemblyRequest:
    """The request that joins the segments into the video."""
    return AssemblyRequest(
        segments=segments,
        narration=narration,
        music=spec.render.music,
        captions=spec.render.captions,
        render=spec.render,
        out_path=_PLACEHOLDER,
        soundtrack=soundtrack,
    )


@define
class _Slot:
    index: int
    draft: SceneDraft | None = None
    speech: Speech | None = None
    frames: int = 0
    start_frames: int = 0  # known once ``placed`` is set
    picture: Visual | None = None
    segment: Segment | None = None
    is_end: bool = False
    voiced: anyio.Event = field(factory=anyio.Event)
    #: set once this scene and every scene before it are voiced (its start on the timeline is known)
    placed: anyio.Event = field(factory=anyio.Event)
    pictured: anyio.Event = field(factory=anyio.Event)


@define
class _Stages:
    """Stage started/finished events from item counts."""

    ctx: PipelineContext
    total: int
    started: set[str] = field(factory=set)
    done: dict[str, int] = field(factory=dict)
    script_done: bool = False

    def _total(self, stage: str) -> int:
        return stage_named(stage).items(self.total)

    def begin(self, stage: str) -> None:
        if stage not in self.started:
            self.started.add(stage)
            self.ctx.emit(StageStarted(run_id=self.ctx.run_id, stage=stage, total=self._total(stage)))

    def item_done(self, stage: str) -> None:
        self.done[stage] = self.done.get(stage, 0) + 1
        self.maybe_finish(stage)

    def maybe_finish(self, stage: str) -> None:
        if self.script_done and stage in self.started and self.done.get(stage, 0) >= self._total(stage):
            self.started.discard(stage)
            self.done[stage] = -(10**9)  # finished: never again
            self.ctx.emit(StageFinished(run_id=self.ctx.run_id, stage=stage, ok=True))


@define
class Runner:
    """Runs one pipeline over a context, a set of guarded provider chains and a store."""

    ctx: PipelineContext
    calls: ProviderCalls
    store: RunStore
    streaming: bool = True
    _slots: dict[int, _Slot] = field(factory=dict, init=False)
    _stages: _Stages | None = field(default=None, init=False)
    _count: int | None = field(default=None, init=False)
    _placed: int = field(default=0, init=False)
    #: set once the script is done and every scene is voiced (the whole timeline is known)
    _timeline_known: anyio.Event = field(factory=anyio.Event, init=False)
    _soundtrack: Soundtrack | None = field(default=None, init=False)
    #: each scene's index as it is placed, for the streamed soundtrack (closed once the timeline is known)
    _placements: MemoryObjectSendStream[int] | None = field(default=None, init=False)

    def _slot(self, index: int) -> _Slot:
        if index not in self._slots:
            self._slots[index] = _Slot(index)
        return self._slots[index]

    @property
    def stages(self) -> _Stages:
        assert self._stages is not None
        return self._stages

    async def run(self) -> Video:
        """Run every stage; returns the assembled video (stored in the run's artifacts)."""
        plan = self.ctx.plan
        self._stages = _Stages(self.ctx, plan.scene_count)
        try:
            return await self._run_stages()
        except BaseException:
            for stage in sorted(self.stages.started):  # every stage still open ends with the run
                self.ctx.emit(StageFinished(run_id=self.ctx.run_id, stage=stage, ok=False))
            raise

    async def _run_stages(self) -> Video:
        plan = self.ctx.plan
        send, receive = anyio.create_memory_object_stream[tuple[int, SceneDraft]](
            max(4, plan.scene_count // 4)
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._script, send)
            if self.streaming and streams_soundtrack(self.calls):
                self._placements, placements = anyio.create_memory_object_stream[int](math.inf)
                tg.start_soon(self._streamed_soundtrack, placements)
            elif self.streaming and mixes_soundtrack(self.calls):
                tg.start_soon(self._early_soundtrack)
            async with receive:
                if self.streaming:
                    async for index, draft in receive:
                        self._start_scene(tg, index, draft)
                else:
                    drafts = [item async for item in receive]
        if not self.streaming:
            await self._stage_by_stage(drafts)
        return await self._assemble()

    def _start_scene(self, tg: TaskGroup, index: int, draft: SceneDraft) -> None:
        slot = self._slot(index)
        slot.draft = draft
        tg.start_soon(self._voice, slot)
        tg.start_soon(self._picture, slot)
        tg.start_soon(self._segment, slot)

    async def _stage_by_stage(self, drafts: list[tuple[int, SceneDraft]]) -> None:
        """The non-streaming baseline: every stage finishes before the next begins (for benchmarks)."""
        for index, draft in drafts:
            self._slot(index).draft = draft
        for step in (self._voice, self._picture, self._segment):
            async with anyio.create_task_group() as tg:
                for index, _draft in drafts:
                    tg.start_soon(step, self._slots[index])

    async def _script(self, send: anyio.abc.ObjectSendStream[tuple[int, SceneDraft]]) -> None:
        request = script_request(self.ctx.spec, self.ctx.plan)
        count = 0

        async def emit(index: int, draft: SceneDraft) -> None:
            nonlocal count
            count = max(count, index + 1)
            await send.send((index, draft))

        self.stages.begin("script")
        async with send:
            await self.calls.script(request, emit)
        self._count = count
        self.stages.total = count
        self.stages.script_done = True
        self.stages.item_done("script")
        end = self._slot(count)
        end.is_end = True
        end.pictured.set()
        self._check_timeline()
        for stage in PER_SCENE:
            self.stages.maybe_finish(stage)

    async def _voice(self, slot: _Slot) -> None:
        spec = self.ctx.spec
        assert slot.draft is not None
        self.stages.begin("voice")
        request = speech_request(spec, slot.draft)
        speech, provider = await self.calls.call(
            stage="voice",
            index=slot.index,
            kind="tts",
            request=request,
            method="synthesize",
            result_type=Speech,
            suffix=".wav",
            validate=check_speech,
        )
        self._note_voice(provider, speech.voice, request.voice.name)
        slot.speech = speech
        slot.frames = scene_frames(spec, speech)
        outputs = self._outputs(slot)
        outputs.speech, outputs.voice_provider = speech, provider
        slot.voiced.set()
        while self._slot(self._placed).voiced.is_set():  # every scene up to here now has its start
            placed = self._slot(self._placed)
            if self._placed:
                before = self._slots[self._placed - 1]
                placed.start_frames = before.start_frames + before.frames
            placed.placed.set()
            if self._placements is not None:
                self._placements.send_nowait(self._placed)
            self._placed += 1
        self._check_timeline()
        self.stages.item_done("voice")

    def _note_voice(self, provider: str, spoke: str, asked: str) -> None:
        """Say once per provider, in run.log and the report, that another voice than ``[voice] name`` spoke."""
        note = f"voice: {provider} spoke with its voice {spoke!r}, not [voice] name {asked!r}"
        if not spoke or spoke.casefold() == asked.casefold() or note in self.ctx.notes:
            return
        self.ctx.notes.append(note)
        logger.bind(run_id=self.ctx.run_id).warning("{}", note)

    def _check_timeline(self) -> None:
        """Set ``_timeline_known`` once the scene count is known and every scene is placed."""
        if self._count is not None and self._placed >= self._count:
            self._timeline_known.set()
            if self._placements is not None:
                self._placements.close()

    def _timeline(self) -> tuple[tuple[Narration, ...], float]:
        """Every scene's narration at its start, and the timeline's end, in seconds."""
        fps = self.ctx.spec.render.fps
        slots = [self._slots[i] for i in range(self._count or 0)]
        narration = tuple(self._narration(s) for s in slots if s.speech is not None and s.draft is not None)
        end = slots[-1].start_frames + slots[-1].frames if slots else 0
        return narration, end / fps

    def _narration(self, slot: _Slot) -> Narration:
        """A placed scene's narration at its start on the timeline."""
        assert slot.speech is not None and slot.draft is not None
        return Narration(
            speech=slot.speech, start=slot.start_frames / self.ctx.spec.render.fps, text=slot.draft.narration
        )

    async def _early_soundtrack(self) -> None:
        await self._timeline_known.wait()
        if self._count:
            await self._make_soundtrack()

    async def _streamed_soundtrack(self, placements: MemoryObjectReceiveStream[int]) -> None:
        """The soundtrack made as the scenes are placed (``SoundtrackStreamer``), from the first scene
        whose voice was made in this run: a run that finds its voices stored finds its soundtrack
        stored too, and streams nothing."""
        spec = self.ctx.spec
        composer = self.calls.chains["composer"][0].provider
        fps = spec.render.fps
        async with AsyncExitStack() as stack:
            stream: SoundtrackStream | None = None
            async with placements:
                async for index in placements:
                    if stream is None:
                        if ("voice", index) not in self.calls.made:
                            continue
                        out = self.store.temp_path(soundtrack_suffix(spec.render))
                        start = SoundtrackStart(music=spec.render.music, render=spec.render, out_path=out)
                        opened: SoundtrackStream = await stack.enter_async_context(
                            composer.stream_soundtrack(start)
                        )
                        stream = opened
                        self.stages.begin("soundtrack")
                        scenes = range(index + 1)  # the scenes placed before it too
                    else:
                        scenes = range(index, index + 1)
                    for placed in scenes:
                        slot = self._slots[placed]
                        end = (slot.start_frames + slot.frames) / fps
                        await stream.add(self._narration(slot), end)
            if self._count:
                await self._make_soundtrack(stream)

    async def _make_soundtrack(self, stream: SoundtrackStream | None = None) -> None:
        spec = self.ctx.spec
        narration, duration = self._timeline()
        self.stages.begin("soundtrack")
        self._soundtrack, _provider = await self.calls.call(
            stage="soundtrack",
            index=0,
            kind="composer",
            request=soundtrack_request(spec, narration, duration),
            method="mix_soundtrack",
            result_type=Soundtrack,
            suffix=soundtrack_suffix(spec.render),
            validate=check_soundtrack,
            # Beside the segments, not queued behind them: one light call per run, which would
            # otherwise wait for the last segments and then run alone while the cores idle.
            queued=False,
            first=None if stream is None else stream.finish,
        )
        self.stages.item_done("soundtrack")

    async def _picture(self, slot: _Slot) -> None:
        spec = self.ctx.spec
        assert slot.draft is not None
        self.stages.begin("visuals")
        if self.calls.chains["image"]:
            # Asked at once, not after the voice: the slot's length is exact only when the voice came first.
            if slot.speech is not None:
                duration = scene_frames(spec, slot.speech) / spec.render.fps
            else:
                duration = estimated_slot(spec, self.ctx.plan, slot.draft)
            clips = composers_take_clips(self.calls.chains["composer"])
            request = image_request(spec, slot.index, slot.draft, duration=duration, clips=clips)
            picture, provider = await self.calls.call(
                stage="visuals",
                index=slot.index,
                kind="image",
                request=request,
                method="generate",
                result_type=VISUAL_TYPE,
                suffix=".png",  # a clip is written beside it with its own suffix (ImageRequest)
                validate=check_visual,
                request_for=image_request_for,
            )
            slot.picture = picture
            outputs = self._outputs(slot)
            outputs.picture, outputs.picture_provider = picture, provider
        slot.pictured.set()
        self.stages.item_done("visuals")

    def _outputs(self, slot: _Slot) -> SceneOutputs:
        if slot.index not in self.ctx.scenes:
            assert slot.draft is not None
            self.ctx.scenes[slot.index] = SceneOutputs(
                scene=draft_scene(
                    slot.index,
                    slot.draft,
                    0.0,
                    self.ctx.plan.words_per_minute,
                    0.0,
                    self.ctx.spec.brief.language,
                )
            )
        return self.ctx.scenes[slot.index]

    def _timed(self, slot: _Slot) -> Scene:
        start_frames = slot.start_frames
        assert slot.draft is not None and slot.speech is not None
        scene = timed_scene(self.ctx.spec, slot.index, slot.draft, slot.speech, start_frames, slot.frames)
        self._outputs(slot).scene = scene
        return scene

    async def _segment(self, slot: _Slot) -> None:
        await slot.placed.wait()
        await slot.pictured.wait()
        following = self._slot(slot.index + 1)
        await following.pictured.wait()
        self.stages.begin("segments")
        scene = self._timed(slot)
        self.ctx.emit(
            SceneTimed(run_id=self.ctx.run_id, index=scene.index, start=scene.start, duration=scene.duration)
        )
        assert slot.speech is not None
        request = segment_request(
            self.ctx.spec,
            scene,
            slot.speech,
            slot.picture,
            None if following.is_end else following.picture,
            self._count or self.ctx.plan.scene_count,
        )
        if following.is_end is False and following.picture is None and self.calls.chains["image"]:
            raise AssertionError(
                "next picture missing although the next scene was illustrated"
            )  # pragma: no cover
        segment, _provider = await self.calls.call(
            stage="segments",
            index=slot.index,
            kind="composer",
            request=request,
            method="render_scene",
            result_type=Segment,
            suffix=video_suffix(self.ctx.spec.render),
            validate=check_segment,
            key_ignore=SEGMENT_KEY_IGNORE,
        )
        slot.segment = evolve(segment, start=scene.start, index=scene.index)
        self.stages.item_done("segments")

    async def _assemble(self) -> Video:
        spec = self.ctx.spec
        count = self._count or 0
        slots = [self._slots[i] for i in range(count)]
        segments = tuple(s.segment for s in slots if s.segment is not None)
        narration, _end = self._timeline()
        if self._soundtrack is None and count and mixes_soundtrack(self.calls):
            await self._make_soundtrack()  # stage by stage: the soundtrack is a stage of its own here
        self.stages.begin("assembly")
        request = assembly_request(spec, segments, narration, self._soundtrack)
        video, _provider = await self.calls.call(
            stage="assembly",
            index=0,
            kind="composer",
            request=request,
            method="assemble",
            result_type=Video,
            suffix=video_suffix(spec.render),
            validate=lambda v, _r: check_video(v),
        )
        self.stages.item_done("assembly")
        self.ctx.video = video
        return video
