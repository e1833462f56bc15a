"""The ``aura`` command line: a thin layer over the library API.

Exit codes: 0 success, 1 a run that failed (its finished work is kept), 2 a user mistake, 130 interrupted.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import anyio
import click
from loguru import logger

from aura_core import __name__ as _pkg
from aura_core.errors import AuraError, BriefError, RunFailed, UserError
from aura_core.logs import redact, route_stdlib_logging
from aura_core.members import optional_member

F = TypeVar("F", bound=Callable[..., Any])


def _to_stderr(message: str) -> None:
    sys.stderr.write(message)


def _setup_logging(verbose: bool = False) -> None:
    logger.remove()
    logger.enable(_pkg)  # the library is silent until an application (this one) asks for its lines
    route_stdlib_logging()  # dependencies' stdlib records reach run.log or the line below, never raw
    # loguru's format strings cannot call methods: build the prefix in a function. A run's own records
    # go to its run.log; on stderr the CLI reports the run's outcome itself (once), unless --verbose.
    logger.add(
        # sys.stderr looked up per line: while rich's progress bars are live it is their proxy, which prints
        # the line above the bars instead of through them.
        _to_stderr,
        level="DEBUG" if verbose else "WARNING",
        format=lambda record: f"aura: {record['level'].name.lower()}: {{message}}\n",
        filter=lambda record: verbose or "run_id" not in record["extra"],
    )


def _fail(exc: BaseException) -> NoReturn:
    """Print a user-facing error (no traceback for anything aura raised on purpose) and exit."""
    if isinstance(exc, BriefError):
        for line in exc.problems:
            click.echo(f"aura: error: {redact(line)}", err=True)
    else:
        click.echo(f"aura: error: {redact(str(exc))}", err=True)
    raise SystemExit(exc.exit_code if isinstance(exc, AuraError) else 1)


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """Treat SIGTERM (``docker stop``, systemd, ``kill``) as Ctrl-C: the run is cancelled, reported and cleaned up.

    The signal is handed to whatever handles SIGINT at that moment (the event loop's own handler while a
    run is on, so cancellation unwinds through the pipeline exactly as Ctrl-C does), else ``KeyboardInterrupt``.
    """

    def on_sigterm(_signum: int, frame: Any) -> None:
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:  # SIGINT ignored or default (a background job): stop as Python's default Ctrl-C handler would
            raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _guarded(fn: Callable[[], Any]) -> Any:
    try:
        with _sigterm_as_ctrl_c():
            return fn()
    except KeyboardInterrupt:
        click.echo("aura: interrupted; finished work is kept (aura resume continues it)", err=True)
        raise SystemExit(130) from None
    except AuraError as exc:
        _fail(exc)
    except OSError as exc:
        if exc.errno not in {errno.ENOSPC, errno.EDQUOT}:
            raise
        # A run maps its own full disk (with how to resume); this is any other command's write.
        where = Path(exc.filename).parent if isinstance(exc.filename, str) else Path.cwd()
        _fail(RunFailed(f"no space left on device under {where}: free space, then try again"))
    return None


def _event_sink(as_json: bool) -> tuple[Callable[[Any], None] | None, Any]:
    if as_json:
        from aura_core.progress import JsonLines

        return JsonLines(), None
    if sys.stderr.isatty():
        from aura_core.progress import RichBars

        bars = RichBars()
        return bars, bars
    return None, None


class AuraGroup(click.Group):
    """The root group: plugin commands are added the first time commands are listed or resolved."""

    _loaded = False

    def _load_plugin_commands(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        from aura_core.plugins import PluginHost

        # `aura --help` lists commands before the root callback sets up logging: a plugin's warning
        # must already be the CLI's one line, not loguru's default record.
        _setup_logging()
        try:
            PluginHost.from_entry_points().register_commands(self)
        except UserError as exc:
            _fail(exc)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._load_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command


@click.group(cls=AuraGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aura-core", prog_name="aura")
@click.option("-v", "--verbose", is_flag=True, help="Show debug logs on stderr.")
def cli(verbose: bool) -> None:
    """aura turns a short brief into a finished, narrated video."""
    _setup_logging(verbose)


def _plugins_option(fn: F) -> F:
    return click.option(
        "--plugins",
        metavar="A,B",
        default=None,
        help="Load only these plugins (comma-separated; default: AURA_LOAD_PLUGINS, else all installed).",
    )(fn)


def _run_options(fn: F) -> F:
    fn = click.option("--json", "as_json", is_flag=True, help="Print every event as a JSON line on stdout.")(
        fn
    )
    fn = click.option(
        "--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the video here."
    )(fn)
    return _plugins_option(fn)


def _executor_options(fn: F) -> F:
    fn = click.option(
        "--ray-address",
        metavar="ADDR",
        envvar="RAY_ADDRESS",
        show_envvar=True,
        default=None,
        help="The Ray cluster to join with --executor ray (default: a local cluster started for this run).",
    )(fn)
    return click.option(
        "--executor",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="Where provider calls run: in this process, or as tasks on a Ray cluster (needs aura-core[ray]).",
    )(fn)


def _executor(name: str, address: str | None) -> Any:
    """The executor for ``--executor``: None (in-process) or a started RayExecutor (Ray imported only here)."""
    if name != "ray":
        return None
    from aura_core.ray_executor import RayExecutor

    executor = RayExecutor(address)
    executor.start()  # before the event loop: joining a cluster takes a few seconds
    return executor


@cli.command()
@click.argument("brief", type=click.Path(path_type=Path))
@_run_options
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs"),
    show_default=True,
    help="Where run directories live.",
)
@click.option("--fresh", is_flag=True, help="Start the run over instead of continuing it.")
@click.option("--no-streaming", is_flag=True, hidden=True, help="Run stage by stage (benchmark baseline).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan (calls, stored results reused, cost) without calling any provider.",
)
@_executor_options
def run(
    brief: Path,
    plugins: str | None,
    out: Path | None,
    as_json: bool,
    runs_dir: Path,
    fresh: bool,
    no_streaming: bool,
    dry_run: bool,
    executor: str,
    ray_address: str | None,
) -> None:
    """Render BRIEF (a .toml brief file) into a video; continues the brief's run if it exists."""
    from aura_core.loader import load_brief
    from aura_core.pipeline import Pipeline

    def go() -> None:
        spec = load_brief(brief)
        if dry_run:
            _dry_run(spec, plugins, runs_dir, fresh, as_json, out)
            return
        pipeline = Pipeline.from_entry_points(
            plugins, runs_dir=runs_dir, executor=_executor(executor, ray_address)
        )
        video = _execute(
            lambda on_event: pipeline.run(
                spec, out=out, fresh=fresh, on_event=on_event, streaming=not no_streaming
            ),
            as_json,
        )
        _report_video(video, as_json)

    _guarded(go)


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@_run_options
@_executor_options
def resume(
    run_dir: Path,
    plugins: str | None,
    out: Path | None,
    as_json: bool,
    executor: str,
    ray_address: str | None,
) -> None:
    """Continue the run in RUN_DIR: finished work is reused, only what is missing is made."""
    from aura_core.pipeline import Pipeline

    def go() -> None:
        if not run_dir.is_dir():
            raise UserError(f"{run_dir}: no such run directory")
        pipeline = Pipeline.from_entry_points(plugins, executor=_executor(executor, ray_address))
        video = _execute(lambda on_event: pipeline.resume(run_dir, out=out, on_event=on_event), as_json)
        _report_video(video, as_json)

    _guarded(go)


