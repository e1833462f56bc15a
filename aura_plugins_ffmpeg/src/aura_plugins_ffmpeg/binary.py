"""Finding the ffmpeg binary and running it as a cancellable async subprocess."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any

import anyio

from aura_core import ProviderError, UserError

#: How much of ffmpeg's stderr is kept: enough for loudnorm's JSON and a useful error tail.
_STDERR_KEEP = 256 * 1024
#: How many characters of stderr an error message quotes.
TAIL_CHARS = 1500
#: How many of ffmpeg's error lines an error message keeps, and how long each may be.
SAID_LINES = 12
SAID_CHARS = 300


class Filled:
    """A buffer of known size that ffmpeg's stdout is read into: one allocation, no growth, no copy."""

    def __init__(self, size: int) -> None:
        """An empty buffer of ``size`` bytes."""
        self.data = bytearray(size)
        self.length = 0

    def read_from(self, source: io.RawIOBase) -> int:
        """Read once from ``source`` straight into the buffer (blocking); bytes beyond the size are
        counted in ``length`` but not kept. Returns how many bytes came (0 at the end)."""
        if self.length < len(self.data):
            count = source.readinto(memoryview(self.data)[self.length :]) or 0
        else:
            count = len(source.read(_OVERFLOW_READ) or b"")
        self.length += count
        return count


#: How much is read at a time once a ``Filled`` buffer is full (the excess is only counted).
_OVERFLOW_READ = 1 << 16


def locate(setting: str | None) -> str:
    """The ffmpeg binary for the ``ffmpeg`` setting.

    ``None`` or ``"bundled"`` picks the binary imageio-ffmpeg ships (a known build with libass,
    xfade and the software encoders); ``"path"`` the ``ffmpeg`` on PATH; anything else is a path.
    """
    if setting in (None, "bundled"):
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    if setting == "path":
        found = shutil.which("ffmpeg")
        if found is None:
            raise UserError('providers.ffmpeg.ffmpeg: "path" was asked but no ffmpeg is on PATH')
        return found
    path = Path(setting).expanduser()
    if not path.is_file():
        raise UserError(f"providers.ffmpeg.ffmpeg: no ffmpeg binary at {path}")
    return str(path)


