"""The script-file writer: a well-formed Markdown script is read as given; a malformed one names the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_core import Brief, PlanSpec, ScriptRequest, UserError
from aura_core.testing import configured
from aura_plugins_local.scriptfile import ScriptFileWriter, parse_script

GOOD = """# Bees

<!-- a note to self -->
## The dance
Honeybees dance to share directions.
The angle tells the way.

[visual: a bee dancing on a honeycomb]

## The distance
The length of the waggle tells how far to fly.
"""


@pytest.mark.anyio
async def test_scriptfile_yields_the_users_scenes_relative_to_the_brief(tmp_path: Path) -> None:
    """The file named by ``path`` (relative to the brief) gives its scenes, whatever scene_count says."""
    (tmp_path / "script.md").write_text(GOOD, encoding="utf-8")
    writer = configured(ScriptFileWriter(), {"path": "script.md"}, tmp_path)
    request = ScriptRequest(brief=Brief(topic="bees"), plan=PlanSpec(), scene_count=9, word_target=500)
    drafts = [d async for d in writer.write_script(request)]
    assert [d.heading for d in drafts] == ["The dance", "The distance"]
    assert drafts[0].narration == "Honeybees dance to share directions. The angle tells the way."
    assert drafts[0].visual_prompt == "a bee dancing on a honeycomb"
    assert drafts[1].visual_prompt == "Bees: The distance"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Title\n\nJust prose.\n", "script.md:1: no scenes"),
        ("# T\n## One\nSaid.\n## Two\n\n[visual: x]\n", "script.md:4: scene 'Two' has no narration"),
        ("# T\n## One\nSaid.\n[visual: ]\n", "script.md:4: [visual: …] is empty"),
        ("# T\n## One\nSaid.\n[visual a cat]\n", "script.md:4: malformed visual line"),
        ("# T\n## One\nSaid.\n### Sub\n", "script.md:4: unexpected heading '###'"),
        ("# T\n## One\nSaid.\n# Again\n", "script.md:4: a second '# title'"),
        ("# T\n##\nSaid.\n", "script.md:2: a scene heading '##' needs a name"),
        ("[visual: x]\n## One\nSaid.\n", "script.md:1: [visual: …] before the first"),
        ("# T\n## One\nSa\x00id.\n", "script.md:3: a control character (U+0000) in the script"),
        ("# T\r\n## One\r\n\tSaid.\x0c\n", "script.md:3: a control character (U+000C) in the script"),
        (
            "<!-- \x00 -->\n# T\n## One\nSa\x85id.\n",
            "script.md:4: a control character (U+0085) in the script",
        ),
    ],
)
def test_malformed_script_names_file_line_and_problem(text: str, message: str) -> None:
    """Each kind of malformed script raises UserError starting with file:line and the problem."""
    with pytest.raises(UserError) as caught:
        parse_script(text, "script.md")
    assert str(caught.value).startswith(message)


@pytest.mark.anyio
async def test_missing_and_non_utf8_files_are_user_errors(tmp_path: Path) -> None:
    """A missing file and a file that is not UTF-8 each raise UserError naming the problem."""
    request = ScriptRequest(brief=Brief(topic="bees"), plan=PlanSpec(), scene_count=2, word_target=50)
    missing = ScriptFileWriter(tmp_path / "nope.md")
    with pytest.raises(UserError, match="script file not found"):
        [d async for d in missing.write_script(request)]
    (tmp_path / "latin.md").write_bytes(b"# T\n## One\ncaf\xe9\n")
    latin = ScriptFileWriter(tmp_path / "latin.md")
    with pytest.raises(UserError, match=r"^latin.md:3: not UTF-8"):
        [d async for d in latin.write_script(request)]


def test_unknown_setting_is_rejected(tmp_path: Path) -> None:
    """A misspelt setting raises UserError naming it."""
    with pytest.raises(
        UserError,
        match=r"^providers\.scriptfile\.paht: unknown setting \(did you mean path\?\); expected one of path$",
    ):
        configured(ScriptFileWriter(), {"paht": "x.md"}, tmp_path)


@pytest.mark.anyio
async def test_a_two_scene_script_keeps_the_contract_against_a_larger_plan(tmp_path: Path) -> None:
    """scriptfile declares follows_plan = False and deterministic = True: its 2 scenes pass the result check
    against the suite's plan of 3 scenes and 75 words, and come back the same when asked again."""
    from aura_core.testing import check_provider

    (tmp_path / "script.md").write_text(GOOD, encoding="utf-8")
    writer = ScriptFileWriter(tmp_path / "script.md")
    assert (writer.follows_plan, writer.deterministic) == (False, True)
    report = await check_provider(writer, tmp_path, skip=["cancellation"])
    assert {r.name: r.status for r in report.results}["result"] == "passed"
    assert "2 scenes" in str(report)
