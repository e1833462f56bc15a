"""The one seam every provider call passes through: cache lookup, resilience, fallback, store.

For each call the chain of its kind is tried in order. A result already in the store under any
chain provider's key is used with no call. Otherwise each provider is called through its
``Guard`` (timeout, retries, breaker); the first valid result is committed to the store.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
import attrs
from attrs import define, field

from aura_core.artifacts import ArtifactIndex
from aura_core.context import PipelineContext
from aura_core.contract import ProviderSettings, SceneDraft, ScriptRequest
from aura_core.errors import ProviderError, RunFailed, UserError
from aura_core.events import BreakerChanged, Fallback, ItemDone, ItemFailed, ItemStarted, Retry
from aura_core.executor import Executor, InProcess
from aura_core.members import optional_member
from aura_core.registry import ProviderRegistry
from aura_core.resilience import POLICY_KEYS, Breaker, CallPolicy, Exhausted, Guard, policy_for
from aura_core.settings import with_settings
from aura_core.specs import KINDS
from aura_core.store import RunStore
from aura_core.usage import collect_usage
from aura_core.validation import check_draft, check_script

R = TypeVar("R")


def fingerprint_of(provider: Any) -> str:
    """The provider's own fingerprint, or its class name when it has none."""
    method = optional_member(provider, "fingerprint")
    if callable(method):
        return str(method())
    cls = type(provider)
    return f"{cls.__module__}.{cls.__qualname__}"


def is_deterministic(provider: Any) -> bool:
    """Whether ``provider`` declares ``deterministic = True``: one request always gives it the same result."""
    return optional_member(provider, "deterministic") is True


@define
class Link:
    """One provider in a chain, with its guard and the counts the report shows."""

    provider: Any
    policy: CallPolicy
    guard: Guard
    fingerprint: str
    calls: int = 0
    failures: int = 0
    cached: int = 0
    usage: dict[str, float] = field(factory=dict)

    @property
    def name(self) -> str:
        """The provider's name."""
        return str(self.provider.name)


#: The key of ``[providers.<name>]`` with a price hint for ``aura run --dry-run``; not given to the provider.
PRICE_KEY = "price"


def configure(provider: Any, settings: Mapping[str, Any], base_dir: Path) -> Any:
    """Hand the provider its ``[providers.<name>]`` table (the middleware's own keys and the price hint removed).

    A provider with ``configure`` is handed the table; one whose ``settings`` is an attrs instance gets
    a copy with the table read into that class; one with neither refuses any key.
    """
    values = {k: v for k, v in settings.items() if k not in POLICY_KEYS and k != PRICE_KEY}
    handed = ProviderSettings(values=values, base_dir=base_dir, provider=str(provider.name))
    method = optional_member(provider, "configure")
    if callable(method):
        return method(handed)
    declared = optional_member(provider, "settings")
    if declared is not None and attrs.has(type(declared)):
        if not values:
            return provider  # nothing to change: an app's own settings stay as it set them
        return with_settings(provider, handed.structure(type(declared), current=declared))
    if values:
        raise UserError(
            f"providers.{provider.name}: this provider takes no settings, got {', '.join(values)}"
        )
    return provider


