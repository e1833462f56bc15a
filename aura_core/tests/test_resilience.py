"""The resilience middleware: retries, timeouts, breakers, fallback chains and validators."""

from __future__ import annotations

import json
import logging
import math
import time
import wave
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
import stamina
from attrs import define

from aura_core import (
    BreakerChanged,
    BriefError,
    Event,
    Fallback,
    Pipeline,
    ProviderError,
    Retry,
    RunFailed,
    RunFinished,
    Speech,
    SpeechRequest,
    retry_after_seconds,
)
from aura_core.errors import UserError
from aura_core.logs import SUMMARY_LIMIT, redact, summarize
from aura_core.members import DEFAULT_CONCURRENCY
from aura_core.resilience import POLICY_RANGES, Breaker, Exhausted, Guard, _quiet_own_retries, policy_for
from aura_core.specs import KINDS, ProvidersSpec
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice, Faults

from .conftest import make_spec

anyio_mark = pytest.mark.anyio


def fakes(**overrides: Any) -> list[Any]:
    chosen = {
        "llm": FakeScriptWriter(),
        "tts": FakeVoice(),
        "image": FakeIllustrator(),
        "composer": FakeComposer(),
    }
    chosen.update(overrides)
    return list(chosen.values())


async def _guarded_run(seed: int) -> list[str]:
    """The 20 provider calls of a 6-scene run (script, 6 voices and 6 pictures at once, 6 segments, assembly),
    each failing transiently 30 % of the time, through guards made as a run makes them with the default
    policies and concurrency; returns the causes of the calls that failed for good."""
    faults = Faults(rate=0.3, seed=seed)
    guards = {}
    for kind in KINDS:
        policy = policy_for(kind)
        breaker = Breaker(
            "fake", kind, policy.breaker_threshold, policy.breaker_cooldown, lambda _b, _c: None
        )
        guards[kind] = Guard(policy, anyio.CapacityLimiter(DEFAULT_CONCURRENCY[kind]), breaker)
    failed: list[str] = []

    async def call(kind: str) -> None:
        try:
            await guards[kind].call(lambda: faults.maybe_fail("fake", 0), lambda _r: None, lambda *_a: None)
        except Exhausted as exc:
            failed.append(f"{kind}: {exc.cause}")

    await call("llm")
    async with anyio.create_task_group() as group:
        for _ in range(6):
            group.start_soon(call, "tts")
            group.start_soon(call, "image")
    async with anyio.create_task_group() as group:
        for _ in range(6):
            group.start_soon(call, "composer")
    await call("composer")
    return failed


@anyio_mark
async def test_the_default_policy_rides_out_30_percent_transient_faults_in_1000_runs() -> None:
    """1,000 runs' worth of guarded calls, each call failing transiently 30 % of the time: with the default
    policies (no tuned attempts) every call of every run succeeds. (The old defaults lost about half of them.)"""
    failed = {seed: causes for seed in range(1000) if (causes := await _guarded_run(seed))}
    assert failed == {}


@anyio_mark
async def test_runs_with_30_percent_transient_failures_and_the_default_policy_end_like_fault_free_runs(
    tmp_path: Path, anyio_backend: str
) -> None:
    """100 full 6-scene runs (50 per backend) whose every call (script, voice, picture, segment, assembly) fails
    transiently 30 % of the time, with the default policy, all finish with the fault-free output."""
    spec = make_spec(plan={"duration": "40s", "scenes": 6})
    clean = await Pipeline(fakes()).run(spec, run_dir=tmp_path / "clean")
    expected = clean.path.read_bytes()
    retries = 0
    first = 0 if anyio_backend == "asyncio" else 50
    for seed in range(first, first + 50):
        events: list[Event] = []
        faulty = fakes(
            llm=FakeScriptWriter(faults=Faults(rate=0.3, seed=seed)),
            tts=FakeVoice(faults=Faults(rate=0.3, seed=seed + 1000)),
            image=FakeIllustrator(faults=Faults(rate=0.3, seed=seed + 2000)),
            composer=FakeComposer(faults=Faults(rate=0.3, seed=seed + 3000)),
        )
        video = await Pipeline(faulty).run(spec, run_dir=tmp_path / f"run{seed}", on_event=events.append)
        assert video.path.read_bytes() == expected
        retries += sum(isinstance(e, Retry) for e in events)
    assert retries > 250  # about 0.3 / 0.7 × 20 calls × 50 runs ≈ 430 retries really happened


