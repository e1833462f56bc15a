"""The library API: ``Pipeline`` runs a brief into a video; the CLI is a thin layer over it.

```python
pipeline = Pipeline.from_entry_points(only=["local", "ffmpeg"])   # or Pipeline(providers=[...])
video = await pipeline.run(load_brief("brief.toml"), out="video.mp4", on_event=print)
```
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import anyio
import tomli_w
from attrs import evolve
from loguru import logger

from aura_core.cache import cache_dir_from_env, open_shared_cache
from aura_core.calls import ProviderCalls
from aura_core.context import PipelineContext
from aura_core.contract import Video
from aura_core.credits import CREDITS_SUFFIX, credits_of, credits_text
from aura_core.errors import AuraError, BriefError, RunFailed, UserError
from aura_core.events import Event, RunFinished, RunStarted
from aura_core.executor import Executor
from aura_core.loader import dump_brief, load_brief, load_brief_bytes
from aura_core.logs import redact, run_log, summarize
from aura_core.metrics import MetricsCollector
from aura_core.output import check_out
from aura_core.planning import plan_script
from aura_core.plugins import PluginHost
from aura_core.preflight import render_problems
from aura_core.registry import ProviderRegistry
from aura_core.report import build_report, report_text, write_report_page
from aura_core.runner import Runner
from aura_core.specs import KINDS, BriefFile, SystemProfile
from aura_core.store import RunStore, atomic_write_text, out_of_space, raise_if_out_of_space

EventHandler = Callable[[Event], Any]


def run_id_for(spec: BriefFile) -> str:
    """The run id: the brief file's name, so running the same brief again continues its run.

    Letters and digits of any script are kept (``日本語.toml`` is ``日本語``); a name with none is ``run``.
    """
    stem = spec.source.stem if spec.source is not None else spec.brief.topic
    slug = re.sub(r"[^\w.-]+", "-", unicodedata.normalize("NFC", stem)).strip("-.").casefold()
    return slug[:60] or "run"


def run_dir_for(spec: BriefFile, runs_dir: str | Path) -> Path:
    """The run directory of a brief under ``runs_dir``: ``<run id>``, unless that one belongs to another brief.

    A run directory records the brief it belongs to (``origin.json``); another brief never continues it,
    and takes ``<run id>-<8 hex digits of its path's hash>`` instead.
    """
    runs_dir = Path(runs_dir)
    run_id = run_id_for(spec)
    mine = str(spec.source) if spec.source is not None else None
    digest = hashlib.sha256((mine or spec.brief.topic).encode()).hexdigest()[:8]
    candidates = (runs_dir / run_id, runs_dir / f"{run_id}-{digest}")
    owner = None
    for folder in candidates:
        origin = read_origin(folder)
        if origin is None or _owns(origin, folder, mine):
            return folder
        owner = origin.get("brief")
    raise UserError(
        f"{candidates[-1]}: belongs to another brief ({owner}); rename {mine or 'the brief'} to give it its own run"
    )


def read_origin(folder: Path) -> dict[str, Any] | None:
    """The run directory's ``origin.json`` (which brief it belongs to), or None when it has none yet."""
    path = folder / "origin.json"
    try:
        origin = json.loads(path.read_bytes())
    except (FileNotFoundError, NotADirectoryError):  # no run there yet (or no folder: found when it is made)
        return None
    except (OSError, ValueError) as exc:  # unreadable, not UTF-8 or not JSON
        detail = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise UserError(_bad_origin(path, detail)) from None
    if not isinstance(origin, dict) or not isinstance(origin.get("brief"), str | None):
        raise UserError(_bad_origin(path, 'expected {"brief": "<path of the brief file>"}'))
    return origin


def _owns(origin: dict[str, Any], folder: Path, brief: str | None) -> bool:
    """Whether the run directory ``folder`` (its ``origin``) belongs to the brief file at ``brief``: the same
    path, or the same place relative to the run directory, so a project folder moved or copied whole
    (the brief and its runs together) keeps its runs."""
    if origin.get("brief") == brief:
        return True
    relative = origin.get("relative")
    return brief is not None and isinstance(relative, str) and (folder / relative).resolve() == Path(brief)


