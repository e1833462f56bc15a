"""Usage accounting: a provider reports what a call consumed; the core adds it up per provider.

A provider calls ``record_usage(tokens_in=812, tokens_out=240)`` (any names, numeric values) while
serving a call; the middleware collects it into that provider's totals in ``report.json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[dict[str, float] | None] = ContextVar("aura_usage", default=None)


def record_usage(**amounts: float) -> None:
    """Add ``amounts`` (for example ``tokens_in=812``, ``characters=140``, ``cost_usd=0.002``) to the current call."""
    counter = _current.get()
    if counter is None:
        return  # called outside a pipeline call (a provider used on its own): nothing to add to
    for name, amount in amounts.items():
        counter[name] = counter.get(name, 0.0) + amount


@contextmanager
def collect_usage() -> Iterator[dict[str, float]]:
    """Collect what ``record_usage`` reports inside the block into the yielded counter."""
    counter: dict[str, float] = {}
    token = _current.set(counter)
    try:
        yield counter
    finally:
        _current.reset(token)