@anyio_mark
async def test_a_dead_service_is_cut_off_after_the_breaker_threshold_in_attempts(tmp_path: Path) -> None:
    """A voice that fails every call transiently (a server that is down) is called `breaker_threshold` times in
    all with the default policy, not every scene's retries over: its breaker opens and every scene falls back."""
    events: list[Event] = []
    down = FakeVoice(name="down", faults=Faults(rate=1.0), concurrency=1)
    spec = make_spec(providers={"tts": ["down", "fake"]})
    await Pipeline([*fakes(), down]).run(spec, run_dir=tmp_path / "run", on_event=events.append)
    assert down.calls == policy_for("tts").breaker_threshold == 10
    assert [e.state for e in events if isinstance(e, BreakerChanged)] == ["open"]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert {s["voice_provider"] for s in report["scenes"]} == {"fake"}


@anyio_mark
@pytest.mark.parametrize(
    ("settings", "cause"),
    [
        ({"backoff": 3600, "budget": 10}, "(after 1 attempt within its 10 s budget)"),
        ({"retry_after_max": 3600, "budget": 60}, "(after 1 attempt within its 60 s budget)"),
    ],
    ids=["backoff", "retry-after"],
)
async def test_no_retry_waits_past_the_budget(tmp_path: Path, settings: dict[str, float], cause: str) -> None:
    """A retry whose wait (the backoff, or a server's `retry_after` of 90 s) would end past the call's budget is
    not made: the provider gives up at once and the chain moves on, with no `Retry` event."""
    events: list[Event] = []
    slow = FakeVoice(
        name="slow", faults=Faults(rate=1.0, retry_after=90.0 if "retry_after_max" in settings else None)
    )
    spec = make_spec(providers={"tts": ["slow", "fake"], "slow": settings})
    await Pipeline([*fakes(), slow]).run(spec, run_dir=tmp_path / "run", on_event=events.append)
    assert [e for e in events if isinstance(e, Retry)] == []
    fallbacks = [e for e in events if isinstance(e, Fallback)]
    assert fallbacks
    assert all(e.cause.endswith(cause) for e in fallbacks)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("backoff", math.inf, "a number of seconds from 0 to 3600, got inf"),
        ("backoff_max", 1e300, "a number of seconds from 0 to 3600, got 1e+300"),
        ("timeout", math.nan, "a number of seconds from 0.01 to 86400, got nan"),
        ("timeout", 0, "a number of seconds from 0.01 to 86400, got 0"),
        ("budget", -math.inf, "a number of seconds from 0.01 to 86400, got -inf"),
        ("retry_after_max", -1, "a number of seconds from 0 to 3600, got -1"),
        ("breaker_cooldown", "30s", "a number of seconds from 0 to 86400, got '30s'"),
        ("attempts", 0, "a whole number from 1 to 100, got 0"),
        ("attempts", 2.5, "a whole number from 1 to 100, got 2.5"),
        ("attempts", True, "a whole number from 1 to 100, got True"),
        ("breaker_threshold", 10**6, "a whole number from 1 to 1000, got 1000000"),
    ],
)
def test_every_resilience_key_has_a_finite_range(key: str, value: object, expected: str) -> None:
    """Out of its range, not finite or not a number: one line naming `providers.<name>.<key>` (or the kind's
    defaults table) and the range; nothing can ask for an endless wait."""
    with pytest.raises(UserError) as caught:
        policy_for("tts", ("providers.defaults.tts", {}), ("providers.piper", {key: value}))
    assert str(caught.value) == f"providers.piper.{key}: expected {expected}"
    with pytest.raises(UserError) as caught:
        policy_for("tts", ("providers.defaults.tts", {key: value}), ("providers.piper", {}))
    assert str(caught.value) == f"providers.defaults.tts.{key}: expected {expected}"


@anyio_mark
async def test_an_infinite_backoff_stops_the_run_before_any_call(tmp_path: Path) -> None:
    """`backoff = inf` is refused when the brief is loaded (it used to sleep for ever at the first retry);
    a brief built in code and given to the pipeline is refused when the run starts, before any call."""
    voice = FakeVoice(faults=Faults(calls=frozenset({1})))
    line = r"^providers\.fake\.backoff: expected a number of seconds from 0 to 3600, got inf$"
    with pytest.raises(UserError, match=line):
        make_spec(providers={"fake": {"backoff": math.inf}})
    spec = attrs.evolve(make_spec(), providers=ProvidersSpec(settings={"fake": {"backoff": math.inf}}))
    with pytest.raises(UserError, match=line):
        await Pipeline(fakes(tts=voice)).run(spec, run_dir=tmp_path / "run")
    assert voice.calls == 0


