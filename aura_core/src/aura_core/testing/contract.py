"""The provider contract suite: one call runs a provider of any kind through the checks every provider must pass.

```python
from aura_core.testing import check_provider

@pytest.mark.anyio
async def test_my_voice_keeps_the_provider_contract(tmp_path: Path) -> None:
    await check_provider(MyVoice(), tmp_path)
```

The checks, in order (a failed ``identity`` check stops the rest):

* ``identity``: ``kind`` is one of llm, tts, image, composer; ``name`` is a non-empty string; the
  kind's methods exist and are async; optional ``concurrency`` is a positive int, optional
  ``check()`` returns an ``Availability``; a composer's optional ``check_render`` is a plain method
  returning a list of lines, empty for the sample's render; optional ``deterministic``, (llm only)
  ``follows_plan`` and (image and composer only) ``clips`` are ``True`` or ``False``.
* ``result``: a small ordinary request succeeds (for a composer with ``mix_soundtrack``, a soundtrack
  too, and an assembly given it; with ``stream_soundtrack`` too, that soundtrack streamed scene by
  scene, and a stream left without ``finish`` leaves no file); the file is at ``request.out_path``; the result
  describes what was asked (size, scene, segment count) and passes the core's own validators, as the
  core applies them: a writer with ``follows_plan = False`` (a script the user brought) is held only
  to having scenes, not to the plan's scene count and word target. An llm, tts or image provider
  with ``deterministic = True`` is asked the same request a second time and must give the same
  scenes or the same file bytes: the core does not retry its invalid results, so they must not vary.
  An illustrator with ``clips = True`` is also asked a request that takes clips (1.5 s to fill): a
  ``Picture`` passes as above, a ``Clip`` must be written beside ``out_path`` (its own suffix) and pass
  ``check_clip``, with its source and licence; with ``clip_duration=True`` it must last the 1.5 s asked.
  A composer with ``clips = True`` also renders a segment whose visual and next visual are moving clips.
* ``decode``: the file decodes and its measured facts match the result (WAV length within 50 ms of
  ``Speech.duration``, picture size, a clip's size, length and frame rate measured by ``probe_clip``,
  segment and video frame count and size). Decoders are imported
  only when needed: stdlib ``wave`` (soundfile or PyAV for other audio), Pillow, PyAV; without one the
  step is skipped with a note.
* ``refusal``: a request the provider must refuse (empty text to speak, a 0x0 picture, an assembly of
  no segments) raises ``ProviderError`` with ``transient=False`` and leaves no file; anything else
  is a bug the core would report with a traceback.
* ``cancellation``: a call cancelled at its first checkpoint, and again halfway through (when a call
  lasts long enough to aim at), lets the cancellation through within ``cancel_grace`` seconds, does
  not carry on to return its result, and leaves no file at ``out_path``.
* ``fingerprint``: when present, a non-empty string, equal when asked twice, and equal in a fresh
  Python process (the provider is pickled into it; skipped with a note when it cannot be pickled).
"""

from __future__ import annotations

import inspect
import json
import os
import pickle
import sys
import time
import wave
from collections.abc import Awaitable, Callable, Iterable
from contextlib import aclosing
from pathlib import Path
from typing import Any, Literal

import anyio
from attrs import define, evolve, field, frozen

from aura_core.calls import is_deterministic
from aura_core.contract import (
    PROTOCOLS,
    AssemblyRequest,
    Availability,
    Clip,
    ImageRequest,
    Narration,
    Picture,
    Scene,
    SceneDraft,
    ScriptRequest,
    Segment,
    SegmentRequest,
    Soundtrack,
    SoundtrackMixer,
    SoundtrackRequest,
    SoundtrackStart,
    SoundtrackStreamer,
    Speech,
    SpeechRequest,
    Video,
)
from aura_core.errors import ProviderError
from aura_core.media import probe_clip
from aura_core.members import optional_member
from aura_core.runner import soundtrack_suffix
from aura_core.specs import Brief, PlanSpec, RenderSpec, VoiceSpec
from aura_core.testing.fakes import write_gradient_png, write_test_clip, write_tone_wav
from aura_core.validation import (
    check_clip,
    check_draft,
    check_picture,
    check_script,
    check_segment,
    check_soundtrack,
    check_speech,
    check_video,
)

#: The names of the checks, in the order they run; pass any of them in ``skip=``.
CHECKS = ("identity", "result", "decode", "refusal", "cancellation", "fingerprint")

#: How far a WAV's measured length may be from ``Speech.duration``, in seconds.
SPEECH_TOLERANCE = 0.05

_METHODS = {
    "llm": ("write_script",),
    "tts": ("synthesize",),
    "image": ("generate",),
    "composer": ("render_scene", "assemble"),
}

Status = Literal["passed", "failed", "skipped"]


@frozen
class CheckResult:
    """The outcome of one check: ``passed``, ``failed`` or ``skipped``, with what was seen."""

    name: str
    status: Status
    detail: str = ""


