"""Run ids keep letters of any script, and a run directory belongs to one brief file (library API)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from aura_core import Pipeline, UserError, load_brief
from aura_core.pipeline import run_id_for
from aura_core.specs import BriefFile
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

BRIEF = """\
[brief]
topic = "{topic}"

[plan]
duration = "40s"

[render]
resolution = "64x36"
fps = 10
"""


def _pipeline(runs: Path) -> Pipeline:
    return Pipeline([FakeScriptWriter(), FakeVoice(), FakeIllustrator(), FakeComposer()], runs_dir=runs)


def _brief(path: Path, topic: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BRIEF.format(topic=topic), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "run_id"),
    [
        ("日本語", "日本語"),
        ("Ελληνικά", "ελληνικά"),
        ("Café au lait", "café-au-lait"),
        ("123", "123"),
        ("---", "run"),
        ("my brief!", "my-brief"),
    ],
)
def test_the_run_id_keeps_letters_and_digits_of_any_script(name: str, run_id: str) -> None:
    """The run id of `<name>.toml` keeps letters of any script, lower-cased; a name with none is `run`."""
    spec = cast(BriefFile, SimpleNamespace(source=Path(f"/briefs/{name}.toml")))
    assert run_id_for(spec) == run_id


@pytest.mark.anyio
async def test_a_brief_of_the_same_name_gets_its_own_run_directory(tmp_path: Path) -> None:
    """a/brief.toml runs in runs/brief; b/brief.toml in runs/brief-<hash>, every time; a's video stays a's."""
    runs = tmp_path / "runs"
    first = await _pipeline(runs).run(load_brief(_brief(tmp_path / "a" / "brief.toml", "Tide pools")))
    second = await _pipeline(runs).run(load_brief(_brief(tmp_path / "b" / "brief.toml", "Honeybees")))
    assert first.path.parent == (runs / "brief").resolve()
    assert second.path.parent.name.startswith("brief-") and len(second.path.parent.name) == len("brief-") + 8
    again = await _pipeline(runs).run(load_brief(tmp_path / "b" / "brief.toml"))
    assert again.path == second.path
    origin = json.loads((runs / "brief" / "origin.json").read_text())
    assert origin == {
        "brief": str((tmp_path / "a" / "brief.toml").resolve()),
        "relative": "../../a/brief.toml",
    }


@pytest.mark.anyio
async def test_a_project_folder_copied_or_moved_whole_keeps_its_runs(tmp_path: Path) -> None:
    """A brief and its runs copied (or moved) together: the copy continues its own run (no new directory, no call made)."""
    project = tmp_path / "project"
    runs = project / "runs"
    first = await _pipeline(runs).run(load_brief(_brief(project / "brief.toml", "Tide pools")))
    video = first.path.read_bytes()
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    again = await _pipeline(copy / "runs").run(load_brief(copy / "brief.toml"))
    assert again.path == (copy / "runs" / "brief" / "final.mp4").resolve()
    assert again.path.read_bytes() == video
    report = json.loads((copy / "runs" / "brief" / "report.json").read_text())
    assert all(link["calls"] == 0 for links in report["providers"].values() for link in links)
    moved = tmp_path / "moved"
    project.rename(moved)
    resumed = await _pipeline(moved / "runs").resume(moved / "runs" / "brief")
    assert resumed.path == (moved / "runs" / "brief" / "final.mp4").resolve()
    assert resumed.path.read_bytes() == video


@pytest.mark.anyio
async def test_another_brief_never_continues_a_run_even_when_given_its_folder(tmp_path: Path) -> None:
    """Pipeline.run(b, run_dir=a's run directory) raises UserError naming the owner; a's report is untouched."""
    runs = tmp_path / "runs"
    await _pipeline(runs).run(load_brief(_brief(tmp_path / "a" / "brief.toml", "Tide pools")))
    report = (runs / "brief" / "report.json").read_bytes()
    other = load_brief(_brief(tmp_path / "b" / "brief.toml", "Honeybees"))
    with pytest.raises(UserError, match=r"this run belongs to the brief .*a/brief\.toml"):
        await _pipeline(runs).run(other, run_dir=runs / "brief")
    assert (runs / "brief" / "report.json").read_bytes() == report