@cli.command()
@click.argument("briefs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs"),
    show_default=True,
    help="Where run directories live (one per brief, named after its file).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="How many briefs run at once.",
)
@click.option("--fresh", is_flag=True, help="Start every run over instead of continuing it.")
@_plugins_option
@_executor_options
def batch(
    briefs: tuple[Path, ...],
    runs_dir: Path,
    concurrency: int,
    fresh: bool,
    plugins: str | None,
    executor: str,
    ray_address: str | None,
) -> None:
    """Render many BRIEFS (brief files, or folders of *.toml briefs), several at once, with a summary.

    Exit 0 when every brief made its video, 1 when any failed (the others still finish), 2 for a usage mistake.
    """
    import time

    from aura_core.batch import BriefResult, find_briefs, run_batch, summary_table
    from aura_core.pipeline import Pipeline

    def progress(result: BriefResult) -> None:
        detail = f": {result.error}" if result.error else ""
        click.echo(f"aura: {result.brief.name}: {result.state} in {result.seconds:.1f}s{detail}", err=True)

    def go() -> None:
        found = find_briefs(briefs)
        pipeline = Pipeline.from_entry_points(
            plugins, runs_dir=runs_dir, executor=_executor(executor, ray_address)
        )

        async def main() -> list[BriefResult]:
            return await run_batch(pipeline, found, concurrency=concurrency, fresh=fresh, on_result=progress)

        started = time.monotonic()
        results = anyio.run(main, backend=os.environ.get("AURA_ASYNC_BACKEND", "asyncio"))
        click.echo(summary_table(results, time.monotonic() - started))
        if not all(r.ok for r in results):
            raise SystemExit(1)

    _guarded(go)