@define
class ContractReport:
    """Every check's outcome for one provider; ``str()`` gives one line per check."""

    provider: str
    results: list[CheckResult] = field(factory=list)

    @property
    def failures(self) -> list[CheckResult]:
        """The checks that failed."""
        return [r for r in self.results if r.status == "failed"]

    def status(self, name: str) -> Status:
        """The status of check ``name`` (``skipped`` when it did not run)."""
        return next((r.status for r in self.results if r.name == name), "skipped")

    def add(self, name: str, problems: list[str], passed: str = "", skipped: str | None = None) -> None:
        """Record check ``name``: failed with ``problems``, else skipped when ``skipped`` is given, else passed."""
        if problems:
            self.results.append(CheckResult(name, "failed", "; ".join(problems)))
        elif skipped is not None:
            self.results.append(CheckResult(name, "skipped", skipped))
        else:
            self.results.append(CheckResult(name, "passed", passed))

    def __str__(self) -> str:
        lines = [f"provider contract of {self.provider}:"]
        lines += [f"  {r.status:<8} {r.name:<13} {r.detail}".rstrip() for r in self.results]
        return "\n".join(lines)


class ContractViolation(AssertionError):
    """Raised by ``check_provider`` when a check failed; ``report`` holds every outcome."""

    def __init__(self, report: ContractReport) -> None:
        super().__init__(str(report))
        self.report = report


#: How long the slot is that an illustrator with ``clips = True`` is asked to fill, in seconds.
CLIP_SECONDS = 1.5

#: The small render every composer check uses: 64x36 at 10 fps, no captions.
SAMPLE_RENDER = RenderSpec(width=64, height=36, fps=10, captions="off", transition_duration=0.2)


@define
class _Sample:
    """The inputs a kind's checks use, made once in the work folder."""

    workdir: Path
    render: RenderSpec = SAMPLE_RENDER

    def path(self, name: str) -> Path:
        folder = self.workdir / "contract"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def script(self) -> ScriptRequest:
        return ScriptRequest(
            brief=Brief(topic="How honeybees tell each other where the flowers are"),
            plan=PlanSpec(duration=30.0, scenes=3),
            scene_count=3,
            word_target=75,
        )

    def speech(self, name: str = "speech.wav", text: str | None = None) -> SpeechRequest:
        words = "Bees dance to tell each other where the flowers are." if text is None else text
        return SpeechRequest(text=words, voice=VoiceSpec(), language="en", out_path=self.path(name))

    def image(
        self, name: str = "picture.png", width: int = 96, height: int = 54, *, clips: bool = False
    ) -> ImageRequest:
        return ImageRequest(
            prompt="a honeybee dancing on a honeycomb",
            negative_prompt="",
            width=width,
            height=height,
            style="documentary",
            seed=7,
            out_path=self.path(name),
            heading="The waggle dance",
            duration=CLIP_SECONDS if clips else 0.0,
            clips=clips,
        )

    def clip(self, name: str, seed: int) -> Clip:
        """A moving clip as an illustrator would return it (PyAV needed to make it)."""
        path = self.path(name)
        if not path.exists():
            write_test_clip(path, self.render.width, self.render.height, 2.0, self.render.fps, seed)
        return Clip(
            path, self.render.width, self.render.height, 2.0, float(self.render.fps), "contract", "CC0"
        )

    def segment(self, index: int, name: str) -> SegmentRequest:
        speech_path = self.path(f"input-speech-{index}.wav")
        pictures = [self.path(f"input-picture-{i}.png") for i in range(2)]
        if not speech_path.exists():
            write_tone_wav(speech_path, 0.8)
        for i, picture in enumerate(pictures):
            if not picture.exists():
                write_gradient_png(picture, self.render.width, self.render.height, seed=i + 1)
        scene = Scene(
            index=index,
            heading=f"Scene {index + 1}",
            narration="Bees dance.",
            visual_prompt="bees",
            start=float(index),
            duration=1.0,
            speech_duration=0.8,
        )
        as_picture = [Picture(p, self.render.width, self.render.height, "contract", "CC0") for p in pictures]
        return SegmentRequest(
            scene=scene,
            speech=Speech(speech_path, 0.8, 16000),
            picture=as_picture[index % 2],
            next_picture=as_picture[(index + 1) % 2] if index == 0 else None,
            render=self.render,
            out_path=self.path(name),
            scene_count=2,
        )

    def assembly(self, segments: tuple[Segment, ...], name: str = "video.mp4") -> AssemblyRequest:
        narration = tuple(
            Narration(
                speech=self.segment(s.index, f"unused-{s.index}").speech, start=s.start, text="Bees dance."
            )
            for s in segments
        )
        return AssemblyRequest(
            segments=segments,
            narration=narration,
            music=None,
            captions="off",
            render=self.render,
            out_path=self.path(name),
        )


