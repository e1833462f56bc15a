"""The middleware every provider call goes through: timeout, retries, circuit breaker, fallback chain.

Retries use stamina (exponential backoff with jitter) on transient failures only: a
``ProviderError(transient=True)``, a timeout, a connection error, or a result a validator
rejected. A ``retry_after`` hint replaces the computed wait (capped). Each provider instance has
its own breaker. When a provider's breaker is open or its retries are exhausted, the call moves
to the next provider of the chain. Every retry, breaker change and fallback is an event.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import attrs
import stamina
from attrs import define, field, frozen

from aura_core.errors import ProviderError, UserError

#: Keys of ``[providers.<name>]`` that configure the middleware, not the provider.
POLICY_KEYS = frozenset(
    {
        "timeout",
        "attempts",
        "backoff",
        "backoff_max",
        "budget",
        "retry_after_max",
        "breaker_threshold",
        "breaker_cooldown",
    }
)


@frozen
class CallPolicy:
    """How calls to one provider are guarded. Times in seconds."""

    timeout: float = 120.0
    attempts: int = 4
    backoff: float = 0.5
    backoff_max: float = 30.0
    budget: float = 300.0
    retry_after_max: float = 60.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0


#: Sensible defaults per kind: LLMs and image models are slow, voices quick, renders long.
DEFAULT_POLICIES: Mapping[str, CallPolicy] = {
    "llm": CallPolicy(timeout=120.0, attempts=3, budget=600.0),
    "tts": CallPolicy(timeout=60.0, attempts=4, budget=300.0),
    "image": CallPolicy(timeout=180.0, attempts=4, budget=900.0),
    "composer": CallPolicy(timeout=1800.0, attempts=2, budget=3600.0),
}


def policy_for(kind: str, settings: Mapping[str, Any]) -> CallPolicy:
    """The kind's default policy with the brief's overrides from ``[providers.<name>]``."""
    base = DEFAULT_POLICIES[kind]
    overrides: dict[str, Any] = {}
    for key in POLICY_KEYS & settings.keys():
        value = settings[key]
        expected = int if key in {"attempts", "breaker_threshold"} else float
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value < (1 if expected is int else 0)
        ):
            raise UserError(f"{key}: expected a positive number, got {value!r}")
        overrides[key] = expected(value)
    return attrs.evolve(base, **overrides)


class Transient(Exception):
    """A failure worth trying again (internal: wraps the cause for stamina)."""

    def __init__(self, cause: str, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        self.retry_after = retry_after


class Exhausted(Exception):
    """A provider failed for good on this call (permanent error, retries used up, or breaker open)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def describe(exc: BaseException) -> str:
    """A one-line description of a failure for messages and events."""
    if isinstance(exc, ProviderError):
        return exc.message.splitlines()[0] if exc.message else type(exc).__name__
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).splitlines()[0] if str(exc) else ""
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


@define
class Breaker:
    """A circuit breaker for one provider instance: closed → open after N failures → half-open probe."""

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
        """A call failed (after its retries): count it, open at the threshold or on a failed probe."""
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

        def backoff(exc: Exception) -> bool | float:
            if not isinstance(exc, Transient):
                return False
            if exc.retry_after is not None:
                return min(max(exc.retry_after, 0.0), policy.retry_after_max)
            return True

        try:
            async for attempt in stamina.retry_context(
                on=backoff,
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
                        if attempt.num < policy.attempts:
                            self.retries += 1
                            wait = attempt.next_wait
                            if transient.retry_after is not None:
                                wait = min(max(transient.retry_after, 0.0), policy.retry_after_max)
                            on_retry(attempt.num + 1, wait, transient.cause)
                        if transient is exc:
                            raise
                        raise transient from exc
                    self.breaker.success()
                    return result
        except Transient as exc:
            self.breaker.failure(exc.cause)
            raise Exhausted(f"{exc.cause} (after {policy.attempts} attempts)") from exc
        except (UserError, Exhausted, anyio.get_cancelled_exc_class()):
            raise
        except ProviderError as exc:
            self.breaker.failure(describe(exc))
            raise Exhausted(describe(exc)) from exc
        raise AssertionError("unreachable: stamina ended without a result or an error")  # pragma: no cover
