"""``aura run --dry-run``: the plan of a run, before any provider is called.

The brief's chains are resolved and configured exactly as a run does (``ProviderCalls.build``),
each chained provider's ``check()`` runs (and each composer's ``check_render``, as before a run's
first call: what it finds is a problem), and the calls the run would make are counted: the
script (1), a voice and a picture per scene, a segment per scene, the soundtrack (when the
composers mix it on their own) and the assembly. When the run
directory exists, its journal is read without the run's lock and without writing anything (a
copy in a temporary folder is opened): if the script is stored, the scenes are known, and the
cache keys of their voices, pictures, segments and assembly are computed with the runner's own
request builders, so results that would be reused are counted exactly. Nothing is created in
the run directory.

Cost: a provider's ``[providers.<name>]`` table may hold a ``price`` hint, either a number (USD per
call) or a table ``{ per_call = …, per_1k_characters = … }`` (characters: the narration a voice
reads). A provider without a hint costs 0 when it is ``auto`` (offline), else its cost is unknown.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
from attrs import evolve, frozen

from aura_core.artifacts import ArtifactIndex
from aura_core.cache import cache_dir_from_env
from aura_core.calls import PRICE_KEY, Link, ProviderCalls, stored
from aura_core.context import PipelineContext
from aura_core.contract import Narration, SceneDraft, Segment, Soundtrack, Speech, Video, Visual
from aura_core.errors import UserError
from aura_core.executor import Executor
from aura_core.members import optional_member
from aura_core.planning import plan_script
from aura_core.preflight import render_problems
from aura_core.registry import ProviderRegistry
from aura_core.runner import (
    SEGMENT_KEY_IGNORE,
    VISUAL_TYPE,
    assembly_request,
    composers_mix_soundtrack,
    composers_take_clips,
    image_request,
    image_request_for,
    scene_frames,
    script_request,
    segment_request,
    soundtrack_request,
    speech_request,
    timed_scene,
)
from aura_core.specs import KINDS, BriefFile, SystemProfile
from aura_core.wordcount import counts_characters

#: Characters per planned word, to price a voice before the script exists.
CHARACTERS_PER_WORD = 6.0
_PRICE_UNITS = ("per_call", "per_1k_characters")


@frozen
class ProviderPlan:
    """One chained provider: is it available, how many calls it would get, what they would cost."""

    kind: str
    name: str
    available: bool
    detail: str
    calls: int
    characters: int
    cost_usd: float | None


@frozen
class DryRun:
    """The plan of a run: scenes, words, duration, calls per provider, stored results reused, cost."""

    run_dir: Path
    run_exists: bool
    scene_count: int
    scenes_known: bool
    word_target: int
    duration: float
    duration_measured: bool
    providers: tuple[ProviderPlan, ...]
    cached: Mapping[str, int]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when the run could start: every kind has an available provider and no composer finds
        a problem in the render settings."""
        return not self.problems

    def calls(self) -> dict[str, int]:
        """Predicted calls by provider name (the counts ``report.json`` gives as ``providers[*].calls``)."""
        return {p.name: p.calls for p in self.providers}

    @property
    def cost_usd(self) -> float | None:
        """The estimated cost in USD, or None when a provider that would be called has no price."""
        costs = [p.cost_usd for p in self.providers if p.calls]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``aura run --dry-run --json``)."""
        return {
            "run_dir": str(self.run_dir),
            "run_exists": self.run_exists,
            "ok": self.ok,
            "scene_count": self.scene_count,
            "scenes_known": self.scenes_known,
            "word_target": self.word_target,
            "duration": round(self.duration, 3),
            "duration_measured": self.duration_measured,
            "providers": [
                {
                    "kind": p.kind,
                    "name": p.name,
                    "available": p.available,
                    "detail": p.detail,
                    "calls": p.calls,
                    "characters": p.characters,
                    "cost_usd": p.cost_usd,
                }
                for p in self.providers
            ],
            "cached": dict(self.cached),
            "cost_usd": self.cost_usd,
            "problems": list(self.problems),
        }

    def lines(self) -> list[str]:
        """The plan as text for a terminal."""
        scenes = "from the stored script" if self.scenes_known else "planned"
        duration = "measured from the stored voices" if self.duration_measured else "planned"
        out = [
            f"run directory: {self.run_dir}{'' if self.run_exists else ' (new)'}",
            f"scenes: {self.scene_count} ({scenes})",
            f"word target: {self.word_target}",
            f"expected duration: {self.duration:.1f}s ({duration})",
            "calls per provider:",
        ]
        for p in self.providers:
            state = "ok" if p.available else "unavailable"
            price = "unknown" if p.cost_usd is None else f"${p.cost_usd:.4f}"
            detail = f" ({p.detail})" if p.detail else ""
            out.append(f"  {p.kind:<9}{p.name:<16}{p.calls:>4} calls  {price:<10}{state}{detail}")
        total = sum(self.cached.values())
        reused = ", ".join(f"{k} {v}" for k, v in self.cached.items() if v) or "none"
        out.append(f"stored results reused: {total} ({reused})")
        cost = self.cost_usd
        if cost is not None:
            out.append(f"estimated cost: ${cost:.4f}")
        else:
            known = sum(p.cost_usd or 0.0 for p in self.providers)
            unpriced = ", ".join(
                f"{p.name} ({p.calls} calls)" for p in self.providers if p.calls and p.cost_usd is None
            )
            out.append(
                f"estimated cost: unknown; ${known:.4f} for the priced providers, no price hint for {unpriced}"
                " (add price = <USD per call> to its [providers.<name>] table)"
            )
        out.extend(f"cannot run: {problem}" for problem in self.problems)
        return out


async def availability(provider: Any, timeout: float = 10.0) -> tuple[bool, str]:
    """A provider's ``check()`` (available when it has none); a check that raises counts as unavailable."""
    check = optional_member(provider, "check")
    if not callable(check):
        return True, ""
    try:
        with anyio.fail_after(timeout):
            result = await check()
    except Exception as exc:  # noqa: BLE001 - a failing check is reported, not raised
        return False, f"check failed: {type(exc).__name__}: {exc}"
    return bool(result.ok), str(result.detail)