def _brief_of(origin: dict[str, Any], folder: Path) -> Path | None:
    """The brief file a run directory belongs to, where it is now (found by its relative place when moved)."""
    recorded = origin.get("brief")
    relative = origin.get("relative")
    if isinstance(relative, str) and not (recorded and Path(recorded).is_file()):
        moved = (folder / relative).resolve()
        if moved.is_file():
            return moved
    return Path(recorded) if recorded else None


def _check_owner(spec: BriefFile, folder: Path) -> None:
    """``UserError`` when ``folder`` belongs to a brief file other than ``spec``'s: a run is never taken over."""
    origin = read_origin(folder) or {}
    owner = origin.get("brief")
    if owner is not None and spec.source is not None and not _owns(origin, folder, str(spec.source)):
        raise UserError(
            f"{folder}: this run belongs to the brief {owner}; run {spec.source} in another run directory"
        )


def _bad_origin(path: Path, detail: str | None) -> str:
    return (
        f"{path}: not a run record aura wrote ({detail});"
        f" delete this file to keep the run's work, or the folder {path.parent} to start over"
    )


def first_error(exc: BaseException) -> BaseException:
    """The error to report from an exception group: a user error or run failure before anything else."""
    if isinstance(exc, BaseExceptionGroup):
        inner = [first_error(e) for e in exc.exceptions]
        for wanted in (UserError, RunFailed, AuraError):
            for e in inner:
                if isinstance(e, wanted):
                    return e
        non_cancel = [e for e in inner if not isinstance(e, anyio.get_cancelled_exc_class())]
        return (non_cancel or inner)[0]
    return exc


