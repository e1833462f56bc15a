"""``write_in_thread``: blocking file work in a worker thread, cancellable, never a half-written file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import anyio
import pytest

from aura_core import ProviderError, write_in_thread


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.anyio
async def test_the_file_appears_at_out_path_only_when_the_work_is_done(tmp_path: Path) -> None:
    out = tmp_path / "new" / "picture.png"
    seen: list[Path] = []

    def work(path: Path) -> int:
        seen.append(path)
        assert not out.exists()  # nothing at out_path while the work writes
        path.write_bytes(b"\x89PNG data")
        return 7

    assert await write_in_thread(out, work) == 7
    assert out.read_bytes() == b"\x89PNG data"
    assert seen[0].parent == out.parent and seen[0].suffix == ".png" and seen[0] != out
    assert _files(out.parent) == ["picture.png"]


@pytest.mark.anyio
async def test_a_failing_work_leaves_no_file_and_its_error_propagates(tmp_path: Path) -> None:
    def work(path: Path) -> None:
        path.write_bytes(b"half")
        raise ValueError("not an image")

    with pytest.raises(ValueError, match="not an image"):
        await write_in_thread(tmp_path / "a.png", work)
    assert _files(tmp_path) == []


@pytest.mark.anyio
async def test_a_work_that_writes_nothing_is_a_permanent_provider_error(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match=r"^a\.wav was not written$") as caught:
        await write_in_thread(tmp_path / "a.wav", lambda _path: None)
    assert caught.value.transient is False


@pytest.mark.anyio
async def test_a_cancellation_while_the_thread_works_lands_after_it_and_removes_the_file(
    tmp_path: Path,
) -> None:
    """The thread runs to its end, but the cancelled call returns no result and leaves no file."""
    out = tmp_path / "a.png"
    started, finished = threading.Event(), threading.Event()
    returned: list[object] = []

    def work(path: Path) -> str:
        started.set()
        time.sleep(0.2)
        path.write_bytes(b"done")
        finished.set()
        return "result"

    async with anyio.create_task_group() as tg:

        async def call() -> None:
            returned.append(await write_in_thread(out, work))

        tg.start_soon(call)
        while not started.is_set():
            await anyio.sleep(0.005)
        tg.cancel_scope.cancel()
    assert finished.is_set()  # the thread was not abandoned: it finished before the call unwound
    assert returned == []
    assert _files(tmp_path) == []


@pytest.mark.anyio
async def test_an_abandoned_thread_removes_its_own_file_when_it_ends(tmp_path: Path) -> None:
    """With abandon_on_cancel the call returns at once; the thread, finishing later, leaves nothing."""
    out = tmp_path / "a.png"
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def work(path: Path) -> None:
        started.set()
        release.wait(10)
        path.write_bytes(b"late")
        finished.set()

    with anyio.move_on_after(10) as outer:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: write_in_thread(out, work, abandon_on_cancel=True))
            while not started.is_set():
                await anyio.sleep(0.005)
            tg.cancel_scope.cancel()
    assert not outer.cancelled_caught
    assert not finished.is_set()  # the call came back while the thread still worked
    release.set()
    await anyio.to_thread.run_sync(finished.wait, 10)
    for _ in range(200):
        if not _files(tmp_path):
            break
        await anyio.sleep(0.01)
    assert _files(tmp_path) == []
