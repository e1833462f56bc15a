"""Meta-tests: the docs keep up with the code.

* every hook spec in ``aura_core.hookspecs`` is documented in docs/hooks.md with its exact signature,
  and has a test named ``test_hook_<name>`` somewhere in the test suite;
* every command that ``aura --help`` lists (and every sub-command of a group) has a section in
  docs/cli.md, and every option its ``--help`` shows appears in that section; commands are read
  from the CLI at test time, so a new command fails here until it is documented;
* every Markdown page under docs/ is in the mkdocs.yml nav, and the site builds with ``--strict``;
* the table of optional provider members in docs/writing-a-provider-plugin.md names exactly the members
  ``aura_core.OPTIONAL_MEMBERS`` declares, with the same defaults.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aura_core import OPTIONAL_MEMBERS, hookspecs

from .conftest import install_into

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
AURA = Path(sys.executable).with_name("aura")

#: Every command takes these; docs/cli.md says so once, at the top.
HELP_OPTIONS = ("-h", "--help")

HOOKS = sorted(
    name
    for name, fn in vars(hookspecs).items()
    if inspect.isfunction(fn) and hasattr(fn, "aura_spec")  # pluggy marks specs with <project>_spec
)


def _signature(name: str) -> str:
    """``def name(arg: Type, ...) -> Return:`` as the spec module declares it."""
    signature = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
    return f"def {name}({params}) -> {signature.return_annotation}:"


def test_the_hook_specs_are_found() -> None:
    """The spec module holds the three hooks of the design (a guard for the tests below)."""
    assert {"aura_register_providers", "aura_register_commands", "aura_event"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_exact_signature(hook: str) -> None:
    """docs/hooks.md has a ``## <hook>`` section whose code shows the spec's signature exactly."""
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    section = _section(text, f"## {hook}")
    assert section is not None, f"docs/hooks.md has no '## {hook}' section"
    assert _signature(hook) in section, f"docs/hooks.md '## {hook}' does not show {_signature(hook)!r}"


def _test_sources() -> Iterator[Path]:
    for folder in [ROOT / "tests", *ROOT.glob("aura_*/tests")]:
        yield from folder.rglob("test_*.py")


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test_named_for_it(hook: str) -> None:
    """Some test module defines ``test_hook_<hook name>`` (sync or async)."""
    pattern = re.compile(rf"^\s*(async\s+)?def test_hook_{hook}\b", re.MULTILINE)
    found = [p for p in _test_sources() if pattern.search(p.read_text(encoding="utf-8"))]
    assert found, f"no test named test_hook_{hook}"


def _section(text: str, heading: str) -> str | None:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    for start, line in enumerate(lines):
        if line.strip() == heading:
            end = next(
                (
                    i
                    for i in range(start + 1, len(lines))
                    if re.match(rf"^#{{1,{level}}} ", lines[i]) and not _in_code(lines, i)
                ),
                len(lines),
            )
            return "\n".join(lines[start + 1 : end])
    return None


def _in_code(lines: list[str], index: int) -> bool:
    return sum(1 for line in lines[:index] if line.lstrip().startswith("```")) % 2 == 1


def _help(*args: str) -> str:
    """``aura ARGS --help`` as a user sees it: installed plugins only, no aura settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURA_") and k != "PYTHONPATH"}
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [str(AURA), *args, "--help"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _commands(help_text: str) -> list[str]:
    block = help_text.split("\nCommands:\n", 1)
    if len(block) == 1:
        return []
    return [line.split()[0] for line in block[1].splitlines() if line.startswith("  ") and line.strip()]


def _options(help_text: str) -> list[str]:
    """Every option name (``--x`` and ``-x``) in the Options block of a help text."""
    block = help_text.split("\nOptions:\n", 1)[1].split("\nCommands:\n", 1)[0]
    names: list[str] = []
    for line in block.splitlines():
        match = re.match(r"^  (-[^ ].*?)(?:  |$)", line)
        if match:
            names += re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", match.group(1).split(" [")[0])
    return names


def _all_commands() -> list[tuple[str, ...]]:
    """Every command path, sub-commands of groups included: ("run",), ("cache", "prune"), ..."""
    paths: list[tuple[str, ...]] = []
    pending: list[tuple[str, ...]] = [(c,) for c in _commands(_help())]
    while pending:
        path = pending.pop(0)
        paths.append(path)
        pending += [(*path, sub) for sub in _commands(_help(*path))]
    return paths


@pytest.fixture(scope="module")
def commands() -> list[tuple[str, ...]]:
    """The commands of the installed ``aura``, read from its --help."""
    return _all_commands()


def test_every_cli_command_has_a_section_in_cli_md(commands: list[tuple[str, ...]]) -> None:
    """docs/cli.md has a ``## aura <command>`` (or ``### aura <group> <command>``) heading for each."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    headings = {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")}
    assert len(commands) >= 6
    missing = [" ".join(c) for c in commands if f"aura {' '.join(c)}" not in headings]
    assert not missing, f"docs/cli.md has no section for: {', '.join(missing)}"


