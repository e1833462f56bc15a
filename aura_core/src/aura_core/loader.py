"""Load a brief file (TOML) into a ``BriefFile`` through a private cattrs converter.

Every problem in the file becomes one line naming its path (``plan.duration: expected a duration
like "60s", got "soon"``); no traceback ever reaches the user.
"""

from __future__ import annotations

import errno
import math
import stat
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import evolve

from aura_core._converters import base_converter, messages, one_of
from aura_core.errors import BriefError
from aura_core.planning import SECONDS_PER_SCENE
from aura_core.specs import (
    KINDS,
    MAX_DURATION,
    MAX_SCENES,
    MIN_DURATION,
    SHORT_TEXT_CHARS,
    Brief,
    BriefFile,
    PlanSpec,
    ProvidersSpec,
    RenderSpec,
    VoiceSpec,
    control_character,
    frame_size,
    parse_duration,
)

_TABLES = ("brief", "plan", "voice", "render", "providers")

#: The largest brief file read (1 MiB): a brief is a few hundred bytes; anything far larger is a wrong path.
MAX_BRIEF_BYTES = 1024 * 1024

_converter = base_converter()


def _literal_problems(table: str, raw: Mapping[str, Any], cls: type) -> list[tuple[str, str]]:
    """The keys of ``raw`` whose value is not one of their Literal field's choices, with their lines.

    Found before structuring so that the table's attrs validators still run on the other keys:
    one bad choice must not hide a second problem in the same table.
    """
    problems = []
    hints = typing.get_type_hints(cls)
    for key, value in raw.items():
        hint = hints.get(key)
        if typing.get_origin(hint) is typing.Literal:
            allowed = typing.get_args(hint)
            if value not in allowed:
                problems.append((key, f"{table}.{key}: {one_of(allowed, value)}"))
    return problems


def _structure_table(table: str, raw: Any, cls: type, problems: list[str]) -> Any:
    if not isinstance(raw, dict):
        problems.append(f"{table}: expected a table, got {raw!r}")
        return None
    literal = _literal_problems(table, raw, cls)
    problems.extend(message for _key, message in literal)
    try:
        # Bad literal values are already reported: structure the rest to find every other problem too.
        value: Any = _converter.structure({k: v for k, v in raw.items() if k not in dict(literal)}, cls)
    except Exception as exc:  # noqa: BLE001 - every validation failure becomes a message line
        problems.extend(messages(exc, table))
        return None
    return None if literal else value


def _duration(raw: Any) -> float:
    """``plan.duration`` in seconds, refused outside 1 s to 3 h with the value as written."""
    seconds = parse_duration(raw)
    if seconds > MAX_DURATION:
        raise ValueError(f"must be at most 3h, got {raw!r}")
    if 0 < seconds < MIN_DURATION:
        raise ValueError(f"must be at least 1s, got {raw!r}")
    return seconds  # zero and below: PlanSpec's own validator says "must be greater than 0"


def _scene_count_problems(plan: PlanSpec, duration: Any) -> list[str]:
    """A duration whose density implies more than ``MAX_SCENES`` scenes, unless ``plan.scenes`` sets the count."""
    if plan.scenes is not None:
        return []
    implied = round(plan.duration / SECONDS_PER_SCENE[plan.density])
    if implied <= MAX_SCENES:
        return []
    return [
        f"plan.duration: {duration!r} at density {plan.density!r} means {implied:,} scenes, more than "
        f"{MAX_SCENES:,}; shorten the duration, choose a sparser density or set plan.scenes"
    ]