def price_of(spec: BriefFile, link: Link) -> dict[str, float] | None:
    """The ``price`` hint of a provider's settings as units → USD; ``{}`` for an offline provider without one."""
    hint = spec.providers.settings.get(link.name, {}).get(PRICE_KEY)
    if hint is None:
        return {} if optional_member(link.provider, "auto") else None
    where = f"providers.{link.name}.{PRICE_KEY}"
    if isinstance(hint, int | float) and not isinstance(hint, bool):
        hint = {"per_call": hint}
    if not isinstance(hint, Mapping):
        raise UserError(
            f"{where}: expected a number (USD per call) or a table with {', '.join(_PRICE_UNITS)}"
        )
    unknown = sorted(set(hint) - set(_PRICE_UNITS))
    if unknown:
        raise UserError(f"{where}: unknown keys {', '.join(unknown)} (known: {', '.join(_PRICE_UNITS)})")
    prices: dict[str, float] = {}
    for unit, value in hint.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise UserError(f"{where}.{unit}: expected a number of USD >= 0, got {value!r}")
        prices[unit] = float(value)
    return prices


@frozen
class _Predicted:
    scene_count: int
    drafts: tuple[SceneDraft, ...] | None
    cached: dict[str, int]
    duration: float | None
    voice_characters: int


def predict(ctx: PipelineContext, chains: Mapping[str, list[Link]], held: ArtifactIndex) -> _Predicted:
    """Walk the run's requests in order and count which results ``held`` already holds for ``chains``."""
    spec, plan = ctx.spec, ctx.plan
    cached: dict[str, int] = dict.fromkeys(KINDS, 0)
    drafts = stored(held, chains["llm"], script_request(spec, plan), tuple[SceneDraft, ...])
    if drafts is None:
        # a target in characters (zh, ja, ko, th) is already the characters to voice
        per_word = 1.0 if counts_characters(spec.brief.language) else CHARACTERS_PER_WORD
        return _Predicted(plan.scene_count, None, cached, None, round(plan.word_target * per_word))
    cached["llm"] = 1
    count = len(drafts)
    illustrated = bool(chains["image"])
    speeches: list[Speech | None] = []
    pictures: list[Visual | None] = []
    clips = composers_take_clips(chains["composer"])
    for index, draft in enumerate(drafts):
        speeches.append(stored(held, chains["tts"], speech_request(spec, draft), Speech))
        cached["tts"] += speeches[-1] is not None
        asked = image_request(spec, index, draft, clips=clips)  # its duration is in no key
        picture = (
            stored(held, chains["image"], asked, VISUAL_TYPE, request_for=image_request_for)
            if illustrated
            else None
        )
        pictures.append(picture)
        cached["image"] += picture is not None
    # A scene's start needs the voices before it; its segment, its picture and the next one too.
    frames = [None if speech is None else scene_frames(spec, speech) for speech in speeches]
    segments: list[Segment | None] = []
    narration: list[Narration] = []
    for index, draft in enumerate(drafts):
        speech = speeches[index]
        before = frames[:index]
        picture_known = not illustrated or pictures[index] is not None
        next_known = index + 1 == count or not illustrated or pictures[index + 1] is not None
        if speech is None or any(f is None for f in before):
            segments.append(None)
            continue
        start_frames = sum(f for f in before if f is not None)
        scene = timed_scene(spec, index, draft, speech, start_frames, scene_frames(spec, speech))
        narration.append(Narration(speech=speech, start=scene.start, text=draft.narration))
        if not picture_known or not next_known:
            segments.append(None)
            continue
        request = segment_request(
            spec, scene, speech, pictures[index], None if index + 1 == count else pictures[index + 1], count
        )
        segment = stored(held, chains["composer"], request, Segment, key_ignore=SEGMENT_KEY_IGNORE)
        segments.append(None if segment is None else evolve(segment, start=scene.start, index=index))
        cached["composer"] += segment is not None
    voiced = all(f is not None for f in frames)
    duration = sum(f for f in frames if f is not None) / spec.render.fps if voiced else None
    soundtrack: Soundtrack | None = None
    mixing = composers_mix_soundtrack(chains["composer"])
    if mixing and duration is not None:
        mix = soundtrack_request(spec, tuple(narration), duration)
        soundtrack = stored(held, chains["composer"], mix, Soundtrack)
        cached["composer"] += soundtrack is not None
    if all(s is not None for s in segments) and voiced and (soundtrack is not None or not mixing):
        known = tuple(s for s in segments if s is not None)
        assembly = assembly_request(spec, known, tuple(narration), soundtrack)
        video = stored(held, chains["composer"], assembly, Video)
        cached["composer"] += video is not None
    characters = sum(len(d.narration) for d, s in zip(drafts, speeches, strict=True) if s is None)
    return _Predicted(count, drafts, cached, duration, characters)


