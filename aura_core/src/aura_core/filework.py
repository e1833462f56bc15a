"""Blocking work that writes one file, run in a worker thread: cancellable, and never a half-written file.

Every provider that draws, decodes or speaks into a file with a blocking library does the same four
things: run the work in a worker thread, let a cancellation that arrived meanwhile through before
returning, and remove the partial file after a failure or a cancellation. ``write_in_thread`` does them once.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread

from aura_core.errors import ProviderError

T = TypeVar("T")


def partial_path(out_path: Path) -> Path:
    """A unique hidden sibling of ``out_path`` with the same suffix (tools that read the suffix still can)."""
    return out_path.with_name(f".{out_path.stem}.{uuid.uuid4().hex[:12]}.partial{out_path.suffix}")


async def write_in_thread(out_path: Path, work: Callable[[Path], T], *, abandon_on_cancel: bool = False) -> T:
    """Run ``work(path)`` in a worker thread; it writes its file at ``path``, which becomes ``out_path``.

    ``path`` is a unique partial sibling of ``out_path`` (same folder, made if missing, same suffix).
    When ``work`` returns, the file is renamed to ``out_path`` and ``work``'s result returned; a
    result that names the path should be built from ``out_path`` by the caller.
    When ``work`` raises, or the call is cancelled, the partial file is removed and the exception
    propagates: nothing is left at ``out_path`` or beside it. ``work`` writing no file at all is a
    permanent ``ProviderError``.

    A thread cannot be interrupted. By default a cancellation waits for ``work`` to finish, then lands
    before the result is returned (so a cancelled call never returns a result). ``abandon_on_cancel=True``
    returns at once on cancellation and leaves the thread to finish on its own (for long work such as
    a model's inference); its file is then removed by the thread when it ends.
    """
    partial = partial_path(out_path)
    lock = threading.Lock()
    abandoned = False

    def run() -> T:
        try:
            partial.parent.mkdir(parents=True, exist_ok=True)
            result = work(partial)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        with lock:
            if abandoned:  # the caller has gone: nobody will rename or remove the file but this thread
                partial.unlink(missing_ok=True)
        return result

    try:
        result = await anyio.to_thread.run_sync(run, abandon_on_cancel=abandon_on_cancel)
        # A cancellation that arrived while the thread worked lands here, before the file is placed.
        await anyio.lowlevel.checkpoint()
    except BaseException:
        with lock:
            abandoned = True
        partial.unlink(missing_ok=True)
        raise
    try:
        os.replace(partial, out_path)
    except FileNotFoundError:
        raise ProviderError(f"{out_path.name} was not written", transient=False) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return result