def _non_finite(value: Any, path: str) -> list[str]:
    """``path: expected a finite number`` for every nan or inf in a provider's settings (TOML has both)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{path}: expected a finite number, got {value!r}"]
    if isinstance(value, dict):
        return [line for key, item in value.items() for line in _non_finite(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [line for i, item in enumerate(value) for line in _non_finite(item, f"{path}[{i}]")]
    return []


def _policy_problems(raw: Mapping[str, Any]) -> list[str]:
    """``providers.<name>.<key>: …`` for every middleware key out of its range, in provider and
    ``[providers.defaults.<kind>]`` tables."""
    from aura_core.resilience import POLICY_KEYS, policy_problem

    tables: list[tuple[str, Mapping[str, Any]]] = []
    for name, table in raw.items():
        if name == "defaults" and isinstance(table, dict):
            tables.extend(
                (f"providers.defaults.{kind}", t) for kind, t in table.items() if isinstance(t, dict)
            )
        elif isinstance(table, dict):
            tables.append((f"providers.{name}", table))
    return [
        f"{path}.{key}: {problem}"
        for path, table in tables
        for key in sorted(POLICY_KEYS & table.keys())
        if (problem := policy_problem(key, table[key])) is not None
    ]


def _name_problem(key: str, value: Any) -> str | None:
    """Why a chain's provider names are unusable, or None when they are short, plain names."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        return f'providers.{key}: expected a list of provider names like ["piper"], got {value!r}'
    for name in names:
        found = control_character(name)
        if len(name) > SHORT_TEXT_CHARS or found is not None:
            shown = f"{name[:40]!r}…" if len(name) > 40 else repr(name)
            return f"providers.{key}: {shown} is not a provider name (at most {SHORT_TEXT_CHARS} characters, no control characters)"
    return None


def _providers(raw: Any, problems: list[str]) -> ProvidersSpec:
    if raw is None:
        return ProvidersSpec()
    if not isinstance(raw, dict):
        problems.append(f"providers: expected a table, got {raw!r}")
        return ProvidersSpec()
    chains: dict[str, tuple[str, ...]] = {}
    settings: dict[str, dict[str, Any]] = {}
    # The middleware's keys have ranges of their own (resilience.POLICY_RANGES): checked here, at load,
    # with the same line a run would give; any other nan or inf in a provider's settings is refused as such.
    policy = _policy_problems(raw)
    problems.extend(policy)
    flagged = {line.split(": ", 1)[0] for line in policy}
    problems.extend(line for line in _non_finite(raw, "providers") if line.split(": ", 1)[0] not in flagged)
    for key, value in raw.items():
        if key == "defaults":
            problems.extend(_defaults_problems(value))
            if isinstance(value, dict):
                settings[key] = value
        elif isinstance(value, dict):
            settings[key] = value
        elif key in KINDS:
            problem = _name_problem(key, value)
            if problem is not None:
                problems.append(problem)
                continue
            names = [value] if isinstance(value, str) else value
            chains[key] = tuple(names)
        else:
            problems.append(
                f"providers.{key}: unknown key; expected one of {', '.join(KINDS)} or a [providers.<name>] table"
            )
    return ProvidersSpec(chains=chains, settings=settings)


def _defaults_problems(value: Any) -> list[str]:
    """``[providers.defaults.<kind>]`` holds middleware settings for every provider of a kind."""
    from aura_core.resilience import POLICY_KEYS

    if not isinstance(value, dict):
        return [f"providers.defaults: expected tables like [providers.defaults.tts], got {value!r}"]
    problems = []
    for kind, table in value.items():
        if kind not in KINDS or not isinstance(table, dict):
            problems.append(
                f"providers.defaults.{kind}: expected a table named after a kind ({', '.join(KINDS)})"
            )
            continue
        problems.extend(
            f"providers.defaults.{kind}.{key}: unknown key; expected one of {', '.join(sorted(POLICY_KEYS))}"
            for key in table
            if key not in POLICY_KEYS
        )
    return problems


def parse_brief(data: Mapping[str, Any], source: Path | None = None) -> BriefFile:
    """Turn the parsed TOML of a brief file into a ``BriefFile``, or raise ``BriefError`` listing every problem."""
    problems: list[str] = []
    where = f"{source}: " if source else ""
    problems.extend(
        f"{key}: unknown table; expected one of {', '.join(_TABLES)}" for key in data if key not in _TABLES
    )
    if "brief" not in data:
        problems.append('brief: required table is missing (it needs at least topic = "…")')
        raise BriefError([where + p for p in problems])
    brief = _structure_table("brief", data["brief"], Brief, problems)

    plan_raw = data.get("plan", {})
    if isinstance(plan_raw, dict) and "duration" in plan_raw:
        plan_raw = dict(plan_raw)
        try:
            plan_raw["duration"] = _duration(plan_raw["duration"])
        except ValueError as exc:
            problems.append(f"plan.duration: {exc}")
            plan_raw.pop("duration")
    plan = _structure_table("plan", plan_raw, PlanSpec, problems)
    if plan is not None:
        problems.extend(_scene_count_problems(plan, data.get("plan", {}).get("duration", plan.duration)))
    voice = _structure_table("voice", data.get("voice", {}), VoiceSpec, problems)

    render_raw = data.get("render", {})
    render = None
    if isinstance(render_raw, dict):
        unknown = {"width", "height"} & render_raw.keys()
        problems.extend(f'render.{k}: unknown key; use resolution = "WxH" or preset' for k in sorted(unknown))
        render = _structure_table(
            "render", {k: v for k, v in render_raw.items() if k not in unknown}, RenderSpec, problems
        )
    else:
        problems.append(f"render: expected a table, got {render_raw!r}")
    providers = _providers(data.get("providers"), problems)

    if render is not None and brief is not None:
        try:
            width, height = frame_size(render.preset, render.resolution, brief.aspect)
        except ValueError as exc:
            key = "resolution" if render.resolution is not None else "preset"
            problems.append(f"render.{key}: {exc}")
        else:
            music = render.music
            if music is not None and not music.is_absolute():
                music = ((source.parent if source else Path.cwd()) / music).resolve()
            if music is not None and not music.is_file():
                problems.append(f"render.music: no such file: {music}")
            render = evolve(render, width=width, height=height, music=music)
    if problems:
        raise BriefError([where + p for p in problems])
    assert brief is not None and plan is not None and voice is not None and render is not None
    return BriefFile(brief=brief, plan=plan, voice=voice, render=render, providers=providers, source=source)