def _execute(start: Callable[[Any], Any], as_json: bool) -> Any:
    sink, context = _event_sink(as_json)

    async def main() -> Any:
        return await start(sink)

    backend = os.environ.get("AURA_ASYNC_BACKEND", "asyncio")
    if context is not None:
        with context:
            return anyio.run(main, backend=backend)
    return anyio.run(main, backend=backend)


def _report_video(video: Any, as_json: bool) -> None:
    if as_json:
        return
    click.echo(
        f"{video.path}  {video.duration:.2f}s  {video.width}x{video.height}@{video.fps:g}  {video.size_bytes} bytes"
    )


@cli.command("plugins")
@_plugins_option
def plugins_command(plugins: str | None) -> None:
    """List the loaded plugins as JSON: name, distribution, version, hooks, providers."""
    from aura_core.plugins import PluginHost
    from aura_core.registry import ProviderRegistry

    def go() -> None:
        host = PluginHost.from_entry_points(plugins)
        host.register_providers(ProviderRegistry().register)
        # On a scratch group: a plugin whose commands fail is named here too.
        host.register_commands(click.Group())
        data = [
            {
                "name": i.name,
                "distribution": i.distribution,
                "version": i.version,
                "hooks": list(i.hooks),
                "providers": list(i.providers),
            }
            for i in sorted(host.infos.values(), key=lambda i: i.name)
        ]
        click.echo(json.dumps(data, indent=2))

    _guarded(go)


async def _availability(provider: Any) -> tuple[bool, str]:
    check = optional_member(provider, "check")
    if not callable(check):
        return True, "no check"
    try:
        with anyio.fail_after(10):
            result = await check()
    except Exception as exc:  # noqa: BLE001 - a failing check is reported, not raised
        return False, f"check failed: {type(exc).__name__}: {exc}"
    return bool(result.ok), str(result.detail)


@cli.command()
@_plugins_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def providers(plugins: str | None, as_json: bool) -> None:
    """List providers by kind with their availability (from each provider's check())."""
    from aura_core.pipeline import Pipeline
    from aura_core.specs import KINDS

    def go() -> None:
        pipeline = Pipeline.from_entry_points(plugins)
        registry = pipeline.registry

        async def collect() -> list[dict[str, Any]]:
            rows = []
            for kind in KINDS:
                for provider in registry.of_kind(kind):
                    ok, detail = await _availability(provider)
                    rows.append(
                        {
                            "kind": kind,
                            "name": provider.name,
                            "plugin": registry.plugin_of[(kind, provider.name)],
                            "available": ok,
                            "detail": redact(detail),
                            "auto": bool(optional_member(provider, "auto")),
                        }
                    )
            return rows

        rows = anyio.run(collect)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        for row in rows:
            mark = "ok " if row["available"] else "-- "
            auto = " (default)" if row["auto"] else ""
            click.echo(f"{row['kind']:<9}{mark}{row['name']:<14}{row['plugin']:<12}{row['detail']}{auto}")

    _guarded(go)