def test_every_option_of_every_command_is_in_its_section_of_cli_md(commands: list[tuple[str, ...]]) -> None:
    """Each option ``aura <command> --help`` shows appears in that command's section of docs/cli.md
    (``-h``/``--help`` are said once for all); the root options appear before the first command's section."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    missing: list[str] = []
    root = text.split("\n## aura ", 1)[0]
    missing += [f"aura {o}" for o in _options(_help()) if o not in root]
    for path in commands:
        name = f"aura {' '.join(path)}"
        section = _section(text, "#" * (1 + len(path)) + f" {name}") or ""
        missing += [
            f"{name} {o}"
            for o in _options(_help(*path))
            if o not in HELP_OPTIONS and not re.search(rf"(?<![\w-]){o}\b", section)
        ]
    assert not missing, f"options missing from docs/cli.md: {', '.join(missing)}"


def test_the_sync_check_reads_options_and_commands_from_the_help_text() -> None:
    """The parsers find options with metavars and choices, and commands, in a click help text."""
    sample = (
        "Usage: aura x [OPTIONS]\n\nOptions:\n"
        "  --plugins A,B           Load only these.\n"
        "  --executor [local|ray]  Where calls run.\n"
        "  -v, --verbose           More.\n"
        "  -h, --help              Show this message and exit.\n\n"
        "Commands:\n  info   Where.\n  prune  Smaller.\n"
    )
    assert _options(sample) == ["--plugins", "--executor", "-v", "--verbose", "-h", "--help"]
    assert _commands(sample) == ["info", "prune"]


def _nav_pages() -> set[str]:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text.split("\nnav:\n", 1)[1]
    return set(re.findall(r":\s*([\w./-]+\.md)\s*$", nav, re.MULTILINE))


def test_every_docs_page_is_in_the_mkdocs_nav() -> None:
    """Each Markdown file under docs/ is a page of the site's navigation, and every nav entry exists."""
    pages = {
        str(p.relative_to(DOCS))
        for p in DOCS.rglob("*.md")
        if not any(part.startswith(".") or part.endswith(".egg-info") for part in p.parts)
    }
    nav = _nav_pages()
    assert pages - nav == set(), f"pages not in the mkdocs.yml nav: {sorted(pages - nav)}"
    assert nav - pages == set(), f"nav entries with no page: {sorted(nav - pages)}"


@pytest.mark.skipif(shutil.which("mkdocs", path=str(AURA.parent)) is None, reason="mkdocs is not installed")
def test_the_docs_site_builds_with_strict_links(tmp_path: Path) -> None:
    """``mkdocs build --strict`` succeeds: no broken link or anchor, no page left out of the nav."""
    result = subprocess.run(
        [str(AURA.with_name("mkdocs")), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "writing-a-provider-plugin.html").is_file()


EXAMPLE = DOCS / "examples" / "aura-plugin-stripes"


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The docs' example plugin, pip-installed into a temp folder (never into the venv)."""
    return install_into(tmp_path_factory.mktemp("stripes-site"), EXAMPLE)


def _with_site(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURA_") and k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    return env


def test_the_docs_example_plugin_installs_and_passes_its_own_tests(example_site: Path) -> None:
    """docs/examples/aura-plugin-stripes, installed, passes its tests (the contract suite among them)
    in a pytest subprocess, as its README says to run them."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(EXAMPLE / "tests"), "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=_with_site(example_site),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert re.match(r"^\d+ passed", summary) and "failed" not in summary, summary
    assert (example_site / "aura_plugin_stripes" / "plugin.py").is_file()


def test_the_docs_example_plugin_is_listed_by_aura_plugins(example_site: Path) -> None:
    """`aura plugins --plugins stripes` shows the example as the page says: its distribution and provider."""
    result = subprocess.run(
        [str(AURA), "plugins", "--plugins", "stripes"],
        env=_with_site(example_site),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "name": "stripes",
            "distribution": "aura-plugin-stripes",
            "version": "0.1.0",
            "hooks": ["aura_register_providers"],
            "providers": ["image:stripes"],
        }
    ]


def _documented_default(default: object, by_kind: dict[str, object]) -> str:
    """How the docs table writes a declared default: `value`, or `kind`: `value` for each kind."""
    if by_kind:
        return ", ".join(f"`{kind}`: `{value!r}`" for kind, value in by_kind.items())
    return f"`{default!r}`"


def test_the_optional_members_table_matches_their_declaration() -> None:
    text = (DOCS / "writing-a-provider-plugin.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    start = lines.index("| member | default | used for |") + 2  # past the header and its rule
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        member, default, _meaning = line.strip("|").split(" | ", 2)
        # the member cell is its signature: `async def check(self) ...`, `concurrency: int`
        name = re.match(r"\s*`(?:async )?(?:def )?(\w+)", member)
        assert name, f"cannot read a member name from {member!r}"
        rows.append((name.group(1), default.strip()))
    declared = [(m.name, _documented_default(m.default, dict(m.by_kind))) for m in OPTIONAL_MEMBERS.values()]
    assert rows == declared


def test_the_page_shows_the_example_plugin_exactly_as_it_ships() -> None:
    """The ``## plugin.py`` block of docs/writing-a-provider-plugin.md is the example's plugin.py,
    so the code the page explains is the code its tests run."""
    text = (DOCS / "writing-a-provider-plugin.md").read_text(encoding="utf-8")
    section = _section(text, "## plugin.py")
    assert section is not None
    block = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert block is not None
    shipped = (EXAMPLE / "src" / "aura_plugin_stripes" / "plugin.py").read_text(encoding="utf-8")
    assert block.group(1) == shipped