def test_the_range_of_every_key_is_documented() -> None:
    """docs/concepts.md lists each middleware key with the range `POLICY_RANGES` gives it."""
    page = (Path(__file__).parents[2] / "docs" / "concepts.md").read_text(encoding="utf-8")
    for key, (low, high) in POLICY_RANGES.items():
        assert f"| `{key}` | {low:g} to {high:g} |" in page


@anyio_mark
async def test_aura_retries_reach_no_stamina_logging(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A retried call is reported as a `Retry` event only: stamina logs no `stamina.retry_scheduled` record,
    which a library caller without logging set up would see printed raw on stderr."""
    events: list[Event] = []
    voice = FakeVoice(faults=Faults(calls=frozenset({1})))
    with caplog.at_level(logging.DEBUG):
        await Pipeline(fakes(tts=voice)).run(make_spec(), run_dir=tmp_path / "run", on_event=events.append)
    assert [e.provider for e in events if isinstance(e, Retry)] == ["fake"]
    assert [r.getMessage() for r in caplog.records if r.name.startswith("stamina")] == []


def test_other_retries_keep_stamina_instrumentation() -> None:
    """An app's own stamina retries still reach stamina's hooks once aura has silenced its own."""
    seen: list[str] = []
    stamina.instrumentation.set_on_retry_hooks([lambda details: seen.append(repr(details.caused_by))])
    try:
        _quiet_own_retries()
        for attempt in stamina.retry_context(on=ValueError, attempts=2):
            with attempt:
                if attempt.num == 1:
                    raise ValueError("app's own")
        assert seen == ['ValueError("app\'s own")']
    finally:
        stamina.instrumentation.set_on_retry_hooks(None)


@anyio_mark
async def test_a_permanent_failure_falls_back_to_the_next_provider(tmp_path: Path) -> None:
    """A provider that fails permanently is not retried; its scenes go to the next one in the chain."""
    bad = FakeVoice(name="bad", faults=Faults(rate=1.0, transient=False))
    good = FakeVoice(name="good")
    events: list[Event] = []
    providers = [*fakes(), bad, good]
    spec = make_spec(providers={"tts": ["bad", "good"]})
    await Pipeline(providers).run(spec, run_dir=tmp_path / "run", on_event=events.append)
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert {s["voice_provider"] for s in report["scenes"]} == {"good"}
    assert bad.calls == 5  # once per scene: permanent errors are not retried
    fallbacks = [e for e in events if isinstance(e, Fallback)]
    assert len(fallbacks) == 5
    assert all(e.from_provider == "bad" and e.to_provider == "good" for e in fallbacks)


@anyio_mark
async def test_when_every_provider_of_a_kind_fails_the_run_fails_naming_each_and_keeps_finished_work(
    tmp_path: Path,
) -> None:
    """The error names each provider and its last error; finished artifacts stay in the run directory."""
    first = FakeIllustrator(name="first", faults=Faults(calls=frozenset(range(3, 100)), transient=False))
    second = FakeIllustrator(name="second", faults=Faults(calls=frozenset(range(1, 100)), transient=True))
    spec = make_spec(providers={"image": ["first", "second"], "second": {"attempts": 2}})
    with pytest.raises(RunFailed) as caught:
        await Pipeline([*fakes(), first, second]).run(spec, run_dir=tmp_path / "run")
    message = str(caught.value)
    assert "first: first: injected failure" in message
    assert "second: second: injected failure" in message
    assert "after 2 attempts" in message
    run = tmp_path / "run"
    assert len(list((run / "artifacts").glob("*.png"))) == 2  # the two pictures that were made are kept
    assert json.loads((run / "report.json").read_text())["state"] == "failed"


@anyio_mark
async def test_a_hanging_call_is_cut_by_its_timeout_and_retried(tmp_path: Path) -> None:
    """The first voice call hangs; the timeout cuts it and the retry succeeds."""
    events: list[Event] = []
    voice = FakeVoice(faults=Faults(calls=frozenset({1}), hang=True))
    spec = make_spec(providers={"fake": {"timeout": 0.3}})
    await Pipeline(fakes(tts=voice)).run(spec, run_dir=tmp_path / "run", on_event=events.append)
    retries = [e for e in events if isinstance(e, Retry)]
    assert [(r.stage, r.cause) for r in retries] == [("voice", "timed out")]
    assert voice.calls == 6


@anyio_mark
async def test_retry_after_hint_sets_the_wait_capped_by_the_policy(tmp_path: Path) -> None:
    """A 429-style ``retry_after`` becomes the retry's wait, capped at ``retry_after_max``."""
    events: list[Event] = []
    voice = FakeVoice(faults=Faults(calls=frozenset({1, 2}), retry_after=90.0))
    spec = make_spec(providers={"fake": {"retry_after_max": 7}})
    await Pipeline(fakes(tts=voice)).run(spec, run_dir=tmp_path / "run", on_event=events.append)
    waits = [e.wait for e in events if isinstance(e, Retry)]
    assert waits == [7.0, 7.0]


@define
class SilentVoice(FakeVoice):
    """Writes silence of the right length: a bad result the validator must reject."""

    async def synthesize(self, request: SpeechRequest) -> Speech:
        self.calls += 1
        with wave.open(str(request.out_path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(b"\x00\x00" * 8000 * 5)
        return Speech(path=request.out_path, duration=5.0, sample_rate=8000)


@anyio_mark
async def test_a_bad_result_counts_as_a_failed_call_and_falls_back(tmp_path: Path) -> None:
    """Silent audio fails validation, is retried, then the chain moves on; the cause says why."""
    events: list[Event] = []
    silent = SilentVoice(name="silent")
    spec = make_spec(providers={"tts": ["silent", "fake"], "silent": {"attempts": 2}})
    await Pipeline([*fakes(), silent]).run(spec, run_dir=tmp_path / "run", on_event=events.append)
    fallbacks = [e for e in events if isinstance(e, Fallback)]
    assert fallbacks
    assert "speech is silent" in fallbacks[0].cause
    assert silent.calls == 2 * 5 or any(isinstance(e, BreakerChanged) for e in events)


def test_breaker_opens_after_n_failures_lets_one_probe_through_after_cooldown_and_closes_on_success() -> None:
    """closed → open at the threshold → rejects → half-open after the cool-down (one probe) → closed."""
    now = [0.0]
    changes: list[str] = []
    breaker = Breaker(
        "p",
        "tts",
        threshold=3,
        cooldown=10.0,
        on_change=lambda b, _c: changes.append(b.state),
        clock=lambda: now[0],
    )
    for _ in range(3):
        assert breaker.allow()
        breaker.failure("boom")
    assert breaker.state == "open"
    assert not breaker.allow()
    now[0] = 10.0
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one at a time
    breaker.failure("still down")
    assert breaker.state == "open"
    now[0] = 20.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed"
    assert changes == ["open", "half_open", "open", "half_open", "closed"]


@anyio_mark
async def test_an_open_breaker_skips_the_provider_without_calling_it(tmp_path: Path) -> None:
    """Once its breaker is open, a failing provider is passed over at once for the rest of the run."""
    events: list[Event] = []
    down = FakeVoice(name="down", faults=Faults(rate=1.0), concurrency=1)
    spec = make_spec(
        providers={
            "tts": ["down", "fake"],
            "down": {"attempts": 1, "breaker_threshold": 2, "breaker_cooldown": 600},
        }
    )
    await Pipeline([*fakes(), down]).run(spec, run_dir=tmp_path / "run", on_event=events.append)
    assert down.calls == 2
    assert [e.state for e in events if isinstance(e, BreakerChanged)] == ["open"]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    down_row = next(p for p in report["providers"]["tts"] if p["name"] == "down")
    assert down_row["breaker"] == {"state": "open", "opened": 1}


def test_secrets_from_the_environment_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any value of a *_KEY / *_TOKEN variable is replaced in text that leaves the process."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef0123456789abcdef")
    assert redact("401 for key sk-test-0123456789abcdef0123456789abcdef!") == "401 for key ***!"


@anyio_mark
async def test_a_secret_in_a_provider_error_reaches_no_log_report_or_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider that leaks its key into an error message: run.log, report.json and the raised error are clean."""
    secret = "sk-test-" + "7" * 40
    monkeypatch.setenv("OPENAI_API_KEY", secret)

    @define
    class Leaky(FakeVoice):
        async def synthesize(self, request: SpeechRequest) -> Speech:
            raise ProviderError(f"rejected key {secret}", transient=False)

    with pytest.raises(RunFailed) as caught:
        await Pipeline(fakes(tts=Leaky())).run(make_spec(), run_dir=tmp_path / "run")
    run = tmp_path / "run"
    assert secret not in (run / "run.log").read_text()
    assert secret not in (run / "report.json").read_text()
    assert "***" in (run / "report.json").read_text()
    del caught  # the exception object itself carries the provider's text; the CLI redacts what it prints
    await anyio.sleep(0)


@anyio_mark
@pytest.mark.usefixtures("aura_logs")
async def test_every_line_of_a_provider_error_is_kept_in_events_the_error_the_log_and_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A multi-line error (a tool's banner, its real error last, a key echoed back) is kept whole on one line,
    redacted: the retry's and the failure's causes, the raised error, run.log and report.json's `errors`."""
    secret = "sk-test-" + "5" * 40
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    message = f"noisy: ffmpeg failed\n  Guessed Channel Layout: mono\n\nmusic.mp3: Invalid data found when processing input\nkey {secret}\n"

    @define
    class Noisy(FakeVoice):
        async def synthesize(self, request: SpeechRequest) -> Speech:
            raise ProviderError(message, transient=True)

    whole = "noisy: ffmpeg failed | Guessed Channel Layout: mono | music.mp3: Invalid data found when processing input | key ***"
    events: list[Event] = []
    spec = make_spec(providers={"fake": {"attempts": 2}})
    with pytest.raises(RunFailed) as caught:
        await Pipeline(fakes(tts=Noisy())).run(spec, run_dir=tmp_path / "run", on_event=events.append)
    assert f"{whole} (after 2 attempts)" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert {e.cause for e in events if isinstance(e, Retry)} == {whole}
    assert [e.error for e in events if isinstance(e, RunFinished)] == [str(caught.value)]
    assert whole in (tmp_path / "run" / "run.log").read_text()
    errors = json.loads((tmp_path / "run" / "report.json").read_text())["errors"]
    assert errors == [str(caught.value)]


def test_a_long_error_keeps_its_first_and_last_words_within_the_limit() -> None:
    """A provider quoting a 100 kB response: the summary stays within `SUMMARY_LIMIT`, on one line, and keeps
    both ends (the provider's own words first, a tool's real error last)."""
    text = "HTTP 500 from the server\n" + "x" * 100_000 + "\nInvalid data found when processing input"
    line = summarize(text)
    assert len(line) <= SUMMARY_LIMIT
    assert line.startswith("HTTP 500 from the server | xxx")
    assert line.endswith("xxx | Invalid data found when processing input")
    assert "\n" not in line


@anyio_mark
async def test_a_timeout_set_for_a_kind_applies_to_its_providers(tmp_path: Path) -> None:
    """``[providers.defaults.tts] timeout`` cuts a hanging voice call even though the provider sets none."""
    events: list[Event] = []
    voice = FakeVoice(faults=Faults(calls=frozenset({1}), hang=True))
    spec = make_spec(providers={"defaults": {"tts": {"timeout": 0.3}}})
    await Pipeline(fakes(tts=voice)).run(spec, run_dir=tmp_path / "run", on_event=events.append)
    assert [(r.stage, r.cause) for r in events if isinstance(r, Retry)] == [("voice", "timed out")]


def test_unknown_per_kind_middleware_keys_are_brief_errors() -> None:
    """A typo in ``[providers.defaults.<kind>]`` is named with its path."""
    with pytest.raises(BriefError) as caught:
        make_spec(providers={"defaults": {"tts": {"timeuot": 3}}})
    assert caught.value.problems[0].startswith("providers.defaults.tts.timeuot: unknown key")


def test_retry_after_values_become_seconds_to_wait() -> None:
    """``retry_after_seconds``: a number, an HTTP date from now (a past one is 0), nothing else."""

    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    soon = format_datetime(datetime.fromtimestamp(time.time() + 120, UTC), usegmt=True)
    assert 100 < (retry_after_seconds(soon) or 0) <= 120
    assert retry_after_seconds("soon-ish") is None
    assert retry_after_seconds("") is None
    assert retry_after_seconds(None) is None
