"""The middleware every provider call goes through: timeout, retries, circuit breaker, fallback chain.

Retries use stamina (exponential backoff with jitter) on transient failures only: a
``ProviderError(transient=True)``, a timeout, a connection error, or a result a validator
rejected. A ``retry_after`` hint replaces the computed wait (capped). Attempts are bounded by
their number and by the call's time budget: a retry whose wait would pass the budget is not made.
Each provider instance has its own breaker, fed by every failed attempt, so a dead service is cut
off after a few attempts in all rather than after every call's retries. When a provider's breaker
is open or its retries are exhausted, the call moves to the next provider of the chain. Every
retry, breaker change and fallback is an event.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import anyio
import attrs
import stamina
from attrs import define, field, frozen
from stamina.instrumentation import RetryDetails, RetryHook, get_on_retry_hooks, set_on_retry_hooks

from aura_core.errors import ProviderError, UserError
from aura_core.logs import summarize

#: Keys of ``[providers.<name>]`` that configure the middleware, not the provider, with their ranges
#: (inclusive; seconds, except the two counts). Finite bounds: a brief cannot ask to wait for ever.
POLICY_RANGES: Mapping[str, tuple[float, float]] = {
    "timeout": (0.01, 86400.0),
    "attempts": (1, 100),
    "backoff": (0.0, 3600.0),
    "backoff_max": (0.0, 3600.0),
    "budget": (0.01, 86400.0),
    "retry_after_max": (0.0, 3600.0),
    "breaker_threshold": (1, 1000),
    "breaker_cooldown": (0.0, 86400.0),
}

#: The middleware's keys of ``[providers.<name>]`` (``POLICY_RANGES``' keys).
POLICY_KEYS = frozenset(POLICY_RANGES)

#: The keys whose values are counts (whole numbers).
_COUNT_KEYS = frozenset({"attempts", "breaker_threshold"})


@frozen
class CallPolicy:
    """How calls to one provider are guarded. Times in seconds.

    The defaults ride out a flaky service (30 % of calls failing transiently) like stamina's own
    defaults do: up to 10 attempts, bounded by the time ``budget``; the breaker opens after
    ``breaker_threshold`` failed attempts in a row, so a dead service is still cut off quickly.
    """

    timeout: float = 120.0
    attempts: int = 10
    backoff: float = 0.5
    backoff_max: float = 30.0
    budget: float = 300.0
    retry_after_max: float = 60.0
    breaker_threshold: int = 10
    breaker_cooldown: float = 30.0


#: Sensible defaults per kind: LLMs and image models are slow, voices quick, renders long.
DEFAULT_POLICIES: Mapping[str, CallPolicy] = {
    "llm": CallPolicy(timeout=120.0, budget=600.0),
    "tts": CallPolicy(timeout=60.0, budget=300.0),
    "image": CallPolicy(timeout=180.0, budget=900.0),
    "composer": CallPolicy(timeout=1800.0, budget=3600.0),
}


def policy_problem(key: str, value: Any) -> str | None:
    """Why ``value`` cannot be the middleware key ``key`` (out of its range, not finite, not a number), else None."""
    low, high = POLICY_RANGES[key]
    count = key in _COUNT_KEYS
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or not low <= value <= high or (count and value != int(value)):
        kind = "a whole number" if count else "a number of seconds"
        return f"expected {kind} from {low:g} to {high:g}, got {value!r}"
    return None


def policy_for(kind: str, *tables: tuple[str, Mapping[str, Any]]) -> CallPolicy:
    """The kind's default policy with the middleware keys of each ``(path, table)`` applied in order (later wins).

    A value out of its range is a ``UserError`` naming ``path.key``, e.g. ``providers.openai.backoff``.
    """
    overrides: dict[str, Any] = {}
    for path, table in tables:
        for key in sorted(POLICY_KEYS & table.keys()):
            problem = policy_problem(key, table[key])
            if problem is not None:
                raise UserError(f"{path}.{key}: {problem}")
            overrides[key] = int(table[key]) if key in _COUNT_KEYS else float(table[key])
    return attrs.evolve(DEFAULT_POLICIES[kind], **overrides)


class Transient(Exception):
    """A failure worth trying again (internal: wraps the cause for stamina).

    The guard sets ``attempts`` (the attempts made so far) and ``wait`` (the seconds before the next attempt,
    or None for no retry) before it hands the failure to stamina.
    """

    def __init__(self, cause: str, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        self.retry_after = retry_after
        self.wait: float | None = None
        self.attempts = 1


class Exhausted(Exception):
    """A provider failed for good on this call (permanent error, retries used up, or breaker open)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def describe(exc: BaseException) -> str:
    """A failure on one line for messages, events and the report: every line of its text, bounded, redacted."""
    if isinstance(exc, ProviderError):
        return summarize(exc.message) or type(exc).__name__
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = summarize(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def classify(exc: BaseException) -> Transient | None:
    """The transient form of ``exc`` when it is worth a retry, else None (permanent)."""
    if isinstance(exc, Transient):
        return exc
    if isinstance(exc, ProviderError):
        return Transient(describe(exc), exc.retry_after) if exc.transient else None
    if isinstance(exc, TimeoutError | ConnectionError | anyio.BrokenResourceError | anyio.EndOfStream):
        return Transient(describe(exc))
    return None


def _retry_wait(exc: BaseException) -> bool | float:
    """stamina's backoff hook: the wait the guard chose for a ``Transient``; no retry for anything else."""
    if isinstance(exc, Transient) and exc.wait is not None:
        return exc.wait
    return False


@frozen
class _OthersRetries:
    """A stamina retry hook passing every retry but aura's own to the hooks that were set before.

    aura reports its retries as ``Retry`` events; stamina's default instrumentation would also print
    each one as a raw ``stamina.retry_scheduled`` logging line on stderr (or stdout with structlog).
    """

    hooks: tuple[RetryHook, ...]

    def __call__(self, details: RetryDetails) -> contextlib.AbstractContextManager[None] | None:
        if isinstance(details.caused_by, Transient):
            return None
        managers = [
            m for hook in self.hooks if isinstance(m := hook(details), contextlib.AbstractContextManager)
        ]
        return _entered_together(managers) if managers else None


@contextlib.contextmanager
def _entered_together(managers: list[contextlib.AbstractContextManager[Any]]) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for manager in managers:
            stack.enter_context(manager)
        yield


def _quiet_own_retries() -> None:
    """Install ``_OthersRetries`` in front of stamina's current hooks, once (an app may set its own later)."""
    hooks = get_on_retry_hooks()
    if not any(isinstance(hook, _OthersRetries) for hook in hooks):
        set_on_retry_hooks([_OthersRetries(hooks)])


@define
class Breaker:
    """A circuit breaker for one provider instance: closed → open after N failures in a row → half-open probe.

    A failure is a failed attempt (each transient one counts) or a call that failed permanently.
    """

    provider: str
    kind: str
    threshold: int
    cooldown: float
    on_change: Callable[[Breaker, str], None]
    clock: Callable[[], float] = time.monotonic
    state: str = "closed"
    failures: int = 0
    opened_at: float = 0.0
    probing: bool = False
    opened_count: int = 0

    def allow(self) -> bool:
        """Whether a call may go through now (one probe at a time when half-open)."""
        if self.state == "open" and self.clock() - self.opened_at >= self.cooldown:
            self._set("half_open", "cool-down over: letting one probe through")
        if self.state == "closed":
            return True
        if self.state == "half_open" and not self.probing:
            self.probing = True
            return True
        return False

    def success(self) -> None:
        """A call succeeded: close."""
        self.failures = 0
        self.probing = False
        if self.state != "closed":
            self._set("closed", "probe succeeded")

    def failure(self, cause: str) -> None:
        """An attempt failed: count it, open at the threshold or on a failed probe."""
        self.failures += 1
        self.probing = False
        if self.state == "half_open" or (self.state == "closed" and self.failures >= self.threshold):
            self.opened_at = self.clock()
            self.opened_count += 1
            self._set("open", cause)

    def _set(self, state: str, cause: str) -> None:
        self.state = state
        self.on_change(self, cause)


@define
class Guard:
    """Runs one provider call under its policy: attempts with timeout and backoff, reporting retries."""

    policy: CallPolicy
    limiter: anyio.CapacityLimiter
    breaker: Breaker
    retries: int = field(default=0)

    async def call(
        self,
        invoke: Callable[[], Awaitable[Any]],
        validate: Callable[[Any], str | None],
        on_retry: Callable[[int, float, str], None],
        *,
        timeout: float | None = None,
        queued: bool = True,
        retry_invalid: bool = True,
    ) -> Any:
        """Call ``invoke`` until it gives a valid result, or raise ``Exhausted`` with the last cause.

        ``on_retry(next attempt, wait, cause)`` is told before each retry; ``timeout`` overrides the policy's;
        ``queued=False`` runs the call beside the provider's ``concurrency`` slots instead of waiting for one;
        ``retry_invalid=False`` makes a result ``validate`` rejects a permanent failure (a deterministic provider).
        """
        policy = self.policy
        call_timeout = policy.timeout if timeout is None else timeout
        _quiet_own_retries()
        started = time.monotonic()

        try:
            async for attempt in stamina.retry_context(
                on=_retry_wait,
                attempts=policy.attempts,
                timeout=policy.budget,
                wait_initial=policy.backoff,
                wait_max=policy.backoff_max,
                wait_jitter=policy.backoff,
            ):
                with attempt:
                    try:
                        slot: contextlib.AbstractAsyncContextManager[Any] = (
                            self.limiter if queued else contextlib.nullcontext()
                        )
                        async with slot:
                            # Asked only once a slot is free: calls queued behind a failing one see it open.
                            if not self.breaker.allow():
                                raise Exhausted(f"circuit open after {self.breaker.failures} failures")
                            with anyio.fail_after(call_timeout):
                                result = await invoke()
                        problem = validate(result)
                        if problem is not None:
                            if not retry_invalid:
                                # the same request gives the same result again: another attempt cannot help
                                raise ProviderError(f"bad result: {problem}", transient=False)
                            raise Transient(f"bad result: {problem}")
                    except Exception as exc:
                        transient = classify(exc)
                        if transient is None:
                            raise
                        self.breaker.failure(transient.cause)
                        transient.attempts = attempt.num
                        transient.wait = self._next_wait(attempt.num, transient, time.monotonic() - started)
                        if transient.wait is not None:
                            self.retries += 1
                            on_retry(attempt.num + 1, transient.wait, transient.cause)
                        if transient is exc:
                            raise
                        raise transient from exc
                    self.breaker.success()
                    return result
        except Transient as exc:
            tries = "attempt" if exc.attempts == 1 else "attempts"
            within = "" if exc.attempts >= policy.attempts else f" within its {policy.budget:g} s budget"
            raise Exhausted(f"{exc.cause} (after {exc.attempts} {tries}{within})") from exc
        except (UserError, Exhausted, anyio.get_cancelled_exc_class()):
            raise
        except ProviderError as exc:
            self.breaker.failure(describe(exc))
            raise Exhausted(describe(exc)) from exc
        raise AssertionError("unreachable: stamina ended without a result or an error")  # pragma: no cover

    def _next_wait(self, attempt: int, failure: Transient, elapsed: float) -> float | None:
        """Seconds before attempt ``attempt + 1``, or None when no retry is left in the attempts or the budget.

        The wait is stamina's (exponential from ``backoff``, doubling, capped at ``backoff_max``, plus up to
        ``backoff`` of jitter) or the provider's ``retry_after`` (capped), computed here so that the budget
        bounds it: a retry whose wait would end past the budget is not made, whatever the settings.
        """
        policy = self.policy
        if attempt >= policy.attempts:
            return None
        if failure.retry_after is not None:
            wait = min(max(failure.retry_after, 0.0), policy.retry_after_max)
        else:
            exponential = policy.backoff * 2.0 ** min(attempt - 1, 64)  # no overflow on any attempt number
            wait = min(policy.backoff_max, exponential + random.uniform(0.0, policy.backoff))
        return wait if elapsed + wait < policy.budget else None