def load_brief(path: str | Path) -> BriefFile:
    """Read and validate a brief file; raises ``BriefError`` (exit code 2) with one line per problem."""
    source = _resolved(path)
    return load_brief_bytes(_read_brief_file(path, source), source, shown=str(path))


def _resolved(path: str | Path) -> Path:
    try:
        return Path(path).expanduser().resolve()
    except RuntimeError:  # Path.resolve reports a symlink loop so before Python 3.13 (OSError ELOOP after)
        raise BriefError([f"{path}: is a symlink loop; point it at a brief file (.toml)"]) from None
    except OSError as exc:
        raise BriefError([_os_problem(path, exc)]) from None


def _read_brief_file(path: str | Path, source: Path) -> bytes:
    """The bytes of the brief file ``path`` (resolved: ``source``): a regular file of at most ``MAX_BRIEF_BYTES``.

    A FIFO or a device is refused before it is opened: reading one would block or never end.
    """
    try:
        info = source.stat()
        if not stat.S_ISREG(info.st_mode):
            raise BriefError([_not_a_file(path, info.st_mode)])
        if info.st_size > MAX_BRIEF_BYTES:
            raise BriefError(
                [f"{path}: {info.st_size} bytes is too large for a brief (at most {MAX_BRIEF_BYTES})"]
            )
        with source.open("rb") as file:
            raw = file.read(MAX_BRIEF_BYTES + 1)  # a file that grew since stat() is still bounded
    except OSError as exc:
        raise BriefError([_os_problem(path, exc)]) from None
    if len(raw) > MAX_BRIEF_BYTES:
        raise BriefError([f"{path}: too large for a brief (at most {MAX_BRIEF_BYTES} bytes)"])
    return raw


def _not_a_file(path: str | Path, mode: int) -> str:
    if stat.S_ISDIR(mode):
        return f"{path}: is a folder, expected a brief file (.toml)"
    kinds = {
        stat.S_ISFIFO: "a named pipe (FIFO)",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
    }
    kind = next((name for test, name in kinds.items() if test(mode)), "a socket")
    return f"{path}: is {kind}, not a file; give the path of a brief file (.toml)"


def _os_problem(path: str | Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"{path}: is a symlink loop; point it at a brief file (.toml)"
    if exc.errno == errno.ENOENT:
        return f"{path}: no such file"
    return f"{path}: cannot be read ({exc.strerror or exc})"


def load_brief_bytes(raw: bytes, source: Path, *, shown: str | None = None) -> BriefFile:
    """Validate a brief file's bytes; ``source`` is where relative paths in it are resolved from."""
    shown = shown or str(source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BriefError(
            [f"{shown}:{line}: not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})"]
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BriefError([f"{shown}: not valid TOML: {exc}"]) from None
    return parse_brief(data, source)


def dump_brief(spec: BriefFile) -> dict[str, Any]:
    """The brief as plain data (paths as text), for the run directory's records."""
    data: dict[str, Any] = _converter.unstructure(spec)
    data.pop("source", None)
    for derived in ("width", "height"):  # resolved from preset/resolution and the aspect when loaded again
        data["render"].pop(derived, None)
    return data
