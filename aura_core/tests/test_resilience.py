"""The resilience middleware: retries, timeouts, breakers, fallback chains and validators."""

from __future__ import annotations

import json
import time
import wave
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
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
    Speech,
    SpeechRequest,
    retry_after_seconds,
)
from aura_core.logs import redact
from aura_core.resilience import Breaker
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


@anyio_mark
async def test_runs_with_30_percent_transient_failures_end_like_fault_free_runs(tmp_path: Path) -> None:
    """100 runs whose voice and picture calls fail 30 % of the time all finish with the fault-free output."""
    clean = await Pipeline(fakes()).run(make_spec(), run_dir=tmp_path / "clean")
    expected = clean.path.read_bytes()
    retries = 0
    for seed in range(100):
        events: list[Event] = []
        faulty = fakes(
            tts=FakeVoice(faults=Faults(rate=0.3, seed=seed)),
            image=FakeIllustrator(faults=Faults(rate=0.3, seed=seed + 1000)),
        )
        spec = make_spec(providers={"fake": {"attempts": 12, "breaker_threshold": 1000}})
        video = await Pipeline(faulty).run(spec, run_dir=tmp_path / f"run{seed}", on_event=events.append)
        assert video.path.read_bytes() == expected
        retries += sum(isinstance(e, Retry) for e in events)
    assert retries > 100  # about 0.3 / 0.7 × 10 calls × 100 runs ≈ 430 retries really happened


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