async def check_provider(
    provider: Any,
    workdir: Path,
    *,
    skip: Iterable[str] = (),
    refusal: Any = None,
    cancel_midway_from: float = 0.05,
    cancel_grace: float = 10.0,
    timeout: float = 120.0,
    fresh_process: bool = True,
    raise_on_failure: bool = True,
    clip_duration: bool = False,
) -> ContractReport:
    """Run ``provider`` through every check in ``CHECKS`` (minus ``skip``), writing files under ``workdir``.

    ``refusal`` replaces the request the provider must refuse (needed for ``llm``, which has no
    universal one). A call is cancelled at its first checkpoint, and halfway through when a warm
    call takes ``cancel_midway_from`` seconds or more; it must return within ``cancel_grace``
    seconds of the cancellation; every call must finish
    within ``timeout``. ``fresh_process=False`` skips the fingerprint's subprocess step.
    ``clip_duration=True``: the illustrator promises clips at least as long as ``request.duration``
    (from their in-point), and is held to it.
    Raises ``ContractViolation`` listing every failed check unless ``raise_on_failure`` is False;
    returns the report.
    """
    skipped = set(skip)
    unknown = skipped - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown check(s) {', '.join(sorted(unknown))}; the checks are {', '.join(CHECKS)}")
    kind = getattr(provider, "kind", None)
    report = ContractReport(f"{kind}:{getattr(provider, 'name', '?')}")
    sample = _Sample(workdir)
    run = _Run(provider, sample, report, timeout, clip_duration=clip_duration)

    identity = await run.identity() if "identity" not in skipped else []
    report.add(
        "identity", identity, passed=f"{kind} provider {provider.name!r}", skipped=_skip(skipped, "identity")
    )
    if identity:
        for name in CHECKS[1:]:
            report.add(name, [], skipped="identity check failed")
    else:
        if "result" in skipped and "decode" not in skipped:
            report.add("result", [], skipped="skipped as asked")
            report.add("decode", [], skipped="needs the result check")
        else:
            for name in ("result", "decode"):
                if name in skipped:
                    report.add(name, [], skipped="skipped as asked")
                else:
                    await getattr(run, name)()
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("refusal", lambda: run.refusal(refusal)),
            ("cancellation", lambda: run.cancellation(cancel_midway_from, cancel_grace)),
            ("fingerprint", lambda: run.fingerprint(fresh_process)),
        ]
        for name, step in steps:
            if name in skipped:
                report.add(name, [], skipped="skipped as asked")
            else:
                await step()
    if raise_on_failure and report.failures:
        raise ContractViolation(report)
    return report


_VARIED = "deterministic = True, but the same request gave {what} the second time"


def _skip(skipped: set[str], name: str) -> str | None:
    return "skipped as asked" if name in skipped else None


@define
class _Closable:
    """An async iterator without ``aclose`` made closable (closing does nothing)."""

    inner: Any

    def __aiter__(self) -> Any:
        return self.inner.__aiter__()

    async def aclose(self) -> None:
        return None