@functools.lru_cache(maxsize=8)
def version(exe: str) -> str:
    """The first line of ``ffmpeg -version`` (cached per binary; a short blocking call)."""
    done = subprocess.run(
        [exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30, check=False
    )
    first = done.stdout.splitlines()[0] if done.stdout else ""
    if done.returncode != 0 or not first:
        raise ProviderError(f"ffmpeg at {exe} does not run: {tail(done.stderr)}")
    return first.strip()


def tail(text: str, limit: int = TAIL_CHARS) -> str:
    """The last ``limit`` characters of ``text``, stripped."""
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


#: A line of ffmpeg's stderr under ``-loglevel level+…``: the contexts (``[in#1 @ 0x…]``), then the
#: level in brackets, then the text. Lines without it continue the line before (loudness summaries).
_TAGGED = re.compile(r"^(?:\[[^\]]*\] )*\[(?P<level>[a-z]+)\] (?P<text>.*)$")
#: The levels of a failure, the most meaningful first: a fatal line sums up why ffmpeg stopped.
_FAILURE_LEVELS = ("panic", "fatal", "error")


def said(stderr: str) -> list[str]:
    """What ffmpeg said about a failure in ``stderr``: its panic, fatal and error lines (no banner,
    configuration or stream listing), the most meaningful first (the last fatal line, else the last
    error line), then the others in order; each once, without its contexts. Its warning lines when
    it gave none of those; empty when it gave neither."""
    tagged = [
        (m["level"], m["text"].strip()[:SAID_CHARS]) for m in map(_TAGGED.match, stderr.splitlines()) if m
    ]
    for levels in (_FAILURE_LEVELS, ("warning",)):
        found = [(level, text) for level, text in tagged if level in levels and text]
        if found:
            # The last line of the most severe level: ffmpeg's own summary of why it stopped.
            first = min(reversed(found), key=lambda line: levels.index(line[0]))[1]
            others = (text for _, text in found if text != first)
            return [first, *dict.fromkeys(others)][:SAID_LINES]
    return []


def failure(what: str, code: int, stderr: str) -> str:
    """The message of a failed ffmpeg run: its most meaningful line first (the one a one-line report
    keeps), its other error lines after; the tail of ``stderr`` when it tagged no line as an error."""
    lines = said(stderr) or [tail(stderr)]
    return "\n".join([f"ffmpeg failed to {what} (exit {code}): {lines[0]}", *lines[1:]])


def command(
    exe: str,
    compiled: Sequence[str],
    *,
    loglevel: str = "warning",
    threads: int = 0,
    global_args: Sequence[str] = (),
) -> list[str]:
    """``compiled`` (ffmpeg-python's ``.compile()``, program name first) with our binary and global flags.

    Every line of ffmpeg's stderr is tagged with its level (``level+``), so a failure's message keeps
    its error lines and not the stream listing printed before them (``said``).
    """
    flags = [
        exe,
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-y",
        "-loglevel",
        f"level+{loglevel}",
        *global_args,
    ]
    if threads:
        flags += ["-filter_threads", str(threads)]
    return flags + list(compiled[1:])


async def run(
    args: Sequence[str],
    *,
    what: str,
    partial: Sequence[Path] = (),
    cwd: Path | None = None,
    feed: Iterable[bytes | memoryview] | None = None,
    stdout: Filled | None = None,
) -> str:
    """Run ffmpeg with ``args``; return its stderr.

    ``feed`` (when given) is iterated in a worker thread and written to ffmpeg's stdin with
    blocking writes (a pipe of our own: large chunks, no event-loop round trip per 64 KiB),
    which is closed after the last chunk (an error making a chunk kills ffmpeg and is raised as
    is); ``stdout`` (when given) receives ffmpeg's stdout, read in a worker thread straight into
    the buffer (again a pipe of our own: no event-loop round trip and no copy per chunk).
    A non-zero exit raises a permanent ``ProviderError`` with ffmpeg's error lines (``failure``).
    On cancellation (or any error) the process is killed and waited for, and ``partial``
    files are removed, so no ffmpeg outlives the call and no half-written file is left.
    """
    stdin_pipe = _pipe() if feed is not None else None
    stdout_pipe = _pipe() if stdout is not None else None
    stdin_end = _End(stdin_pipe[1]) if stdin_pipe else None
    stdout_end = _End(stdout_pipe[0]) if stdout_pipe else None
    ours = [end for end in (stdin_end, stdout_end) if end is not None]
    try:
        process = await anyio.open_process(
            list(args),
            stdin=stdin_pipe[0] if stdin_pipe else subprocess.DEVNULL,
            stdout=stdout_pipe[1] if stdout_pipe else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=cwd,
        )
    except BaseException:
        for end in ours:
            end.close_unused()
        raise
    finally:  # the child's ends: ffmpeg holds them now
        for fd in (stdin_pipe[0] if stdin_pipe else -1, stdout_pipe[1] if stdout_pipe else -1):
            if fd >= 0:
                os.close(fd)
    try:
        return await _communicate(process, what, partial, feed, stdin_end, stdout, stdout_end)
    finally:  # an end whose thread never started (cancelled at once) is closed here
        for end in ours:
            end.close_unused()


def _pipe() -> tuple[int, int]:
    """A pipe (read end, write end), widened to ``PIPE_SIZE`` where the platform allows it."""
    read_end, write_end = os.pipe()
    _widen(write_end)
    return read_end, write_end


class _End:
    """Our end of a pipe to ffmpeg. The thread that reads or writes it takes it (and closes it
    when done); one that ``run`` never got to start leaves it to ``close_unused``: closed once."""

    def __init__(self, fd: int) -> None:
        """Our end ``fd``, not taken yet."""
        self.fd = fd
        self._lock = threading.Lock()
        self._taken = False

    def take(self) -> bool:
        """Claim the end (True once only): the claimer closes it."""
        with self._lock:
            taken, self._taken = self._taken, True
        return not taken

    def close_unused(self) -> None:
        """Close the end if nothing took it."""
        if self.take():
            os.close(self.fd)


async def _communicate(
    process: anyio.abc.Process,
    what: str,
    partial: Sequence[Path],
    feed: Iterable[bytes | memoryview] | None,
    stdin_end: _End | None,
    stdout: Filled | None,
    stdout_end: _End | None,
) -> str:
    """``run`` once ffmpeg started: feed its stdin, read its stdout and stderr, wait for it."""
    stop = threading.Event()
    kept = bytearray()

    async def read_stderr() -> None:
        assert process.stderr is not None
        async for chunk in process.stderr:
            kept.extend(chunk)
            if len(kept) > _STDERR_KEEP:
                del kept[: len(kept) - _STDERR_KEEP]

    async def read_stdout(into: Filled, end: _End) -> None:
        # Ends when ffmpeg's end of the pipe closes: when it exits, or is killed on cancellation.
        await anyio.to_thread.run_sync(_read_all, into, end, abandon_on_cancel=True)

    failed: list[Exception] = []

    async def write_stdin(chunks: Iterable[bytes | memoryview], end: _End) -> None:
        try:
            await anyio.to_thread.run_sync(_write_all, chunks, end, stop, abandon_on_cancel=True)
        except Exception as error:  # noqa: BLE001 - raised below, once ffmpeg is stopped
            failed.append(error)
            process.kill()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(read_stderr)
            if stdout is not None and stdout_end is not None:
                group.start_soon(read_stdout, stdout, stdout_end)
            if feed is not None and stdin_end is not None:
                group.start_soon(write_stdin, feed, stdin_end)
        code = await process.wait()
    except BaseException:
        stop.set()
        with anyio.CancelScope(shield=True):
            if process.returncode is None:
                process.kill()
            await process.wait()
            await process.aclose()
            for path in partial:
                path.unlink(missing_ok=True)
        raise
    await process.aclose()
    if failed:
        for path in partial:
            path.unlink(missing_ok=True)
        raise failed[0]
    stderr = kept.decode("utf-8", "replace")
    if code != 0:
        for path in partial:
            path.unlink(missing_ok=True)
        raise ProviderError(failure(what, code, stderr), transient=False)
    return stderr


#: The pipe buffer asked for on Linux: a raw 720p frame fits, so a frame costs a few writes and
#: wake-ups instead of about twenty with the default 64 KiB.
PIPE_SIZE = 1 << 20


def _widen(fd: int) -> None:
    """Grow the pipe ``fd`` to ``PIPE_SIZE`` where the platform allows it (else keep its size)."""
    try:
        import fcntl  # Unix only
    except ImportError:
        return
    if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux only
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)


