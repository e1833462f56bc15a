"""Provider calls on a local Ray cluster started by the test: same video, retries, cancellation, resources.

The cluster has 2 CPUs and one declared GPU (a resource label only: nothing uses a real GPU).
Providers defined here keep their state in files (a call in a Ray worker runs on a copy of the
provider), and are pickled by value so workers need not import this test module.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest
from attrs import define, field

from aura_core import (
    Event,
    ImageRequest,
    InProcess,
    Picture,
    Pipeline,
    ProviderError,
    Retry,
    RunFailed,
    Speech,
    SpeechRequest,
    UserError,
    record_usage,
)
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

from .conftest import make_spec

pytestmark = pytest.mark.anyio

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'aura-core[ray]')")

from aura_core.ray_executor import RayExecutor  # noqa: E402 - only importable once Ray is known present


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A local Ray cluster for this module (2 CPUs, 1 declared GPU), or a skip saying why it would not start."""
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)
    except Exception as exc:  # noqa: BLE001 - any failure to start means: skip with the reason
        pytest.skip(f"a local Ray cluster would not start here: {exc}")
    try:
        yield
    finally:
        ray.shutdown()
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def _log(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


@define
class PidVoice(FakeVoice):
    """A fake voice that logs the process it ran in and records the characters it read as usage."""

    pid_log: Path | None = None

    async def synthesize(self, request: SpeechRequest) -> Speech:
        """Log the pid, record usage, then speak like FakeVoice."""
        if self.pid_log is not None:
            _log(self.pid_log, str(os.getpid()))
        record_usage(characters=len(request.text))
        return await FakeVoice.synthesize(self, request)


@define
class CrashOnceVoice(FakeVoice):
    """A fake voice whose first call (across all processes) kills its own process mid-call."""

    marker: Path = Path("unset")

    async def synthesize(self, request: SpeechRequest) -> Speech:
        """Exit the process without cleanup the first time; speak normally afterwards."""
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return await FakeVoice.synthesize(self, request)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        request.out_path.write_bytes(b"RIFF partial")
        os._exit(1)


@define
class FailingIllustrator(FakeIllustrator):
    """An image fake whose first call fails transiently with a retry_after hint, then permanently."""

    marker: Path = Path("unset")

    async def generate(self, request: ImageRequest) -> Picture:
        """Fail transiently (retry_after=0.25) on the first call anywhere, permanently on the rest."""
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            raise ProviderError("refused content", transient=False) from None
        raise ProviderError("rate limited", transient=True, retry_after=0.25)


@define
class HangingVoice(FakeVoice):
    """A fake voice that writes its pid and then never answers."""

    pid_file: Path = Path("unset")

    async def synthesize(self, request: SpeechRequest) -> Speech:
        """Write the pid, then sleep forever."""
        self.pid_file.write_text(str(os.getpid()))
        await anyio.sleep_forever()
        raise AssertionError("unreachable")


@define
class ResourceVoice(FakeVoice):
    """A fake voice that asks Ray for a GPU and logs the resources Ray assigned to its task."""

    resources: dict[str, Any] = field(factory=lambda: {"num_gpus": 1})
    assigned_log: Path = Path("unset")

    async def synthesize(self, request: SpeechRequest) -> Speech:
        """Log what the task was given, then speak like FakeVoice."""
        import ray as worker_ray

        assigned = worker_ray.get_runtime_context().get_assigned_resources()  # type: ignore[no-untyped-call]
        _log(self.assigned_log, json.dumps(assigned, sort_keys=True))
        return await FakeVoice.synthesize(self, request)


def _fakes(voice: Any | None = None, image: Any | None = None) -> list[Any]:
    return [FakeScriptWriter(), voice or FakeVoice(), image or FakeIllustrator(), FakeComposer()]


def _artifacts(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((run / "artifacts").iterdir())}


async def test_a_run_on_ray_makes_the_same_video_as_in_process(tmp_path: Path, cluster: None) -> None:
    """Every artifact and the video are byte-identical; voices ran in other processes; usage is counted."""
    pids = tmp_path / "pids.txt"
    local = await Pipeline(_fakes(PidVoice(pid_log=None)), executor=InProcess()).run(
        make_spec(), run_dir=tmp_path / "local"
    )
    remote = await Pipeline(_fakes(PidVoice(pid_log=pids)), executor=RayExecutor()).run(
        make_spec(), run_dir=tmp_path / "ray"
    )
    assert remote.path.read_bytes() == local.path.read_bytes()
    assert _artifacts(tmp_path / "ray") == _artifacts(tmp_path / "local")
    worker_pids = {int(p) for p in pids.read_text().split()}
    assert worker_pids and os.getpid() not in worker_pids
    reports = [json.loads((tmp_path / r / "report.json").read_text()) for r in ("local", "ray")]
    usage = [r["providers"]["tts"][0]["usage"] for r in reports]
    assert usage[0]["characters"] > 0
    assert usage[1] == usage[0]
    calls = [{k: [p["calls"] for p in v] for k, v in r["providers"].items()} for r in reports]
    assert calls[1] == calls[0]


async def test_a_worker_killed_mid_call_is_retried_and_the_run_finishes(
    tmp_path: Path, cluster: None
) -> None:
    """A voice whose worker process dies on its first call: one retry event, then the same video as a clean run."""
    marker = tmp_path / "crashed"
    events: list[Event] = []
    video = await Pipeline(_fakes(CrashOnceVoice(marker=marker)), executor=RayExecutor()).run(
        make_spec(), run_dir=tmp_path / "ray", on_event=events.append
    )
    dead = int(marker.read_text())
    assert dead != os.getpid()
    assert not psutil.pid_exists(dead) or psutil.Process(dead).status() == psutil.STATUS_ZOMBIE
    retries = [e for e in events if isinstance(e, Retry)]
    assert len(retries) == 1
    assert retries[0].stage == "voice" and "on Ray" in retries[0].cause
    clean = await Pipeline(_fakes()).run(make_spec(), run_dir=tmp_path / "clean")
    assert video.path.read_bytes() == clean.path.read_bytes()
    report = json.loads((tmp_path / "ray" / "report.json").read_text())
    assert report["state"] == "succeeded"
    assert report["providers"]["tts"][0]["retries"] == 1


async def test_provider_errors_cross_from_the_worker_with_transient_and_retry_after(
    tmp_path: Path, cluster: None
) -> None:
    """A transient error's retry_after sets the wait; the permanent one after it fails the run with its message."""
    events: list[Event] = []
    pipeline = Pipeline(_fakes(image=FailingIllustrator(marker=tmp_path / "failed")), executor=RayExecutor())
    with pytest.raises(RunFailed, match="refused content"):
        await pipeline.run(make_spec(plan={"scenes": 1}), run_dir=tmp_path / "ray", on_event=events.append)
    retries = [e for e in events if isinstance(e, Retry)]
    assert [(r.stage, r.wait, r.cause) for r in retries] == [("visuals", 0.25, "rate limited")]


async def test_a_timed_out_call_kills_its_ray_task(tmp_path: Path, cluster: None) -> None:
    """The middleware's timeout cancels the call: the worker running it is stopped, and the run fails."""
    pid_file = tmp_path / "pid"
    # 10 s: long enough for a Ray worker to start and run the voice on a loaded machine (it then hangs)
    spec = make_spec(plan={"scenes": 1}, providers={"fake": {"timeout": 10, "attempts": 1}})
    pipeline = Pipeline(_fakes(HangingVoice(pid_file=pid_file)), executor=RayExecutor())
    with pytest.raises(RunFailed, match="timed out"):
        await pipeline.run(spec, run_dir=tmp_path / "ray")
    pid = int(pid_file.read_text())
    assert pid != os.getpid()
    # Stopping a worker takes Ray a moment: wait for it, with a generous deadline.
    with anyio.fail_after(30):
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            await anyio.sleep(0.1)


async def test_a_provider_resources_attribute_reaches_the_ray_task(tmp_path: Path, cluster: None) -> None:
    """``resources = {"num_gpus": 1}`` on a provider: its tasks are given the cluster's GPU."""
    log = tmp_path / "assigned.jsonl"
    await Pipeline(_fakes(ResourceVoice(assigned_log=log)), executor=RayExecutor()).run(
        make_spec(plan={"scenes": 2}), run_dir=tmp_path / "ray"
    )
    assigned = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(assigned) == 2
    assert all(a.get("GPU") == 1.0 for a in assigned)


def test_resource_settings_are_checked() -> None:
    """Unknown resource keys, from the executor or a provider, are user errors that name the key."""
    with pytest.raises(UserError, match="unknown key gpus"):
        RayExecutor(resources={"image": {"gpus": 1}})
    executor = RayExecutor(resources={"composer": {"num_cpus": 2}})
    assert executor.options_for(FakeComposer(), "composer") == {"num_cpus": 2}
    assert executor.options_for(ResourceVoice(), "tts") == {"num_cpus": 1, "num_gpus": 1}
    with pytest.raises(UserError, match="provider fake: resources: unknown key gpu"):
        executor.options_for(ResourceVoice(resources={"gpu": 1}), "tts")


async def test_a_provider_that_cannot_be_pickled_is_a_user_error(tmp_path: Path, cluster: None) -> None:
    """A provider holding a lock cannot go to a worker: the message says why and what to do."""
    import threading

    @define
    class LockedVoice(FakeVoice):
        lock: Any = field(factory=threading.Lock)

    with pytest.raises(UserError, match=r"cannot be sent to Ray workers.*__getstate__"):
        await Pipeline(_fakes(LockedVoice()), executor=RayExecutor()).run(
            make_spec(plan={"scenes": 1}), run_dir=tmp_path / "ray"
        )