async def dry_run(
    registry: ProviderRegistry,
    spec: BriefFile,
    run_dir: Path,
    *,
    fresh: bool = False,
    executor: Executor | None = None,
) -> DryRun:
    """The plan of running ``spec`` in ``run_dir``; raises ``UserError`` when the chains cannot be resolved."""
    run_dir = Path(run_dir)
    plan = plan_script(spec)
    ctx = PipelineContext(
        spec=spec, run_id=run_dir.name, run_dir=run_dir, plan=plan, system=SystemProfile.detect()
    )
    with tempfile.TemporaryDirectory(prefix="aura-dry-run-") as scratch:
        # The run's results as far as it got, read from a copy: no lock, nothing written in run_dir.
        held = ArtifactIndex.snapshot(
            run_dir,
            Path(scratch),
            read_journal=not fresh,
            shared_root=None if fresh else cache_dir_from_env(),
        )
        try:
            chains = ProviderCalls.resolve_chains(ctx, registry)
            predicted = predict(ctx, chains, held)
        finally:
            held.close()
    checks: dict[tuple[str, str], tuple[bool, str]] = {}
    for kind in KINDS:
        for link in chains[kind]:
            checks[(kind, link.name)] = await availability(link.provider)
    count = predicted.scene_count
    mixing = composers_mix_soundtrack(chains["composer"])
    composing = count + 1 + (1 if mixing else 0)  # segments, (soundtrack), assembly
    wanted = {"llm": 1, "tts": count, "image": count if chains["image"] else 0, "composer": composing}
    # What the composers find in the render settings stops the run before any call: it is a problem here too.
    problems = await render_problems(spec.render, [link.provider for link in chains["composer"]])
    providers: list[ProviderPlan] = []
    for kind in KINDS:
        links = chains[kind]
        usable = [link for link in links if checks[(kind, link.name)][0]]
        if links and not usable:
            details = "; ".join(
                f"{link.name}: {checks[(kind, link.name)][1] or 'unavailable'}" for link in links
            )
            problems.append(f"no {kind} provider of the chain is available ({details})")
        to_call = max(0, wanted[kind] - predicted.cached[kind])
        worker = usable[0] if usable else None
        for link in links:
            ok, detail = checks[(kind, link.name)]
            n = to_call if link is worker else 0
            chars = predicted.voice_characters if kind == "tts" and n else 0
            price = price_of(spec, link)
            cost = None if price is None else n * price.get("per_call", 0.0)
            if cost is not None and price is not None:
                cost += chars / 1000 * price.get("per_1k_characters", 0.0)
            providers.append(ProviderPlan(kind, link.name, ok, detail, n, chars, cost))
    return DryRun(
        run_dir=run_dir.resolve(),
        run_exists=run_dir.is_dir(),
        scene_count=count,
        scenes_known=predicted.drafts is not None,
        word_target=plan.word_target,
        duration=predicted.duration if predicted.duration is not None else spec.plan.duration,
        duration_measured=predicted.duration is not None,
        providers=tuple(providers),
        cached=predicted.cached,
        problems=tuple(problems),
    )