async def together(*calls: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``calls`` at once. The first failure cancels the others and is raised as itself (a
    ``ProviderError`` stays a ``ProviderError``, not an exception group)."""
    try:
        async with anyio.create_task_group() as group:
            for call in calls:
                group.start_soon(call)
    except BaseExceptionGroup as failed:
        raise _first(failed) from failed


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first exception of ``group`` (nested groups included) that is not a cancellation."""
    cancelled = anyio.get_cancelled_exc_class()
    flat: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop(0)
        if isinstance(error, BaseExceptionGroup):
            pending[:0] = list(error.exceptions)
        else:
            flat.append(error)
    return next((e for e in flat if not isinstance(e, cancelled)), flat[0])  # a group is never empty


def _read_all(into: Filled, end: _End) -> None:
    """Read our ``end`` of ffmpeg's stdout to its end into ``into`` (blocking; in a worker
    thread), then close it."""
    if not end.take():
        return
    with io.FileIO(end.fd, "rb", closefd=True) as source:
        while into.read_from(source):
            pass


def _write_all(chunks: Iterable[bytes | memoryview], end: _End, stop: threading.Event) -> None:
    """Write ``chunks`` to our ``end`` of ffmpeg's stdin (blocking; in a worker thread), then close it.

    Stops early when ``stop`` is set (the call was cancelled) or ffmpeg stopped reading
    (its exit code and stderr then say why); an error making a chunk propagates.
    """
    if not end.take():
        return
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                if stop.is_set():
                    return
                try:
                    view = view[os.write(end.fd, view) :]
                except BrokenPipeError:
                    return
    finally:
        os.close(end.fd)
