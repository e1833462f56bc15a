"""Logging: loguru lines in the run directory, each carrying the run id, with secrets redacted."""

from __future__ import annotations

import inspect
import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from loguru import logger

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$", re.IGNORECASE)


def secret_values() -> list[str]:
    """Values of environment variables whose names say they are secrets (``*_API_KEY``, ``*_TOKEN``…)."""
    return sorted(
        (v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 8), key=len, reverse=True
    )


#: The secrets of the run being logged (read once when its log opens), else None: read afresh.
_run_secrets: list[str] | None = None


#: A bearer token in a quoted header, and words shaped like API keys (``sk-…``, ``key_…``, ``api-key-…``):
#: a server may echo a key aura never saw in the environment (a brief's own, a proxy's).
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)
_KEY_SHAPED = re.compile(r"\b(sk|key|api[_-]?key)[-_][A-Za-z0-9_\-*.]{6,}", re.IGNORECASE)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret replaced by ``***``: those from the environment, the given ``secrets``
    (a provider's own key; ones under 4 characters are ignored), bearer tokens and key-shaped words.

    The one redactor of aura: logs, messages, events and providers' errors all go through it.
    """
    given = sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True)
    for value in [*given, *(_run_secrets if _run_secrets is not None else secret_values())]:
        if value in text:
            text = text.replace(value, "***")
    text = _BEARER.sub(r"\1***", text)
    return _KEY_SHAPED.sub("***", text)


#: The longest error text kept in a message, an event or the report (a provider may quote a whole response).
SUMMARY_LIMIT = 2000


def summarize(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """``text`` on one line, for error messages, events and the report: every non-blank line, stripped,
    joined with `` | ``; secrets redacted; past ``limit`` characters its middle is cut (a tool's real
    error is often its last line, the provider's own words its first)."""
    line = " | ".join(part.strip() for part in redact(text).splitlines() if part.strip())
    if len(line) <= limit:
        return line
    keep = (limit - 3) // 2
    return f"{line[:keep]} … {line[len(line) - keep :]}"


def _patch(record: Any) -> None:
    record["message"] = redact(record["message"])
    if record["exception"] is not None:
        # loguru formats the traceback itself; make sure a secret in an exception text cannot reach it.
        exc = record["exception"].value
        if exc is not None and exc.args:
            exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)


logger.configure(patcher=_patch)

#: The id of the run whose ``run_log`` is open in this context (tasks and worker threads inherit it), else None.
_current_run: ContextVar[str | None] = ContextVar("aura_run_id", default=None)


class InterceptHandler(logging.Handler):
    """A stdlib ``logging`` handler that hands every record to loguru (the recipe in loguru's documentation).

    A record made while a run is on carries that run's id, so it lands in the run's ``run.log``.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Pass ``record`` on to loguru, at its level, attributed to the code that logged it."""
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        # Find the frame that called logging, so loguru names the dependency's module, not this handler.
        frame, depth = inspect.currentframe(), 0
        while frame is not None and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame = frame.f_back
            depth += 1
        run_id = _current_run.get()
        bound = logger.bind(run_id=run_id) if run_id is not None else logger
        bound.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def route_stdlib_logging(level: int = logging.INFO) -> None:
    """Send the stdlib ``logging`` records of every dependency (httpx, openai, stamina…) into loguru.

    For applications (the CLI calls it): without it Python prints a dependency's warnings raw on stderr.
    """
    logging.basicConfig(handlers=[InterceptHandler()], level=level, force=True)


class _LogFile:
    """``run.log`` as loguru's sink: a line that cannot be written (a full disk) is dropped and remembered.

    loguru's own file sink would print a traceback on stderr for every line it cannot write.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.error: OSError | None = None
        self._handle = path.open("a", encoding="utf-8")

    def write(self, message: str) -> None:
        """Append one formatted record, unless an earlier one failed (the log would have a hole anyway)."""
        if self.error is not None:
            return
        try:
            self._handle.write(message)
            self._handle.flush()
        except OSError as exc:
            self.error = exc

    def close(self) -> None:
        """Close the file; what could not be flushed is already counted as lost."""
        try:
            self._handle.close()
        except OSError as exc:
            self.error = self.error or exc


@contextmanager
def run_log(path: Path, run_id: str) -> Iterator[Any]:
    """Log everything bound to ``run_id`` into ``path`` while the block runs; yields the bound logger.

    When lines could not be written and the block itself ended well, one warning (on stderr) says so.
    """
    log_file = _LogFile(path)
    sink = logger.add(
        log_file,
        level="TRACE",
        format="{time:YYYY-MM-DD HH:mm:ss.SSS} {level: <7} [{extra[run_id]}] {message}",
        filter=lambda record: record["extra"].get("run_id") == run_id,
        enqueue=False,
        catch=False,
    )
    global _run_secrets
    _run_secrets = secret_values()  # a run's every log line is redacted: scan the environment once
    token = _current_run.set(run_id)
    try:
        yield logger.bind(run_id=run_id)
    finally:
        _current_run.reset(token)
        _run_secrets = None
        logger.remove(sink)
        log_file.close()
    if log_file.error is not None:
        logger.warning("{}: some lines were not written: {}", path, log_file.error)