def _folder_problem(folder: Path, exc: OSError) -> AuraError:
    """A run directory that cannot be made or written: a full disk is a fault (exit 1), the rest the user's to fix."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return RunFailed(f"{folder}: {exc.strerror}; free some space, then run again")
    return UserError(
        f"{folder}: cannot be used as a run directory ({exc.strerror or exc}); choose a writable --runs-dir"
    )


class Pipeline:
    """A set of providers (from plugins or given directly) and where runs are kept."""

    def __init__(
        self,
        providers: Iterable[Any] = (),
        *,
        host: PluginHost | None = None,
        runs_dir: str | Path = "runs",
        executor: Executor | None = None,
    ) -> None:
        self.host = host
        self.executor = executor
        self.registry = ProviderRegistry()
        if host is not None:
            host.register_providers(self.registry.register)
        for provider in providers:  # the app's own objects win over a plugin's of the same kind and name
            self.registry.register(provider, plugin="(app)", strict=True)
        self.runs_dir = Path(runs_dir)

    @classmethod
    def from_entry_points(cls, only: Iterable[str] | str | None = None, **kwargs: Any) -> Pipeline:
        """A pipeline with the installed plugins' providers (all, or the plugins named in ``only``)."""
        return cls(host=PluginHost.from_entry_points(only), **kwargs)

    async def run(
        self,
        spec: BriefFile | str | Path,
        *,
        out: str | Path | None = None,
        run_dir: str | Path | None = None,
        fresh: bool = False,
        on_event: EventHandler | None = None,
        streaming: bool = True,
    ) -> Video:
        """Make the video for a brief; a run directory that exists is continued unless ``fresh``."""
        if not isinstance(spec, BriefFile):
            spec = load_brief(spec)
        folder = Path(run_dir) if run_dir is not None else run_dir_for(spec, self.runs_dir)
        out = check_out(out, spec, folder) if out is not None else None
        return await self._run(spec, folder, out, on_event, streaming, fresh=fresh)

    async def resume(
        self, run_dir: str | Path, *, out: str | Path | None = None, on_event: EventHandler | None = None
    ) -> Video:
        """Continue the run in ``run_dir`` from its own copy of the brief; finished work is not redone."""
        folder = Path(run_dir)
        copy = folder / "brief.toml"
        if not copy.is_file():
            raise UserError(f"{folder}: not an aura run directory (no brief.toml)")
        source = _brief_of(read_origin(folder) or {}, folder.resolve()) or copy
        spec = load_brief_bytes(copy.read_bytes(), source, shown=str(copy))
        out = check_out(out, spec, folder) if out is not None else None
        return await self._run(spec, folder, out, on_event, True)

    async def _run(
        self,
        spec: BriefFile,
        folder: Path,
        out: str | Path | None,
        on_event: EventHandler | None,
        streaming: bool,
        *,
        fresh: bool = False,
    ) -> Video:
        root = cache_dir_from_env()
        # --fresh means "make everything again": the shared cache is neither read nor fed then.
        shared = open_shared_cache(root) if root is not None and not fresh else None
        # A full disk can strike any write (journal, artifacts, logs, a provider's file): one line for all.
        try:
            # takes the lock before anything in the folder is touched
            store = RunStore(folder, shared, fresh=fresh)
        except Exception as exc:
            if shared is not None:
                shared.close()
            raise_if_out_of_space(exc, folder)
            if isinstance(exc, OSError):
                raise _folder_problem(folder, exc) from None
            raise
        try:
            _check_owner(spec, folder)  # again under the lock: another brief may have taken the folder since
            return await self._run_locked(spec, store, out, on_event, streaming)
        except Exception as exc:
            raise_if_out_of_space(
                exc, folder
            )  # before tmp/ is emptied: a tool's partial file shows the disk full
            raise
        finally:
            store.clean_tmp()
            store.close()

    async def _run_locked(
        self,
        spec: BriefFile,
        store: RunStore,
        out: str | Path | None,
        on_event: EventHandler | None,
        streaming: bool,
    ) -> Video:
        folder = store.run_dir
        run_id = folder.name
        self._record_inputs(spec, folder)
        metrics = MetricsCollector()
        ctx = PipelineContext(
            spec=spec, run_id=run_id, run_dir=folder, plan=plan_script(spec), system=SystemProfile.detect()
        )
        with run_log(folder / "run.log", run_id) as log:
            ctx.observers.append(metrics)
            ctx.observers.append(
                lambda e: log.trace("{}", json.dumps(e.to_dict(), ensure_ascii=False, default=str))
            )
            if self.host is not None:
                ctx.observers.append(self.host.emit)
            if on_event is not None:
                ctx.observers.append(on_event)
            calls = ProviderCalls.build(ctx, store, self.registry, self.executor)
            # Before the first (maybe paid) call: what the composers can tell from the brief alone.
            problems = await render_problems(
                spec.render, [link.provider for link in calls.chains["composer"]]
            )
            if problems:
                where = f"{spec.source}: " if spec.source is not None else ""
                raise BriefError(where + problem for problem in problems)
            ctx.transition("running")
            store.set_meta("state", "running")
            log.info(
                "run started: {} scenes planned, {} words, chains {}",
                ctx.plan.scene_count,
                ctx.plan.word_target,
                {k: calls.names(k) for k in KINDS},
            )
            ctx.emit(
                RunStarted(
                    run_id=run_id,
                    scene_count=ctx.plan.scene_count,
                    word_target=ctx.plan.word_target,
                    chains={k: calls.names(k) for k in KINDS},
                )
            )
            started = time.monotonic()
            try:
                try:
                    video = await Runner(ctx, calls, store, streaming=streaming).run()
                except BaseExceptionGroup as group:
                    raise first_error(group) from None
                video = self._publish(store, video, folder, out)
                if spec.render.credits:
                    self._write_credits(ctx, folder, out)
            except anyio.get_cancelled_exc_class():
                self._finish(ctx, store, calls, metrics, "cancelled", None)
                raise
            except KeyboardInterrupt:
                self._finish(ctx, store, calls, metrics, "cancelled", None)
                raise
            except BaseException as exc:
                message = summarize(str(exc)) or type(exc).__name__
                ctx.errors.append(message)
                if isinstance(exc, AuraError):
                    log.error("run failed: {}", message)
                else:
                    log.opt(exception=exc).error("run failed with an unexpected error: {}", message)
                self._finish(ctx, store, calls, metrics, "failed", message)
                raise
            ctx.video = video
            log.info("run finished in {:.2f}s: {}", time.monotonic() - started, video.path)
            self._finish(ctx, store, calls, metrics, "succeeded", None)
            return video

    def _record_inputs(self, spec: BriefFile, folder: Path) -> None:
        """Keep the brief as given (no secrets: keys come only from the environment) and where it came from."""
        copy = folder / "brief.toml"
        if spec.source is not None and spec.source.is_file():
            if spec.source.resolve() != copy.resolve():
                atomic_write_text(copy, spec.source.read_text(encoding="utf-8"))
        elif not copy.exists():
            atomic_write_text(copy, _to_toml(dump_brief(spec)))
        origin: dict[str, str | None] = {"brief": None}
        if spec.source is not None:
            origin = {"brief": str(spec.source), "relative": os.path.relpath(spec.source, folder.resolve())}
        atomic_write_text(folder / "origin.json", json.dumps(origin))

    def _publish(self, store: RunStore, video: Video, folder: Path, out: str | Path | None) -> Video:
        """Put the finished video (and captions, thumbnail) at ``final.*`` and at ``out``."""
        final = folder / f"final{video.path.suffix}"
        store.publish(video.path, final)
        captions = None
        if video.captions_path is not None:
            captions = folder / f"final{video.captions_path.suffix}"
            store.publish(video.captions_path, captions)
            for sidecar in video.captions_path.parent.glob(f"{video.captions_path.stem}.*"):
                if sidecar.suffix in {".vtt", ".srt", ".ass"} and sidecar != video.captions_path:
                    store.publish(sidecar, folder / f"final{sidecar.suffix}")
        thumbnail = None
        if video.thumbnail_path is not None:
            thumbnail = folder / f"final.thumbnail{video.thumbnail_path.suffix}"
            store.publish(video.thumbnail_path, thumbnail)
        published = evolve(video, path=final, captions_path=captions, thumbnail_path=thumbnail)
        if out is not None:
            target = Path(out)
            store.publish(video.path, target)
            if video.captions_path is not None:
                store.publish(video.captions_path, target.with_suffix(video.captions_path.suffix))
            published = evolve(published, path=target)
        return published

    def _write_credits(self, ctx: PipelineContext, folder: Path, out: str | Path | None) -> None:
        """``[render] credits``: the visuals' credits as text beside the video, in the run and at ``out``."""
        text = redact(credits_text(credits_of({i: scene.picture for i, scene in ctx.scenes.items()})))
        atomic_write_text(folder / f"final{CREDITS_SUFFIX}", text)
        if out is not None:
            atomic_write_text(Path(out).with_suffix(CREDITS_SUFFIX), text)

    def _finish(
        self,
        ctx: PipelineContext,
        store: RunStore,
        calls: ProviderCalls,
        metrics: MetricsCollector,
        state: str,
        error: str | None,
    ) -> None:
        ctx.transition(state)
        ctx.emit(
            RunFinished(
                run_id=ctx.run_id, state=state, video=str(ctx.video.path) if ctx.video else None, error=error
            )
        )
        text = report_text(build_report(ctx, calls, metrics, store))
        try:
            store.set_meta("state", state)
            atomic_write_text(ctx.run_dir / "report.json", text)
        except Exception as exc:
            if state == "succeeded" or out_of_space(exc, ctx.run_dir) is None:
                raise
            # The run already failed or was stopped (maybe by the full disk): keep that outcome, not this one.
            logger.bind(run_id=ctx.run_id).warning("the run's state and report not written: {}", exc)
            return
        write_report_page(ctx.run_dir, text, ctx.run_id)


def _to_toml(data: dict[str, Any]) -> str:
    """The brief (``dump_brief``'s data) as TOML that ``load_brief`` reads back: a brief given as objects.

    tomli-w quotes keys and strings as TOML needs (``[providers."my.plugin"]``, quotes, unicode) and writes
    nested tables; TOML has no null, so an unset value is left out, as it would be in a hand-written brief.
    """
    providers = data.pop("providers", {})
    tables: dict[str, Any] = {
        table: {key: value for key, value in fields.items() if value is not None}
        for table, fields in data.items()
    }
    tables["providers"] = {**providers.get("chains", {}), **providers.get("settings", {})}
    return tomli_w.dumps(tables)
