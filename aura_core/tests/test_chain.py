"""The one routine that tries a kind's chain (``ProviderCalls._through_chain``), for both of its callers.

``call`` (one scene's voice, picture, segment; the soundtrack; the assembly) and ``script`` (the streamed
script) go through the same steps: a result stored under any provider's key is used first, in chain
order, with no call; else each provider in turn, a failure falling back to the next; when all fail,
one error naming each cause. Every test here runs for both callers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from attrs import frozen

from aura_core import (
    Event,
    Fallback,
    ItemDone,
    ItemFailed,
    ItemStarted,
    Pipeline,
    RunFailed,
    SceneDraft,
    Speech,
)
from aura_core.calls import ProviderCalls
from aura_core.context import PipelineContext
from aura_core.planning import plan_script
from aura_core.runner import script_request, speech_request
from aura_core.specs import SystemProfile
from aura_core.store import RunStore
from aura_core.testing import FakeComposer, FakeScriptWriter, FakeVoice, Faults
from aura_core.validation import check_speech

from .conftest import make_spec

pytestmark = pytest.mark.anyio

DRAFT = SceneDraft(
    heading="Bees",
    narration="Honeybees dance to tell the hive where the flowers are.",
    visual_prompt="a hive",
)


@frozen
class Caller:
    """One caller of the chain routine: the kind it asks, its stage, a provider of the kind, and the call."""

    kind: str
    stage: str
    provider: Callable[..., Any]
    #: makes the one item; returns the provider that made it and what came out (speech, or the scenes emitted)
    make: Callable[[ProviderCalls], Awaitable[tuple[str, Any]]]


async def _voice(calls: ProviderCalls) -> tuple[str, Any]:
    speech, provider = await calls.call(
        stage="voice",
        index=0,
        kind="tts",
        request=speech_request(calls.ctx.spec, DRAFT),
        method="synthesize",
        result_type=Speech,
        suffix=".wav",
        validate=check_speech,
    )
    assert speech.path.is_file()
    return provider, speech.duration


async def _script(calls: ProviderCalls) -> tuple[str, Any]:
    emitted: list[tuple[int, SceneDraft]] = []

    async def emit(index: int, draft: SceneDraft) -> None:
        emitted.append((index, draft))

    provider = await calls.script(script_request(calls.ctx.spec, calls.ctx.plan), emit)
    assert [i for i, _d in emitted] == list(range(calls.ctx.plan.scene_count))  # each scene once, in order
    return provider, tuple(d for _i, d in emitted)


CALLERS = {
    "call": Caller("tts", "voice", FakeVoice, _voice),
    "script": Caller("llm", "script", FakeScriptWriter, _script),
}


@pytest.fixture(params=list(CALLERS))
def caller(request: pytest.FixtureRequest) -> Caller:
    return CALLERS[request.param]


def failing(caller: Caller, name: str) -> Any:
    """A provider of the caller's kind that fails every call for good (the script in mid-stream)."""
    return caller.provider(name=name, faults=Faults(rate=1.0, transient=False))


def calls_for(
    caller: Caller, store: RunStore, chain: list[Any], events: list[Event]
) -> tuple[ProviderCalls, dict[str, Any]]:
    """The run's calls with ``chain`` as the caller's kind's chain (the other kinds: one fake each)."""
    spec = make_spec(providers={caller.kind: [p.name for p in chain]})
    ctx = PipelineContext(
        spec=spec,
        run_id="chain",
        run_dir=store.run_dir,
        plan=plan_script(spec),
        system=SystemProfile.detect(),
    )
    ctx.observers.append(events.append)
    others = [FakeScriptWriter(), FakeVoice(), FakeComposer()]
    registry = Pipeline([*others, *chain]).registry
    calls = ProviderCalls.build(ctx, store, registry)
    return calls, {link.name: link for link in calls.chains[caller.kind]}


def steps(events: list[Event]) -> list[tuple[Any, ...]]:
    """The item events, as (event, provider(s), cached)."""
    out: list[tuple[Any, ...]] = []
    for event in events:
        if isinstance(event, ItemStarted):
            out.append(("started", event.provider))
        elif isinstance(event, Fallback):
            out.append(("fallback", event.from_provider, event.to_provider))
        elif isinstance(event, ItemDone):
            out.append(("done", event.provider, event.cached))
        elif isinstance(event, ItemFailed):
            out.append(("failed",))
    return out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    run = RunStore(tmp_path / "run")
    yield run
    run.close()


async def test_a_failure_falls_back_to_the_next_provider_which_makes_and_stores_the_item(
    store: RunStore, caller: Caller
) -> None:
    """The first provider fails for good: a Fallback event, the second makes the item, the journal says so."""
    events: list[Event] = []
    bad, good = failing(caller, "bad"), caller.provider(name="good")
    calls, links = calls_for(caller, store, [bad, good], events)

    provider, _made = await caller.make(calls)

    assert provider == "good"
    assert steps(events) == [
        ("started", "bad"),
        ("fallback", "bad", "good"),
        ("started", "good"),
        ("done", "good", False),
    ]
    assert (bad.calls, good.calls) == (1, 1)
    assert (links["bad"].failures, links["good"].failures) == (1, 0)
    assert store.items() == [(caller.stage, 0, "done", "good")]
    # stored under the provider that made it: asked again, no provider is called
    again: list[Event] = []
    calls, _links = calls_for(caller, store, [bad, good], again)
    assert (await caller.make(calls))[0] == "good"
    assert steps(again) == [("done", "good", True)]
    assert (bad.calls, good.calls) == (1, 1)


async def test_a_stored_result_is_taken_from_the_first_provider_of_the_chain_that_has_one(
    store: RunStore, caller: Caller
) -> None:
    """Results stored under two providers' keys: the chain's order picks one, and no provider is called."""
    one, two = caller.provider(name="one"), caller.provider(name="two")
    for alone in (one, two):  # each makes the item once, under its own key
        await caller.make(calls_for(caller, store, [alone], [])[0])
    assert (one.calls, two.calls) == (1, 1)

    for chain in ([one, two], [two, one]):
        events: list[Event] = []
        calls, links = calls_for(caller, store, chain, events)
        provider, _made = await caller.make(calls)
        assert provider == chain[0].name
        assert steps(events) == [("done", chain[0].name, True)]
        assert links[chain[0].name].cached == 1
    assert (one.calls, two.calls) == (1, 1)

    # a result stored only under a later provider's key is used before the first one is called
    three = caller.provider(name="three")
    events = []
    provider, _made = await caller.make(calls_for(caller, store, [three, two], events)[0])
    assert provider == "two"
    assert three.calls == 0
    assert steps(events) == [("done", "two", True)]


async def test_when_every_provider_fails_the_error_names_each_cause_in_chain_order(
    store: RunStore, caller: Caller
) -> None:
    """All fail: ItemFailed, the journal row ``failed``, and one RunFailed naming each provider's cause."""
    events: list[Event] = []
    chain = [failing(caller, "first"), failing(caller, "second")]
    calls, links = calls_for(caller, store, chain, events)

    with pytest.raises(RunFailed) as failed:
        await caller.make(calls)

    message = str(failed.value)
    assert f"with every {caller.kind} provider: first: " in message
    assert message.index("first: first: injected failure") < message.index(
        "; second: second: injected failure"
    )
    assert steps(events) == [
        ("started", "first"),
        ("fallback", "first", "second"),
        ("started", "second"),
        ("failed",),
    ]
    assert store.items() == [(caller.stage, 0, "failed", None)]
    assert [links[p.name].failures for p in chain] == [1, 1]
