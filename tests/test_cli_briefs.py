"""Bad briefs stop `aura run` with exit 2 and one readable line per problem, never a traceback; `aura init` writes a usable brief."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from aura_core import load_brief

if TYPE_CHECKING:
    from conftest import AuraCli

VALID = """\
[brief]
topic = "Tide pools"

[plan]
duration = "15s"
"""


def _brief(**tables: str) -> bytes:
    """A brief with the given TOML tables (``brief``, ``plan``…) replacing the valid defaults."""
    parts = {"brief": 'topic = "Tide pools"', "plan": 'duration = "15s"', **tables}
    return "\n".join(f"[{name}]\n{textwrap.dedent(body)}" for name, body in parts.items()).encode()


# (case id, file bytes or None for "no file", one expected fragment per problem line, each after "<path>")
CASES: list[tuple[str, bytes | None, list[str]]] = [
    ("unknown-key", _brief(plan='duration = "15s"\nspeed = 2'), [": plan.speed: unknown key"]),
    ("unknown-table", VALID.encode() + b"\n[extras]\nx = 1\n", [": extras: unknown table"]),
    ("wrong-type-int", _brief(render='fps = "fast"'), [": render.fps: expected a whole number, got 'fast'"]),
    ("wrong-type-text", _brief(brief="topic = 42"), [": brief.topic: expected text, got 42"]),
    ("negative-duration-text", _brief(plan='duration = "-5s"'), [": plan.duration: must be greater than 0"]),
    ("negative-duration-number", _brief(plan="duration = -5"), [": plan.duration: must be greater than 0"]),
    ("bad-duration", _brief(plan='duration = "soon"'), [': plan.duration: expected a duration like "60s"']),
    ("empty-topic", _brief(brief='topic = "   "'), [": brief.topic: must not be empty"]),
    ("missing-topic", _brief(brief='audience = "kids"'), [": brief.topic: required key is missing"]),
    (
        "unknown-aspect",
        _brief(brief='topic = "Tide pools"\naspect = "4:3"'),
        [": brief.aspect: expected one of 16:9, 9:16, 1:1, got '4:3'"],
    ),
    ("non-utf8", b'[brief]\ntopic = "caf\xe9"\n', [":2: not UTF-8 text (byte 0xe9"]),
    ("missing-file", None, [": no such file"]),
    ("invalid-toml", b'[brief\ntopic = "x"\n', [": not valid TOML: "]),
    (
        "several-problems",
        _brief(
            brief='topic = ""\naspect = "4:3"',
            plan='duration = "-1m"\nspeed = 2',
            render='fps = "fast"',
            voice="rate = 9.0",
        ),
        [
            ": brief.topic: must not be empty",
            ": brief.aspect: expected one of 16:9, 9:16, 1:1",
            ": plan.duration: must be greater than 0",
            ": plan.speed: unknown key",
            ": render.fps: expected a whole number",
            ": voice.rate: must be <= 2.0",
        ],
    ),
]


@pytest.mark.parametrize(("content", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_brief_exits_2_with_one_line_per_problem(
    aura: AuraCli, tmp_path: Path, content: bytes | None, expected: list[str]
) -> None:
    """`aura run` on a bad brief exits 2 before loading any plugin; each problem is one `aura: error: <path>…` line naming its dotted path."""
    brief = tmp_path / "bad.toml"
    if content is not None:
        brief.write_bytes(content)
    runs = tmp_path / "runs"
    result = aura.run("run", brief, "--plugins", "thirdparty", "--runs-dir", runs)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == len(expected), result.stderr
    prefix = f"aura: error: {brief}"
    assert all(line.startswith(prefix) for line in lines), result.stderr
    rests = [line[len(prefix) :] for line in lines]
    for fragment in expected:
        matching = [rest for rest in rests if rest.startswith(fragment)]
        assert len(matching) == 1, f"{fragment!r} not on exactly one line of:\n{result.stderr}"
    assert not runs.exists()  # nothing was started


def test_a_folder_given_as_brief_is_a_one_line_error(aura: AuraCli, tmp_path: Path) -> None:
    """A folder in place of the brief file is named in one error line with exit 2."""
    result = aura.run("run", tmp_path, "--plugins", "thirdparty", "--runs-dir", tmp_path / "runs")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"aura: error: {tmp_path}: is a folder, expected a brief file (.toml)"
    ]


def test_init_writes_a_brief_that_loads_and_refuses_to_overwrite(aura: AuraCli, tmp_path: Path) -> None:
    """`aura init x.toml` writes a starter brief `load_brief` accepts; a second `aura init` without --force exits 2 and keeps the file."""
    target = tmp_path / "x.toml"
    first = aura.run("init", target)
    assert first.returncode == 0, first.stderr
    spec = load_brief(target)
    assert spec.brief.topic.strip()
    assert spec.source == target.resolve()
    written = target.read_bytes()

    target.write_bytes(written + b"# my edit\n")
    again = aura.run("init", target)
    assert again.returncode == 2
    assert again.stderr.splitlines() == [f"aura: error: {target}: already exists (use --force to overwrite)"]
    assert target.read_bytes() == written + b"# my edit\n"

    forced = aura.run("init", target, "--force")
    assert forced.returncode == 0, forced.stderr
    assert target.read_bytes() == written