@define
class _Run:
    """One provider's pass through the checks; ``outcome`` carries the result check's output to decode."""

    provider: Any
    sample: _Sample
    report: ContractReport
    timeout: float
    outcome: Any = None
    seconds: float = 0.0
    clip_duration: bool = False
    #: the Clip an illustrator with ``clips = True`` returned for a request that takes clips
    clip: Clip | None = None
    #: a composer's segment rendered from moving clips
    clip_segment: Segment | None = None

    @property
    def kind(self) -> str:
        return str(self.provider.kind)

    async def identity(self) -> list[str]:
        """kind, name, async methods, optional members of the right types."""
        p = self.provider
        problems: list[str] = []
        kind = getattr(p, "kind", None)
        name = getattr(p, "name", None)
        if not isinstance(kind, str) or kind not in PROTOCOLS:
            return [f"kind is {kind!r}, expected one of {', '.join(PROTOCOLS)}"]
        if not isinstance(name, str) or not name.strip():
            problems.append(f"name is {name!r}, expected a non-empty string")
        for method in _METHODS[kind]:
            fn = getattr(p, method, None)
            if not callable(fn):
                problems.append(f"{kind} provider lacks {method}()")
            elif kind == "llm":
                if inspect.iscoroutinefunction(fn):
                    problems.append(f"{method}() must be an async generator (async def with yield)")
            elif not inspect.iscoroutinefunction(fn):
                problems.append(f"{method}() must be async (async def)")
        concurrency = optional_member(p, "concurrency")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            problems.append(f"concurrency is {concurrency!r}, expected an int >= 1")
        for member in ("deterministic", "follows_plan"):
            value = optional_member(p, member)
            if not isinstance(value, bool):
                problems.append(f"{member} is {value!r}, expected True or False")
        if kind != "llm" and hasattr(p, "follows_plan"):
            problems.append("follows_plan applies only to llm providers (script writers)")
        if hasattr(p, "clips"):
            if not isinstance(optional_member(p, "clips"), bool):
                problems.append(f"clips is {optional_member(p, 'clips')!r}, expected True or False")
            if kind not in ("image", "composer"):
                problems.append("clips applies only to image and composer providers")
        check = optional_member(p, "check")
        if check is not None:
            try:
                with anyio.fail_after(self.timeout):
                    availability = await check()
            except Exception as exc:  # noqa: BLE001 - a failing check() is the finding
                problems.append(f"check() raised {type(exc).__name__}: {exc}")
            else:
                if not isinstance(availability, Availability):
                    problems.append(f"check() returned {type(availability).__name__}, expected Availability")
        check_render = optional_member(p, "check_render")
        if kind == "composer" and check_render is not None:
            problems += _check_render(check_render)
        return problems

    async def _call(self, request: Any, method: str | None = None) -> Any:
        """The provider's method for this kind on ``request``; llm scripts are collected into a list."""
        if self.kind == "llm":
            drafts: list[Any] = []
            stream = self.provider.write_script(request)
            if not hasattr(stream, "__aiter__"):
                raise TypeError(f"write_script() returned {type(stream).__name__}, not an async iterator")
            if not hasattr(stream, "aclose"):
                stream = _Closable(stream)
            async with aclosing(stream):
                async for draft in stream:
                    drafts.append(draft)
                    # a consumer hands each scene on: a checkpoint, as in the core's stream between stages
                    await anyio.sleep(0)
            return drafts
        name = method or {"tts": "synthesize", "image": "generate"}[self.kind]
        fn: Callable[[Any], Awaitable[Any]] = getattr(self.provider, name)
        return await fn(request)

    async def _timed(self, request: Any, method: str | None = None) -> Any:
        with anyio.fail_after(self.timeout):
            return await self._call(request, method)

    async def result(self) -> None:
        """An ordinary request succeeds and its result describes what was asked."""
        problems: list[str] = []
        started = time.perf_counter()
        try:
            problems += await getattr(self, f"_result_{self.kind}")()
        except TimeoutError:
            problems.append(f"the call did not finish within {self.timeout:g} s")
        except ProviderError as exc:
            problems.append(f"an ordinary request failed: ProviderError: {exc}")
        except Exception as exc:  # noqa: BLE001 - an unexpected exception is the finding
            problems.append(f"an ordinary request raised {type(exc).__name__}: {exc}")
        self.seconds = time.perf_counter() - started
        # described only when it passed: a failed check may have no result to describe
        passed = "" if problems else f"{self._describe()} in {self.seconds:.2f} s"
        self.report.add("result", problems, passed=passed)

    def _describe(self) -> str:
        o = self.outcome
        if self.kind == "llm":
            return f"{len(o)} scenes"
        if self.kind == "tts":
            return f"{o.duration:.2f} s of speech at {o.sample_rate} Hz, {len(o.words)} word timings"
        if self.kind == "image":
            clip = self.clip
            moving = (
                f"; a {clip.duration:.2f} s {clip.width}x{clip.height} clip at {clip.fps:g} fps"
                if clip
                else ""
            )
            return f"a {o.width}x{o.height} picture{moving}"
        segments, video = o
        return f"{len(segments)} segments, a {video.duration:.2f} s {video.width}x{video.height} video"

    async def _result_llm(self) -> list[str]:
        request = self.sample.script()
        drafts = await self._timed(request)
        problems = [
            f"yielded {type(d).__name__}, expected SceneDraft"
            for d in drafts
            if not isinstance(d, SceneDraft)
        ]
        if problems:
            return problems
        problems += [p for p in map(check_draft, drafts) if p]
        follows = bool(optional_member(self.provider, "follows_plan"))
        problem = check_script(drafts, request.scene_count, request.word_target, follows, request.language)
        if problem:
            problems.append(problem)
        if is_deterministic(self.provider) and await self._timed(request) != drafts:
            problems.append(_VARIED.format(what="different scenes"))
        self.outcome = drafts
        return problems

    async def _result_tts(self) -> list[str]:
        request = self.sample.speech()
        speech = await self._timed(request)
        if not isinstance(speech, Speech):
            return [f"returned {type(speech).__name__}, expected Speech"]
        problems = _at_out_path(speech.path, request.out_path)
        problem = check_speech(speech, request)
        if problem:
            problems.append(problem)
        if speech.sample_rate <= 0:
            problems.append(f"sample_rate is {speech.sample_rate}")
        last = 0.0
        for word in speech.words:
            if not (0 <= word.start <= word.end <= speech.duration + SPEECH_TOLERANCE) or word.start < last:
                problems.append(
                    f"word timing {word} is out of order or beyond the {speech.duration:.3f} s speech"
                )
                break
            last = word.start
        if is_deterministic(self.provider):
            problems += await self._same_file(request, speech.path)
        self.outcome = speech
        return problems

    async def _result_image(self) -> list[str]:
        request = self.sample.image()
        picture = await self._timed(request)
        if not isinstance(picture, Picture):
            return [f"returned {type(picture).__name__}, expected Picture"]
        problems = _at_out_path(picture.path, request.out_path)
        problem = check_picture(picture, request)
        if problem:
            problems.append(problem)
        if not picture.source or not picture.license:
            problems.append("a picture needs its source and its license")
        if is_deterministic(self.provider):
            problems += await self._same_file(request, picture.path)
        self.outcome = picture
        if optional_member(self.provider, "clips") is True:
            problems += await self._result_clip()
        return problems

    async def _result_clip(self) -> list[str]:
        """An illustrator with ``clips = True``, asked a request that takes clips: a picture as for any
        request, or a clip beside ``out_path`` that passes ``check_clip``, credited, long enough when promised."""
        request = self.sample.image("clip.png", clips=True)
        visual = await self._timed(request)
        if isinstance(visual, Picture):
            problem = check_picture(visual, request)
            return [f"asked for a clip, returned a picture: {problem}"] if problem else []
        if not isinstance(visual, Clip):
            return [f"asked for a clip, returned {type(visual).__name__}, expected Clip or Picture"]
        problems: list[str] = []
        if visual.path.with_suffix(request.out_path.suffix) != request.out_path:
            problems.append(
                f"the clip is at {visual.path}, not beside request.out_path ({request.out_path.stem}.<suffix>)"
            )
        problem = check_clip(visual, request)
        if problem:
            problems.append(problem)
        if not visual.source or not visual.license:
            problems.append("a clip needs its source and its license")
        if self.clip_duration and visual.duration - visual.start < request.duration - 1.0 / max(
            visual.fps, 1.0
        ):
            problems.append(
                f"the clip gives {visual.duration - visual.start:.2f} s from its start, asked for {request.duration:g} s"
            )
        self.clip = visual
        return problems

    async def _same_file(self, request: SpeechRequest | ImageRequest, first: Path) -> list[str]:
        """A deterministic provider asked ``request`` again writes the same bytes as ``first``."""
        again = evolve(request, out_path=request.out_path.with_name("again-" + request.out_path.name))
        result = await self._timed(again)
        if result.path.read_bytes() != first.read_bytes():
            return [_VARIED.format(what="a different file")]
        return []

    async def _result_composer(self) -> list[str]:
        problems: list[str] = []
        segments: list[Segment] = []
        for index in range(2):
            request = self.sample.segment(index, f"segment-{index}.mp4")
            segment = await self._timed(request, "render_scene")
            if not isinstance(segment, Segment):
                return [f"render_scene returned {type(segment).__name__}, expected Segment"]
            problems += _at_out_path(segment.path, request.out_path)
            problem = check_segment(segment, request)
            if problem:
                problems.append(problem)
            render = request.render
            if (segment.index, segment.width, segment.height, segment.fps) != (
                index,
                render.width,
                render.height,
                render.fps,
            ):
                problems.append(
                    f"segment {index} says index {segment.index}, {segment.width}x{segment.height}@{segment.fps}; "
                    f"asked for index {index}, {render.width}x{render.height}@{render.fps}"
                )
            segments.append(segment)
        assembly = self.sample.assembly(tuple(segments))
        video = await self._timed(assembly, "assemble")
        if not isinstance(video, Video):
            return [*problems, f"assemble returned {type(video).__name__}, expected Video"]
        problems += _at_out_path(video.path, assembly.out_path)
        problem = check_video(video)
        if problem:
            problems.append(problem)
        else:
            size = video.path.stat().st_size
            if video.size_bytes != size:
                problems.append(f"size_bytes is {video.size_bytes}, the file has {size}")
        if (video.width, video.height) != (assembly.render.width, assembly.render.height):
            problems.append(
                f"video is {video.width}x{video.height}, asked for {assembly.render.width}x{assembly.render.height}"
            )
        total = sum(s.duration for s in segments)
        if abs(video.duration - total) > 1.5 / assembly.render.fps:
            problems.append(f"video lasts {video.duration:.3f} s, its segments {total:.3f} s")
        if isinstance(self.provider, SoundtrackMixer):
            problems += await self._soundtrack(assembly, total)
        self.outcome = (segments, video)
        if optional_member(self.provider, "clips") is True:
            problems += await self._clip_segment()
        return problems

    async def _clip_segment(self) -> list[str]:
        """A composer with ``clips = True`` renders a scene whose visual and next visual are moving clips."""
        try:
            own, following = self.sample.clip("input-clip-0.mp4", 1), self.sample.clip("input-clip-1.mp4", 2)
        except ImportError:
            return []  # no PyAV to make the clips with: ``decode`` says so
        request = evolve(self.sample.segment(0, "segment-clip.mp4"), picture=own, next_picture=following)
        segment = await self._timed(request, "render_scene")
        if not isinstance(segment, Segment):
            return [f"render_scene of clips returned {type(segment).__name__}, expected Segment"]
        problem = check_segment(segment, request)
        self.clip_segment = segment
        return [f"a segment of moving clips: {problem}"] if problem else []

    async def _soundtrack(self, assembly: AssemblyRequest, total: float) -> list[str]:
        """A composer that mixes soundtracks (``SoundtrackMixer``): the soundtrack of the sample is as
        long as the timeline, and an assembly given it makes a video as long as its segments."""
        sound = self.sample.path("sound" + soundtrack_suffix(assembly.render))
        request = SoundtrackRequest(assembly.narration, None, assembly.render, total, sound)
        soundtrack = await self._timed(request, "mix_soundtrack")
        if not isinstance(soundtrack, Soundtrack):
            return [f"mix_soundtrack returned {type(soundtrack).__name__}, expected Soundtrack"]
        problems = _at_out_path(soundtrack.path, request.out_path)
        problem = check_soundtrack(soundtrack, request)
        if problem:
            return [*problems, problem]
        given = evolve(
            assembly, out_path=self.sample.path("video-with-soundtrack.mp4"), soundtrack=soundtrack
        )
        video = await self._timed(given, "assemble")
        if not isinstance(video, Video):
            return [*problems, f"assemble with a soundtrack returned {type(video).__name__}, expected Video"]
        if abs(video.duration - total) > 1.5 / assembly.render.fps:
            problems.append(
                f"the video assembled with a soundtrack lasts {video.duration:.3f} s, its segments {total:.3f} s"
            )
        if isinstance(self.provider, SoundtrackStreamer):
            problems += await self._streamed_soundtrack(request)
        return problems

    async def _streamed_soundtrack(self, request: SoundtrackRequest) -> list[str]:
        """A composer that streams soundtracks (``SoundtrackStreamer``): the sample's scenes added one
        by one, ``finish`` writes a soundtrack as long as the timeline at its ``out_path``; a stream
        left without ``finish`` leaves nothing at its start's ``out_path``."""
        suffix = soundtrack_suffix(request.render)
        ordered = sorted(request.narration, key=lambda n: n.start)
        ends = [*(n.start for n in ordered[1:]), request.duration]
        asked = evolve(request, out_path=self.sample.path("streamed" + suffix))
        problems: list[str] = []
        for finishing in (True, False):
            start = SoundtrackStart(
                request.music, request.render, self.sample.path(f"stream-{finishing}" + suffix)
            )
            with anyio.fail_after(self.timeout):
                async with self.provider.stream_soundtrack(start) as stream:
                    for narration, end in zip(ordered, ends, strict=True):
                        await stream.add(narration, end)
                        await anyio.sleep(0.1)  # the scenes come over time, as in a run
                    made = await stream.finish(asked) if finishing else None
            if start.out_path.exists():
                problems.append(
                    f"stream_soundtrack left {start.out_path.name} behind "
                    f"({'after finish' if finishing else 'left without finish'})"
                )
            if made is None:
                continue
            if not isinstance(made, Soundtrack):
                problems.append(f"finish returned {type(made).__name__}, expected Soundtrack")
                continue
            problems += _at_out_path(made.path, asked.out_path)
            problem = check_soundtrack(made, asked)
            if problem:
                problems.append(f"the streamed soundtrack: {problem}")
        return problems

    async def decode(self) -> None:
        """The result's files decode, and what they measure matches what the result says."""
        if self.outcome is None:
            self.report.add("decode", [], skipped="no result to decode (the result check failed)")
            return
        if self.kind == "llm":
            self.report.add("decode", [], skipped="a script is text: nothing to decode")
            return
        problems, passed, note = await anyio.to_thread.run_sync(getattr(self, f"_decode_{self.kind}"))
        self.report.add("decode", problems, passed=passed, skipped=note)

    def _decode_tts(self) -> tuple[list[str], str, str | None]:
        speech: Speech = self.outcome
        measured = _audio_length(speech.path)
        if measured is None:
            return (
                [],
                "",
                f"{speech.path.name} is not WAV and neither soundfile nor PyAV is installed: not decoded",
            )
        seconds, rate = measured
        problems = []
        if abs(seconds - speech.duration) > SPEECH_TOLERANCE:
            problems.append(f"the file lasts {seconds:.3f} s, Speech.duration says {speech.duration:.3f} s")
        if rate != speech.sample_rate:
            problems.append(f"the file is {rate} Hz, Speech.sample_rate says {speech.sample_rate}")
        return problems, f"{seconds:.3f} s at {rate} Hz measured", None

    def _decode_image(self) -> tuple[list[str], str, str | None]:
        picture: Picture = self.outcome
        try:
            from PIL import Image
        except ImportError:
            return [], "", "Pillow is not installed: the picture was not decoded"
        try:
            with Image.open(picture.path) as image:
                image.load()
                size = image.size
        except Exception as exc:  # noqa: BLE001 - an undecodable file is the finding
            return [f"{picture.path.name} does not decode: {type(exc).__name__}: {exc}"], "", None
        if size != (picture.width, picture.height):
            return (
                [f"the file is {size[0]}x{size[1]}, Picture says {picture.width}x{picture.height}"],
                "",
                None,
            )
        if self.clip is not None:
            return _decode_clip(self.clip, f"{size[0]}x{size[1]} decoded")
        return [], f"{size[0]}x{size[1]} decoded", None

    def _decode_composer(self) -> tuple[list[str], str, str | None]:
        try:
            import av  # noqa: F401 - only checking that it imports
        except ImportError:
            return [], "", "PyAV is not installed: segments and video were not decoded"
        segments, video = self.outcome
        problems: list[str] = []
        for segment in segments:
            problems += _decode_video(
                segment.path, segment.duration, segment.width, segment.height, segment.fps, False
            )
        problems += _decode_video(
            video.path, video.duration, video.width, video.height, round(video.fps), True
        )
        clip = self.clip_segment
        if clip is not None:
            problems += _decode_video(clip.path, clip.duration, clip.width, clip.height, clip.fps, False)
        return (
            problems,
            f"{len(segments) + (clip is not None)} segments and the video decoded frame by frame",
            None,
        )

    async def refusal(self, override: Any) -> None:
        """A request the provider must refuse raises a permanent ProviderError and leaves no file."""
        request = override if override is not None else self._refusal_request()
        if request is None:
            self.report.add(
                "refusal", [], skipped="no request every script writer must refuse: pass refusal="
            )
            return
        method = "assemble" if isinstance(request, AssemblyRequest) else None
        if isinstance(request, SegmentRequest):
            method = "render_scene"
        problems: list[str] = []
        try:
            await self._timed(request, method)
        except ProviderError as exc:
            if exc.transient:
                problems.append(
                    f"ProviderError({exc.message!r}) is transient: the same request would fail again"
                )
            if not str(exc).strip():
                problems.append("the ProviderError has no message saying what to fix")
            passed = f"ProviderError: {exc}"
        except TimeoutError:
            problems.append(f"the call did not finish within {self.timeout:g} s")
        except Exception as exc:  # noqa: BLE001 - an exception of another class is the finding
            problems.append(f"raised {type(exc).__name__}: {exc} (expected ProviderError)")
        else:
            problems.append(f"accepted {_what(request)}, which it must refuse with ProviderError")
        out_path = getattr(request, "out_path", None)
        if isinstance(out_path, Path) and out_path.exists():
            problems.append(f"left a file at out_path after refusing ({out_path.name})")
        self.report.add("refusal", problems, passed=passed if not problems else "")

    def _refusal_request(self) -> Any:
        if self.kind == "tts":
            return self.sample.speech("refused.wav", text="   ")
        if self.kind == "image":
            return self.sample.image("refused.png", width=0, height=0)
        if self.kind == "composer":
            return self.sample.assembly((), "refused.mp4")
        return None

    def _cancel_request(self, stem: str) -> tuple[Any, str | None]:
        if self.kind == "llm":
            return self.sample.script(), None
        if self.kind == "tts":
            return self.sample.speech(f"{stem}.wav"), None
        if self.kind == "image":
            return self.sample.image(f"{stem}.png"), None
        return self.sample.segment(0, f"{stem}.mp4"), "render_scene"

    async def cancellation(self, midway_from: float, grace: float) -> None:
        """Cancelled at its first checkpoint and midway, the call lets the cancellation through promptly
        and leaves no file at out_path.

        Midway is half a warm call's time, tried only when a call takes ``midway_from`` seconds or more.
        """
        problems: list[str] = []
        notes: list[str] = []
        cancelled: list[str] = []
        attempts: list[tuple[str, float]] = [("at its first checkpoint", 0.0)]
        request, method = self._cancel_request("warm")
        started = time.perf_counter()
        try:
            await self._timed(request, method)
        except Exception as exc:  # noqa: BLE001 - the result check reports failing calls
            notes.append(f"midway not tried: a warm call raised {type(exc).__name__}")
        else:
            warm = time.perf_counter() - started
            if warm >= midway_from:
                attempts.append(
                    (f"midway ({warm / 2 * 1000:.0f} ms into a {warm * 1000:.0f} ms call)", warm / 2)
                )
            else:
                notes.append(f"a call takes {warm * 1000:.0f} ms: too short to cancel midway")
        for number, (when, delay) in enumerate(attempts):
            request, method = self._cancel_request(f"cancelled-{number}")
            out_path = getattr(request, "out_path", None)
            outcome = await self._cancel_once(request, method, delay)
            left = isinstance(out_path, Path) and out_path.exists()
            if outcome.error is not None:
                problems.append(
                    f"cancelled {when}, it raised {type(outcome.error).__name__}: {outcome.error} "
                    "instead of letting the cancellation through"
                )
            elif outcome.finished is not None and outcome.finished < outcome.cancelled:
                notes.append(f"it finished before the cancellation {when} landed")
                continue
            elif outcome.finished is not None:
                problems.append(
                    f"cancelled {when}, it kept running {(outcome.finished - outcome.cancelled) * 1000:.0f} ms "
                    "and returned its result" + (", leaving its file at out_path" if left else "")
                )
            else:
                cancelled.append(f"{when}: returned {outcome.waited * 1000:.0f} ms later")
            if outcome.waited > grace:
                problems.append(
                    f"cancelled {when}, it took {outcome.waited:.2f} s to return (over {grace:g} s)"
                )
            if left and outcome.finished is None:
                problems.append(f"cancelled {when}, it left a file at out_path ({Path(str(out_path)).name})")
        detail = "; ".join(cancelled + notes)
        if problems or cancelled:
            self.report.add("cancellation", problems, passed=f"nothing left; {detail}")
        else:
            self.report.add("cancellation", [], skipped=f"never cancelled mid-call: {detail}")

    async def _cancel_once(self, request: Any, method: str | None, delay: float) -> _Cancelled:
        """Start the call, cancel it ``delay`` seconds later (0: at its first checkpoint), wait for it to end."""
        clock = time.perf_counter
        outcome = _Cancelled()

        async def call() -> None:
            await self._call(request, method)
            outcome.finished = clock()

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(call)
                await anyio.sleep(delay)
                outcome.cancelled = clock()
                group.cancel_scope.cancel()
        except BaseException as exc:  # whatever escapes a cancelled call is the finding
            error = (
                exc.exceptions[0] if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1 else exc
            )
            if isinstance(error, anyio.get_cancelled_exc_class()):
                raise
            outcome.error = error
        outcome.waited = clock() - outcome.cancelled
        return outcome

    async def fingerprint(self, fresh_process: bool) -> None:
        """A non-empty string, the same twice and in a fresh process."""
        fn = optional_member(self.provider, "fingerprint")
        if fn is None:
            self.report.add(
                "fingerprint", [], skipped="no fingerprint(): the core keys the cache by class name"
            )
            return
        try:
            first, second = fn(), fn()
        except Exception as exc:  # noqa: BLE001 - a failing fingerprint() is the finding
            self.report.add("fingerprint", [f"fingerprint() raised {type(exc).__name__}: {exc}"])
            return
        problems: list[str] = []
        if not isinstance(first, str) or not first.strip():
            problems.append(f"fingerprint() returned {first!r}, expected a non-empty string")
        elif first != second:
            problems.append(f"fingerprint() changed between two calls: {first!r} then {second!r}")
        note = "same twice"
        if not problems and fresh_process:
            other, why = await _fingerprint_in_subprocess(self.provider)
            if other is None and why.startswith("fingerprint() failed"):
                problems.append(why)
            elif other is None:
                note += f"; fresh process not tried: {why}"
            elif other != first:
                problems.append(f"fingerprint() differs in a fresh process: {first!r} here, {other!r} there")
            else:
                note += " and in a fresh process"
        self.report.add("fingerprint", problems, passed=f"{note}: {first!r}")