@cli.command()
@_plugins_option
def doctor(plugins: str | None) -> None:
    """Check this machine: ffmpeg, fonts, disk space, API keys, providers reachable."""
    from aura_core.pipeline import Pipeline
    from aura_core.specs import KINDS, SystemProfile

    def go() -> None:
        system = SystemProfile.detect()
        problems = 0

        def line(ok: bool, what: str, detail: str) -> None:
            nonlocal problems
            problems += 0 if ok else 1
            click.echo(f"{'ok' if ok else '!!'}  {what:<22}{detail}")

        line(system.ffmpeg is not None, "ffmpeg", system.ffmpeg or "not found (install aura-plugins-ffmpeg)")
        free = shutil.disk_usage(Path.cwd()).free
        line(free > 2 * 1024**3, "disk space", f"{free / 1024**3:.1f} GiB free here")
        line(
            True,
            "cores / memory",
            f"{system.cores} cores, {system.memory_bytes / 1024**3:.1f} GiB, GPU: {system.gpu or 'none'}",
        )
        pipeline = Pipeline.from_entry_points(plugins)
        fonts = _shipped_fonts(pipeline)
        line(
            bool(fonts),
            "fonts",
            ", ".join(fonts) if fonts else "no loaded plugin ships a font (captions need one)",
        )
        keys = sorted(k for k in os.environ if k.endswith("_API_KEY"))
        line(True, "API keys present", ", ".join(keys) or "none (offline providers only)")
        for kind in KINDS:
            usable = 0
            for provider in pipeline.registry.of_kind(kind):
                ok, detail = anyio.run(_availability, provider)
                usable += ok
                # An unavailable provider is information, not a problem, while another one of its kind works.
                click.echo(
                    f"{'ok' if ok else '--'}  {kind + ' ' + provider.name:<22}{redact(detail) or 'available'}"
                )
            line(usable > 0, f"{kind} providers", f"{usable} available")
        if pipeline.host is not None:
            # On a scratch group: a plugin whose commands fail is a problem to list.
            pipeline.host.register_commands(click.Group())
            for failure in pipeline.host.failures:
                line(False, f"plugin {failure.name}", failure.error)
        if problems:
            raise SystemExit(1)

    _guarded(go)


