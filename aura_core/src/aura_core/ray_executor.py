"""An executor that sends provider calls to a Ray cluster as tasks with resource requests.

The runner, the resilience middleware, the journal and progress stay in this (the driver) process;
each provider call (a voice, a picture, a segment render, the assembly) becomes one Ray task that
runs the provider's async method in a worker with its own event loop and sends back the result
and the usage the provider recorded. Failures come back as the provider raised them, so retries,
breakers and fallback work unchanged; a worker or node lost mid-call becomes a transient
``ProviderError`` that the middleware retries. Ray is imported here only, when first used:
``import aura_core`` never imports it (install the ``aura-core[ray]`` extra to use this module).

Artifacts are written by the workers straight to ``request.out_path`` inside the run directory,
so the run directory must be on storage every worker and the driver can reach (one machine, or a
shared folder mounted at the same path on every node).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import traceback
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

import anyio
from loguru import logger

from aura_core.errors import ProviderError, UserError
from aura_core.members import optional_member
from aura_core.usage import collect_usage, record_usage

if TYPE_CHECKING:
    from ray import ObjectRef

#: What a call asks of the cluster when neither the executor nor the provider says otherwise.
DEFAULT_RESOURCES: Mapping[str, Mapping[str, Any]] = {
    "llm": {"num_cpus": 1},
    "tts": {"num_cpus": 1},
    "image": {"num_cpus": 1},
    "composer": {"num_cpus": 1},
}

#: The Ray task options a provider's ``resources`` attribute (or the executor's table) may set.
RESOURCE_KEYS = frozenset({"num_cpus", "num_gpus", "memory", "resources", "accelerator_type"})


def _ray() -> ModuleType:
    try:
        import ray
    except ImportError:  # pragma: no cover - exercised only where the extra is missing
        raise UserError(
            "the ray executor needs Ray: pip install 'aura-core[ray]' (or run with --executor local)"
        ) from None
    return ray


def run_call(provider: Any, method: str, request: Any) -> tuple[bool, Any, dict[str, float]]:
    """Worker side: run one provider call on a fresh event loop; ``(ok, result or exception, usage)``.

    An exception is returned, not raised, so it reaches the driver as the provider raised it
    (a ``ProviderError`` keeps ``transient`` and ``retry_after``); the worker's traceback is added
    as a note. An exception that cannot be pickled is replaced by a ``RuntimeError`` saying what it was.
    """

    async def go() -> tuple[Any, dict[str, float]]:
        with collect_usage() as usage:
            result = await getattr(provider, method)(request)
        return result, usage

    try:
        result, usage = anyio.run(go)
    except Exception as exc:  # noqa: BLE001 - every provider error goes back to the driver as raised
        exc.add_note("in the Ray worker:\n" + "".join(traceback.format_exception(exc)).rstrip())
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # noqa: BLE001 - any pickling problem means: send a plain copy
            plain = RuntimeError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")
            for note in getattr(exc, "__notes__", ()):
                plain.add_note(note)
            return False, plain, {}
        return False, exc, {}
    return True, result, usage


class RayExecutor:
    """Runs each provider call as a Ray task; the driver keeps resilience, the journal and progress.

    ``address`` is the cluster to join (``None``: ``RAY_ADDRESS`` if set, else a local cluster
    started on first use); ``resources`` overrides :data:`DEFAULT_RESOURCES` per kind; a provider's
    own ``resources`` attribute (for example ``{"num_gpus": 1}``) wins over both.
    ``init_options`` go to ``ray.init`` as given (``num_cpus``, ``runtime_env``, ``namespace``…).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        resources: Mapping[str, Mapping[str, Any]] | None = None,
        init_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.address = address if address is not None else os.environ.get("RAY_ADDRESS") or None
        self.resources = {kind: dict(DEFAULT_RESOURCES.get(kind, {})) for kind in DEFAULT_RESOURCES}
        for kind, options in (resources or {}).items():
            self.resources[kind] = _checked(f"executor resources for {kind}", options)
        self.init_options = dict(init_options or {})
        self._started_here = False
        self._remote: Any = None
        self._provider_refs: dict[int, tuple[Any, Any]] = {}

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Join the cluster (or start a local one); a no-op when this process is already connected.

        Called on the first call when not called before; call it before the event loop starts to
        keep the connection's few seconds off the loop.
        """
        ray = _ray()
        if self._remote is not None and ray.is_initialized():
            return
        if not ray.is_initialized():
            options: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False}
            if self.address is not None:
                options.pop("include_dashboard")  # only for a cluster started here
            options.update(self.init_options)
            try:
                ray.init(address=self.address, **options)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or "a local cluster"
                raise UserError(f"ray: could not connect to {where}: {exc}") from None
            self._started_here = True
        resources = ray.cluster_resources()
        where = "the cluster this process was connected to"
        if self._started_here:
            where = f"joined {self.address}" if self.address else "the local cluster"
        logger.info(
            "ray executor: {} ({:g} CPUs, {:g} GPUs)",
            where,
            resources.get("CPU", 0),
            resources.get("GPU", 0),
        )
        # Ray must not retry on its own: the core's middleware owns retries (and counts them).
        self._remote = ray.remote(max_retries=0, retry_exceptions=False)(run_call)
        self._provider_refs.clear()

    def shutdown(self) -> None:
        """Disconnect, and stop the local cluster if this executor started it."""
        if self._started_here:
            ray = _ray()
            ray.shutdown()
            self._started_here = False
        self._remote = None
        self._provider_refs.clear()

    def __enter__(self) -> RayExecutor:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()

    # -- the seam --------------------------------------------------------------------------------

    def options_for(self, provider: Any, kind: str) -> dict[str, Any]:
        """The Ray task options of one call: the kind's resources, then the provider's own ``resources``."""
        options = dict(self.resources.get(kind, {"num_cpus": 1}))
        own = optional_member(provider, "resources")
        if own is not None:
            if not isinstance(own, Mapping):
                raise UserError(
                    f"provider {provider.name}: resources must be a mapping like {{'num_gpus': 1}}, got {own!r}"
                )
            options.update(_checked(f"provider {provider.name}: resources", own))
        return options

    async def call(self, provider: Any, method: str, request: Any, *, kind: str) -> Any:
        """Run ``provider.<method>(request)`` as a Ray task and return its result (or raise its error)."""
        if self._remote is None:
            self.start()
        ray = _ray()
        options = self.options_for(provider, kind)
        ref = self._remote.options(**options).remote(self._provider_ref(ray, provider), method, request)
        finished = False
        try:
            ok, payload, usage = await _wait(ray, ref)
            finished = True
        except ray.exceptions.RayError as exc:
            finished = True
            raise _lost(provider, method, exc, ray) from exc
        finally:
            if not finished:  # cancelled (a timeout, the run cancelled): stop the task on the cluster
                ray.cancel(ref, force=True)
        if usage:
            record_usage(**usage)
        if not ok:
            raise payload
        return payload

    def _provider_ref(self, ray: ModuleType, provider: Any) -> Any:
        """The provider put in the object store once, so a call sends a reference, not the object."""
        held = self._provider_refs.get(id(provider))
        if held is not None and held[0] is provider:
            return held[1]
        try:
            ref = ray.put(provider)
        except Exception as exc:  # noqa: BLE001 - any pickling failure means the same to the user
            raise UserError(
                f"provider {provider.name} cannot be sent to Ray workers (it must be picklable: "
                f"drop locks, clients and loaded models in __getstate__ and rebuild them lazily): {exc}"
            ) from None
        self._provider_refs[id(provider)] = (provider, ref)
        return ref


async def _wait(ray: ModuleType, ref: ObjectRef[Any]) -> Any:
    """Await a task's result on asyncio natively, on trio in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # not asyncio (trio)
        pass
    else:
        return await ref
    # ray.get blocks: run it in a thread that cancellation abandons (ray.cancel then ends it).
    return await anyio.to_thread.run_sync(ray.get, ref, abandon_on_cancel=True)


def _lost(provider: Any, method: str, exc: BaseException, ray: ModuleType) -> ProviderError:
    """A Ray failure as the middleware understands it: transient unless the task can never run."""
    permanent = (ray.exceptions.RuntimeEnvSetupError, ray.exceptions.TaskUnschedulableError)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    what = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return ProviderError(f"{provider.name}.{method} on Ray: {what}", transient=not isinstance(exc, permanent))


def _checked(where: str, options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - RESOURCE_KEYS)
    if unknown:
        raise UserError(
            f"{where}: unknown key {', '.join(unknown)} (expected some of {', '.join(sorted(RESOURCE_KEYS))})"
        )
    return dict(options)


__all__ = ["DEFAULT_RESOURCES", "RESOURCE_KEYS", "RayExecutor", "run_call"]