@define
class _Cancelled:
    """What happened to one cancelled call: when it finished (if it did), when it was cancelled, how long it took."""

    finished: float | None = None
    cancelled: float = 0.0
    waited: float = 0.0
    error: BaseException | None = None


def _check_render(check_render: Any) -> list[str]:
    """A composer's optional ``check_render`` (``RenderChecker``): a plain method (the core calls it in a
    worker thread) that returns a list of lines, and finds nothing wrong with the sample's render."""
    if inspect.iscoroutinefunction(check_render):
        return ["check_render() must be a plain method (def): the core calls it in a worker thread"]
    try:
        found = check_render(SAMPLE_RENDER)
    except Exception as exc:  # noqa: BLE001 - a failing check_render() is the finding
        return [f"check_render() raised {type(exc).__name__}: {exc}"]
    if not isinstance(found, list) or not all(isinstance(line, str) for line in found):
        return [f"check_render() returned {found!r}, expected a list of str"]
    return [f"check_render() rejects the sample render: {'; '.join(found)}"] if found else []


def _decode_clip(clip: Clip, picture: str) -> tuple[list[str], str, str | None]:
    """The clip measured by ``probe_clip`` against what the ``Clip`` says (PyAV needed, else a note)."""
    try:
        import av  # noqa: F401 - only checking that it imports
    except ImportError:
        return [], picture, "PyAV is not installed: the clip was not measured"
    try:
        measured = probe_clip(clip.path, source=clip.source, license=clip.license)
    except ProviderError as exc:
        return [f"the clip does not measure: {exc}"], "", None
    problems = []
    if (measured.width, measured.height) != (clip.width, clip.height):
        problems.append(
            f"the clip is {measured.width}x{measured.height}, Clip says {clip.width}x{clip.height}"
        )
    if abs(measured.duration - clip.duration) > max(1.0 / measured.fps, 0.05):
        problems.append(f"the clip lasts {measured.duration:.3f} s, Clip says {clip.duration:.3f} s")
    if abs(measured.fps - clip.fps) > 0.01 * measured.fps:
        problems.append(f"the clip runs at {measured.fps:g} fps, Clip says {clip.fps:g}")
    passed = f"{picture}; the clip measures {measured.width}x{measured.height}, {measured.duration:.2f} s at {measured.fps:g} fps"
    return problems, passed, None