@define
class ProviderCalls:
    """The chains of a run, guarded and cached."""

    ctx: PipelineContext
    store: RunStore
    chains: dict[str, list[Link]]
    executor: Executor = field(factory=InProcess)
    #: The items (stage, index) whose result a provider made in this run (not found in the store).
    made: set[tuple[str, int]] = field(factory=set)

    @classmethod
    def build(
        cls,
        ctx: PipelineContext,
        store: RunStore,
        registry: ProviderRegistry,
        executor: Executor | None = None,
    ) -> ProviderCalls:
        """The calls of a run: its chains (``resolve_chains``) over its store."""
        return cls(ctx, store, cls.resolve_chains(ctx, registry), executor or InProcess())

    @staticmethod
    def resolve_chains(ctx: PipelineContext, registry: ProviderRegistry) -> dict[str, list[Link]]:
        """Resolve the brief's chains (or the default ones), configure each provider, give each a guard."""
        spec = ctx.spec
        chains: dict[str, list[Link]] = {}
        for kind in KINDS:
            names = spec.providers.chain(kind)
            providers = [registry.get(kind, n) for n in names] if names else registry.default_chain(kind)
            if not providers and kind != "image":
                raise UserError(
                    f"providers.{kind}: no {kind} provider is loaded; install or name one (see `aura providers`)"
                )
            links = []
            for provider in providers:
                settings = spec.providers.settings.get(provider.name, {})
                kind_defaults = spec.providers.settings.get("defaults", {}).get(kind, {})
                policy = policy_for(
                    kind,
                    (f"providers.defaults.{kind}", kind_defaults),
                    (f"providers.{provider.name}", settings),
                )
                configured = configure(provider, settings, spec.base_dir)
                concurrency = int(optional_member(configured, "concurrency") or 1)
                breaker = Breaker(
                    provider=configured.name,
                    kind=kind,
                    threshold=policy.breaker_threshold,
                    cooldown=policy.breaker_cooldown,
                    on_change=lambda b, cause: ctx.emit(
                        BreakerChanged(
                            run_id=ctx.run_id, provider=b.provider, kind=b.kind, state=b.state, cause=cause
                        )
                    ),
                )
                guard = Guard(policy=policy, limiter=anyio.CapacityLimiter(concurrency), breaker=breaker)
                links.append(Link(configured, policy, guard, fingerprint_of(configured)))
            chains[kind] = links
        return chains

    def names(self, kind: str) -> list[str]:
        """The provider names of a kind's chain, in order."""
        return [link.name for link in self.chains[kind]]

    async def call(
        self,
        *,
        stage: str,
        index: int,
        kind: str,
        request: Any,
        method: str,
        result_type: type[R],
        suffix: str,
        validate: Callable[[Any, Any], str | None],
        key_ignore: frozenset[str] = frozenset(),
        queued: bool = True,
        first: Callable[[Any], Awaitable[Any]] | None = None,
        request_for: Callable[[Any, Any], Any] | None = None,
    ) -> tuple[R, str]:
        """Get the result for ``request`` from the store or from the first provider of the chain that makes it.

        ``queued=False``: the call does not wait for one of the provider's ``concurrency`` slots
        (the soundtrack, one call per run, mixed beside the segments that fill them).
        ``first``: the first attempt of the chain's first provider awaits ``first(request)`` (its
        ``out_path`` set) instead of calling ``method`` (a soundtrack streamed as the scenes were
        placed); its retries and the other providers call ``method``.
        ``request_for(provider, request)``: the request as one provider is asked, keyed and checked
        (an image request offers clips only to the illustrators that make them)."""
        prepared = [first] if first is not None else []
        leader = self.chains[kind][0] if self.chains[kind] else None

        async def attempt(link: Link, asked: Any) -> R:
            async def invoke() -> Any:
                link.calls += 1
                placed = attrs.evolve(asked, out_path=self.store.temp_path(suffix))
                ready = prepared.pop() if link is leader and prepared else None
                with collect_usage() as usage:
                    try:
                        if ready is not None:
                            return await ready(placed)
                        return await self.executor.call(link.provider, method, placed, kind=kind)
                    finally:
                        _add(link.usage, usage)

            result: R = await link.guard.call(
                invoke,
                lambda r: validate(r, asked),
                self._retry_reporter(stage, index, link.name),
                queued=queued,
                retry_invalid=not is_deterministic(link.provider),
            )
            return result

        async def commit(link: Link, key: str, result: R) -> R:
            return await self.store.commit_async(key, kind, link.name, result)

        return await self._through_chain(
            stage,
            index,
            kind,
            request,
            result_type,
            attempt,
            commit,
            f"{stage} of scene {index + 1} failed with every {kind} provider",
            key_ignore=key_ignore,
            request_for=request_for,
        )

    async def _through_chain(
        self,
        stage: str,
        index: int,
        kind: str,
        request: Any,
        result_type: type[R],
        attempt: Callable[[Link, Any], Awaitable[R]],
        commit: Callable[[Link, str, R], Awaitable[R]],
        failure: str,
        *,
        key_ignore: frozenset[str] = frozenset(),
        replay: Callable[[R], Awaitable[None]] | None = None,
        request_for: Callable[[Any, Any], Any] | None = None,
    ) -> tuple[R, str]:
        """Try the chain of ``kind`` for one item: what every caller of a provider goes through.

        A result the store holds under any provider's key is used (the first in chain order), with no
        call; ``replay`` first hands it on. Otherwise each provider in turn gets ``attempt`` (its guarded
        call on the request as that provider is asked it (``request_for``), raising ``Exhausted`` when it
        gives up, which moves on to the next with a ``Fallback`` event); the first result is
        ``commit``-ted under that provider's key. Each step is journaled and announced; when every
        provider fails, the error names each one's cause after ``failure``.
        """
        links = self.chains[kind]
        asked = [request if request_for is None else request_for(link.provider, request) for link in links]
        keys = [
            self.store.key(link.name, link.fingerprint, one, ignore=key_ignore)
            for link, one in zip(links, asked, strict=True)
        ]
        found = _first_stored(self.store, keys, result_type)
        if found is not None:
            hit, position = found
            if replay is not None:
                await replay(hit)
            self._done(stage, index, links[position], keys[position], started=None)
            return hit, links[position].name
        causes: list[str] = []
        for position, (link, key) in enumerate(zip(links, keys, strict=True)):
            started = self._begin(stage, index, link, key)
            try:
                result = await attempt(link, asked[position])
            except Exhausted as exc:
                causes.append(self._fall_back(stage, index, kind, links, position, exc.cause))
                continue
            result = await commit(link, key, result)
            self._done(stage, index, link, key, started=started)
            return result, link.name
        raise self._give_up(stage, index, causes, failure)

    def _begin(self, stage: str, index: int, link: Link, key: str) -> float:
        """Journal and announce that ``link`` starts on an item; returns the start time."""
        self.store.mark(stage, index, "running", link.name, key)
        self.ctx.emit(ItemStarted(run_id=self.ctx.run_id, stage=stage, index=index, provider=link.name))
        return time.monotonic()

    def _done(self, stage: str, index: int, link: Link, key: str, *, started: float | None) -> None:
        """Journal and announce a finished item; ``started`` is None for a result found in the store."""
        if started is None:
            link.cached += 1
        else:
            self.made.add((stage, index))
        self.store.mark(stage, index, "done", link.name, key)
        seconds = 0.0 if started is None else time.monotonic() - started
        self.ctx.emit(
            ItemDone(
                run_id=self.ctx.run_id,
                stage=stage,
                index=index,
                provider=link.name,
                cached=started is None,
                seconds=seconds,
            )
        )

    def _fall_back(
        self, stage: str, index: int, kind: str, links: list[Link], position: int, cause: str
    ) -> str:
        """Count a provider's failure on an item and announce the move to the next; returns the cause line."""
        link = links[position]
        link.failures += 1
        if position + 1 < len(links):
            self.ctx.emit(
                Fallback(
                    run_id=self.ctx.run_id,
                    stage=stage,
                    index=index,
                    kind=kind,
                    from_provider=link.name,
                    to_provider=links[position + 1].name,
                    cause=cause,
                )
            )
        return f"{link.name}: {cause}"

    def _give_up(self, stage: str, index: int, causes: list[str], what: str) -> RunFailed:
        """Journal and announce an item every provider failed; the error to raise names each one."""
        self.store.mark(stage, index, "failed")
        self.ctx.emit(ItemFailed(run_id=self.ctx.run_id, stage=stage, index=index, error="; ".join(causes)))
        return RunFailed(f"{what}: " + "; ".join(causes))

    def _retry_reporter(self, stage: str, index: int, provider: str) -> Callable[[int, float, str], None]:
        def report(attempt: int, wait: float, cause: str) -> None:
            self.ctx.emit(
                Retry(
                    run_id=self.ctx.run_id,
                    stage=stage,
                    index=index,
                    provider=provider,
                    attempt=attempt,
                    wait=wait,
                    cause=cause,
                )
            )

        return report

    async def script(self, request: ScriptRequest, emit: Callable[[int, SceneDraft], Awaitable[None]]) -> str:
        """Stream the script through ``emit`` as scenes arrive; returns the provider that wrote it.

        A retried or fallen-back stream replays its scenes: ones already emitted are skipped when
        identical; a stream that changes an emitted scene cannot be used (the run fails; resume redoes it).
        """
        emitted: list[SceneDraft] = []

        async def attempt(link: Link, _asked: Any) -> tuple[SceneDraft, ...]:
            follows_plan = optional_member(link.provider, "follows_plan")
            # a script that fails the checks comes back the same from a deterministic writer: no retry
            transient = not is_deterministic(link.provider)

            async def consume() -> tuple[SceneDraft, ...]:
                link.calls += 1
                drafts: list[SceneDraft] = []
                with collect_usage() as usage:
                    try:
                        stream = link.provider.write_script(request).__aiter__()
                        while True:
                            with anyio.fail_after(link.policy.timeout):
                                try:
                                    draft = await stream.__anext__()
                                except StopAsyncIteration:
                                    break
                            problem = check_draft(draft)
                            if problem:
                                raise ProviderError(
                                    f"bad scene {len(drafts) + 1}: {problem}", transient=transient
                                )
                            if len(drafts) < len(emitted):
                                if draft != emitted[len(drafts)]:
                                    raise UserError(
                                        f"llm {link.name}: the script changed while it was being retried (scene {len(drafts) + 1}); "
                                        "run `aura resume` to start the script again"
                                    )
                            else:
                                emitted.append(draft)
                                await emit(len(drafts), draft)
                            drafts.append(draft)
                    finally:
                        _add(link.usage, usage)
                problem = check_script(
                    drafts, request.scene_count, request.word_target, follows_plan, request.language
                )
                if problem:
                    raise ProviderError(problem, transient=transient)
                return tuple(drafts)

            # Each scene of the stream has the policy's timeout; the whole stream has the budget.
            drafts: tuple[SceneDraft, ...] = await link.guard.call(
                consume,
                lambda _r: None,
                self._retry_reporter("script", 0, link.name),
                timeout=link.policy.budget,
            )
            return drafts

        async def commit(link: Link, key: str, drafts: tuple[SceneDraft, ...]) -> tuple[SceneDraft, ...]:
            self.store.commit_value(key, "llm", link.name, drafts)
            return drafts

        async def replay(drafts: tuple[SceneDraft, ...]) -> None:
            for index, draft in enumerate(drafts):
                await emit(index, draft)

        _drafts, provider = await self._through_chain(
            "script",
            0,
            "llm",
            request,
            tuple[SceneDraft, ...],
            attempt,
            commit,
            "the script failed with every llm provider",
            replay=replay,
        )
        return provider


def stored(
    index: ArtifactIndex,
    links: Sequence[Link],
    request: Any,
    result_type: type[R],
    *,
    key_ignore: frozenset[str] = frozenset(),
    request_for: Callable[[Any, Any], Any] | None = None,
) -> R | None:
    """The stored result a chain would reuse for ``request`` (any provider's, the first in chain order), or None.

    ``request_for`` as for ``ProviderCalls.call``."""
    keys = [
        index.key(
            link.name,
            link.fingerprint,
            request if request_for is None else request_for(link.provider, request),
            ignore=key_ignore,
        )
        for link in links
    ]
    found = _first_stored(index, keys, result_type)
    return None if found is None else found[0]


def _first_stored(index: ArtifactIndex, keys: Sequence[str], result_type: type[R]) -> tuple[R, int] | None:
    """The result ``index`` holds under the first of ``keys`` that it holds, and that key's position."""
    for position, key in enumerate(keys):
        hit = index.lookup(key, result_type)
        if hit is not None:
            return hit, position
    return None


def _add(total: dict[str, float], more: dict[str, float]) -> None:
    for name, amount in more.items():
        total[name] = total.get(name, 0.0) + amount
