"""Where provider calls run: the seam between the runner and the machine(s) doing the work.

The runner, the resilience middleware, the journal and progress always stay in this process;
an executor only decides where one provider call executes. The default runs it here on the
event loop; another executor (a cluster) may send it elsewhere and return the same result.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Executor(Protocol):
    """Runs one provider call: ``await getattr(provider, method)(request)``, wherever it likes."""

    async def call(self, provider: Any, method: str, request: Any, *, kind: str) -> Any:
        """The call's result (or the provider's exception, raised here)."""
        ...


class InProcess:
    """The default executor: the call runs in this process, on the current event loop."""

    async def call(self, provider: Any, method: str, request: Any, *, kind: str) -> Any:
        """Await the provider's method directly."""
        return await getattr(provider, method)(request)