def _at_out_path(path: Path, out_path: Path) -> list[str]:
    if Path(path) != out_path:
        return [f"the result's path is {path}, not request.out_path {out_path}"]
    return []


def _what(request: Any) -> str:
    if isinstance(request, SpeechRequest):
        return f"text {request.text!r}"
    if isinstance(request, ImageRequest):
        return f"a {request.width}x{request.height} picture"
    if isinstance(request, AssemblyRequest):
        return f"an assembly of {len(request.segments)} segments"
    return type(request).__name__


def _audio_length(path: Path) -> tuple[float, int] | None:
    """(seconds, sample rate) measured from the file, or None when no decoder for it is installed."""
    try:
        with wave.open(str(path), "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
            data = wav.readframes(frames)
        if len(data) != frames * wav.getsampwidth() * wav.getnchannels():
            raise wave.Error("truncated data")
        return frames / rate, rate
    except (wave.Error, EOFError):
        pass
    try:
        import soundfile
    except ImportError:
        soundfile = None
    if soundfile is not None:
        info = soundfile.info(str(path))
        return float(info.frames) / info.samplerate, int(info.samplerate)
    try:
        import av
    except ImportError:
        return None
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.rate, int(stream.rate)


def _decode_video(
    path: Path, duration: float, width: int, height: int, fps: int, with_audio: bool
) -> list[str]:
    """Decode every frame of ``path``: frame size, count against ``duration``, audio track when expected."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return [f"{path.name} has no video stream"]
            stream = container.streams.video[0]
            frames = 0
            size = (0, 0)
            for frame in container.decode(stream):
                frames += 1
                size = (frame.width, frame.height)
            has_audio = bool(container.streams.audio)
    except Exception as exc:  # noqa: BLE001 - an undecodable file is the finding
        return [f"{path.name} does not decode: {type(exc).__name__}: {exc}"]
    problems = []
    if size != (width, height):
        problems.append(f"{path.name} frames are {size[0]}x{size[1]}, the result says {width}x{height}")
    if abs(frames / fps - duration) > 1.5 / fps:
        problems.append(
            f"{path.name} has {frames} frames ({frames / fps:.3f} s at {fps} fps), the result says {duration:.3f} s"
        )
    if with_audio and not has_audio:
        problems.append(f"{path.name} has no audio stream, though narration was given")
    return problems


_CHILD = """
import json, pickle, sys
try:
    provider = pickle.loads(sys.stdin.buffer.read())
except Exception as exc:
    print(json.dumps({"load": f"{type(exc).__name__}: {exc}"}))
    raise SystemExit(0)
print(json.dumps({"fingerprint": provider.fingerprint()}))
"""


async def _fingerprint_in_subprocess(provider: Any) -> tuple[str | None, str]:
    """The provider's fingerprint computed in a fresh interpreter, or None and why it was not."""
    try:
        data = pickle.dumps(provider)
    except Exception as exc:  # noqa: BLE001 - an unpicklable provider only skips this step
        return None, f"the provider cannot be pickled ({type(exc).__name__})"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.pop("PYTHONHASHSEED", None)  # a fresh hash seed, as in any new process
    result = await anyio.run_process([sys.executable, "-c", _CHILD], input=data, env=env, check=False)
    lines = result.stdout.decode().strip().splitlines()
    if result.returncode != 0 or not lines:
        tail = result.stderr.decode().strip().splitlines()[-1:] or ["no output"]
        return None, f"fingerprint() failed in a fresh process: {tail[0]}"
    answer = json.loads(lines[-1])
    if "load" in answer:
        return None, f"the provider does not load in another process ({answer['load']})"
    return str(answer["fingerprint"]), ""


__all__ = ["CHECKS", "CheckResult", "ContractReport", "ContractViolation", "check_provider"]