def _shipped_fonts(pipeline: Any) -> list[str]:
    """Font files inside the packages of the loaded plugins."""
    fonts: list[str] = []
    if pipeline.host is None:
        return fonts
    for name, module in pipeline.host.pm.list_name_plugin():
        folder = Path(getattr(module, "__file__", "") or ".").parent
        if folder != Path("."):
            fonts.extend(f"{f.name} ({name})" for f in sorted(folder.rglob("*.[to]tf")))
    return fonts


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default=Path("brief.toml"))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented starter brief to PATH (default brief.toml)."""
    from aura_core.starter import STARTER_BRIEF

    if path.exists() and not force:
        _fail(UserError(f"{path}: already exists (use --force to overwrite)"))
    if not path.parent.exists():  # a typo in a folder name should not make folders: the user creates them
        _fail(
            UserError(
                f"{path}: the folder {path.parent} does not exist; create it first, or choose another path"
            )
        )
    try:
        path.write_text(STARTER_BRIEF.format(name=path), encoding="utf-8")
    except OSError as exc:
        _fail(UserError(f"{path}: cannot be written ({exc.strerror}); choose a writable folder"))
    click.echo(f"wrote {path}; edit the topic, then: aura run {path}")


@cli.group()
def cache() -> None:
    """The shared artifact cache (on with AURA_CACHE=on or AURA_CACHE_DIR=PATH)."""


def _open_cache() -> Any:
    from aura_core.cache import SharedCache, cache_dir_from_env

    root = cache_dir_from_env()
    if root is None:
        _fail(UserError("the shared cache is off; turn it on with AURA_CACHE=on or AURA_CACHE_DIR=PATH"))
    try:
        return SharedCache(root)
    except UserError as exc:  # a damaged index: the line names it and says what to do
        _fail(exc)


@cache.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def cache_info(as_json: bool) -> None:
    """Where the shared cache is, and how many results and bytes it holds by kind."""
    shared = _open_cache()
    data = shared.info()
    shared.close()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"{data['path']}: {data['entries']} results, {data['bytes'] / 1024**2:.1f} MiB")
    for kind, row in sorted(data["by_kind"].items()):
        click.echo(f"  {kind:<9}{row['entries']:>6} results {row['bytes'] / 1024**2:>9.1f} MiB")


@cache.command("prune")
@click.option(
    "--older-than", metavar="DURATION", help='Drop results unused for this long ("30d", "12h", "90m").'
)
@click.option(
    "--max-size", metavar="SIZE", help='Then drop the least recently used until it fits ("500MB", "2GB").'
)
@click.option("--all", "everything", is_flag=True, help="Drop every result.")
def cache_prune(older_than: str | None, max_size: str | None, everything: bool) -> None:
    """Make the shared cache smaller; runs keep their own copies."""
    if not (older_than or max_size or everything):
        _fail(UserError("cache prune: say what to drop: --older-than, --max-size or --all"))
    try:
        age = _parse_age(older_than) if older_than else None
    except ValueError as exc:
        _fail(UserError(f"cache prune --older-than: {exc}"))
    try:
        size = _parse_size(max_size) if max_size else None
    except ValueError as exc:
        _fail(UserError(f"cache prune --max-size: {exc}"))
    shared = _open_cache()
    removed, freed = shared.prune(older_than=age, max_bytes=size)
    shared.close()
    click.echo(f"removed {removed} results, freed {freed / 1024**2:.1f} MiB")


def _parse_age(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    value, unit = text[:-1], text[-1:].lower()
    if unit not in units or not value.replace(".", "", 1).isdigit():
        raise ValueError(f'expected a duration like "30d", "12h" or "90m", got {text!r}')
    return float(value) * units[unit]


def _parse_size(text: str) -> int:
    units = {"kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4, "b": 1}
    lowered = text.strip().lower()
    for unit, factor in units.items():
        number = lowered.removesuffix(unit)
        if lowered.endswith(unit) and number.replace(".", "", 1).isdigit():
            return int(float(number) * factor)
    raise ValueError(f'expected a size like "500MB" or "2GB", got {text!r}')


def _dry_run(
    spec: Any, plugins: str | None, runs_dir: Path, fresh: bool, as_json: bool, out: Path | None
) -> None:
    """``aura run --dry-run``: print the plan; exit 2 when a kind has no available provider, a composer
    finds a problem in the render settings, or --out is unusable."""
    from aura_core.dryrun import dry_run
    from aura_core.output import check_out
    from aura_core.pipeline import Pipeline, run_dir_for

    folder = run_dir_for(spec, runs_dir)
    if out is not None:
        check_out(out, spec, folder)
    pipeline = Pipeline.from_entry_points(plugins, runs_dir=runs_dir)
    plan = anyio.run(lambda: dry_run(pipeline.registry, spec, folder, fresh=fresh))
    if as_json:
        click.echo(redact(json.dumps(plan.to_dict(), indent=2)))
    else:
        for line in plan.lines():
            click.echo(redact(line))
    if not plan.ok:
        _fail(UserError("; ".join(plan.problems)))


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
def report(run_dir: Path) -> None:
    """Write RUN_DIR/report.html again from its report.json and print its path."""
    from aura_core.report_html import write_report_html

    def go() -> None:
        if not (run_dir / "report.json").is_file():
            raise UserError(f"{run_dir}: no report.json (not a run directory, or its run never finished)")
        click.echo(write_report_html(run_dir).resolve())

    _guarded(go)


def main() -> None:
    """Entry point of the ``aura`` script."""
    cli(prog_name="aura")


__all__ = ["cli", "main"]
_ = _pkg
