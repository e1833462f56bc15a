"""``aura batch``: many briefs, each its own run directory; one failed brief does not stop the others.

The CLI tests run the real ``aura`` script with the third-party fake plugin (see conftest.py); the
library test drives ``run_batch`` with providers given directly. None of them needs Ray, except the
last, which runs the same batch with ``--executor ray`` on a local cluster when Ray is installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from attrs import define

from aura_core import Pipeline, Speech, SpeechRequest, UserError
from aura_core.batch import find_briefs, run_batch, summary_table
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

from .conftest import AuraCli


def _briefs(folder: Path) -> list[Path]:
    """Three briefs: two good ones and one whose duration cannot be read."""
    folder.mkdir(parents=True, exist_ok=True)
    good = [
        AuraCli.brief(folder, "bees", topic="Honeybees", scenes=2),
        AuraCli.brief(folder, "tides", topic="Tide pools", scenes=3),
    ]
    broken = AuraCli.brief(folder, "broken", topic="Broken")
    broken.write_text(broken.read_text().replace('duration = "15s"', 'duration = "soon"'))
    return [*good, broken]


def test_a_batch_with_a_broken_brief_finishes_the_others_and_exits_1(aura: AuraCli, tmp_path: Path) -> None:
    """Two videos are made, the broken brief is reported with its problem, the summary lists all three."""
    briefs = _briefs(tmp_path / "briefs")
    result = aura.run("batch", *briefs, "--runs-dir", tmp_path / "runs", "--concurrency", "2")
    assert result.returncode == 1, result.stderr
    for name in ("bees", "tides"):
        run = tmp_path / "runs" / name
        assert (run / "final.mp4").stat().st_size > 0
        assert aura.report(run)["state"] == "succeeded"
    assert not (tmp_path / "runs" / "broken").exists()
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["brief", "state", "time", "video", "or", "error"]
    rows = {line.split()[0]: line for line in lines[1:4]}
    assert rows["bees.toml"].split()[1] == "succeeded"
    assert rows["bees.toml"].endswith(str(tmp_path / "runs" / "bees" / "final.mp4"))
    assert rows["tides.toml"].split()[1] == "succeeded"
    assert rows["broken.toml"].split()[1] == "failed"
    assert """broken.toml: plan.duration: expected a duration like "60s", got 'soon'""" in rows["broken.toml"]
    assert lines[4].startswith("2 of 3 succeeded, 1 failed, wall time ")
    assert "broken.toml: failed in" in result.stderr


def test_a_batch_of_a_folder_that_all_succeeds_exits_0(aura: AuraCli, tmp_path: Path) -> None:
    """A folder argument runs every *.toml brief in it; a second batch reuses every finished result."""
    folder = tmp_path / "briefs"
    folder.mkdir()
    for i in range(3):
        AuraCli.brief(folder, f"b{i}", topic=f"Topic number {i}", scenes=2)
    (folder / "notes.txt").write_text("not a brief")
    call_log = tmp_path / "calls.log"
    env = aura.env(AURA_TP_LATENCY="0.05", AURA_TP_CALL_LOG=str(call_log))
    first = aura.run("batch", folder, "--runs-dir", tmp_path / "runs", "--concurrency", "3", env=env)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["b0", "b1", "b2"]
    assert "3 of 3 succeeded, 0 failed" in first.stdout
    made = len(call_log.read_text().splitlines())
    assert made == 3 * (1 + 2 + 2 + 2 + 1)  # script, voices, pictures, segments, assembly per brief
    again = aura.run("batch", folder, "--runs-dir", tmp_path / "runs", env=env)
    assert again.returncode == 0, again.stderr
    assert len(call_log.read_text().splitlines()) == made


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.toml"], "missing.toml: no such brief file or folder"),
        (["empty"], "empty: no brief files (*.toml) in this folder"),
        (["a/same.toml", "b/same.toml"], "would share the run directory 'same'"),
        (["a/same.toml", "--concurrency", "0"], "Invalid value for '--concurrency'"),
        (["a/same.toml", "--executor", "slurm"], "Invalid value for '--executor'"),
    ],
)
def test_batch_usage_mistakes_exit_2(aura: AuraCli, tmp_path: Path, args: list[str], message: str) -> None:
    """A missing path, an empty folder, two briefs sharing a run directory, bad options: exit 2, nothing run."""
    (tmp_path / "empty").mkdir()
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        AuraCli.brief(tmp_path / sub, "same")
    result = aura.run("batch", *args, "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "runs").exists()


@define
class BuggyVoice(FakeVoice):
    """A voice with a bug that shows only on some texts (it raises a plain ValueError)."""

    async def synthesize(self, request: SpeechRequest) -> Speech:
        """Fail with a ValueError when the text mentions volcanoes."""
        if "Volcanoes" in request.text:
            raise ValueError("sample rate out of range")
        return await FakeVoice.synthesize(self, request)


@pytest.mark.anyio
async def test_a_provider_bug_in_one_brief_does_not_stop_the_batch(tmp_path: Path) -> None:
    """run_batch: the brief that hits a provider bug fails with the exception named; the others finish."""
    folder = tmp_path / "briefs"
    folder.mkdir()
    paths = [
        AuraCli.brief(folder, name, topic=topic, scenes=2)
        for name, topic in (("a", "Glaciers"), ("b", "Volcanoes"), ("c", "Deserts"))
    ]
    for path in paths:  # the fakes here are named "fake"
        path.write_text(path.read_text().split("[providers]")[0])
    pipeline = Pipeline(
        [FakeScriptWriter(), BuggyVoice(), FakeIllustrator(), FakeComposer()], runs_dir=tmp_path / "runs"
    )
    seen: list[str] = []
    results = await run_batch(
        pipeline, find_briefs([folder]), concurrency=2, on_result=lambda r: seen.append(r.brief.name)
    )
    assert [(r.brief.name, r.state) for r in results] == [
        ("a.toml", "succeeded"),
        ("b.toml", "failed"),
        ("c.toml", "succeeded"),
    ]
    assert sorted(seen) == ["a.toml", "b.toml", "c.toml"]
    assert results[1].error is not None and "ValueError: sample rate out of range" in results[1].error
    for result in (results[0], results[2]):
        assert result.video is not None and result.video.read_bytes()
    table = summary_table(results)
    assert "ValueError: sample rate out of range" in table.splitlines()[2]
    assert table.splitlines()[-1] == "2 of 3 succeeded, 1 failed"
    with pytest.raises(UserError, match="at least 1"):
        await run_batch(pipeline, [], concurrency=0)


def test_import_aura_core_never_imports_ray() -> None:
    """The core, its CLI and the batch module load without importing Ray (it is an optional extra)."""
    code = (
        "import sys, aura_core, aura_core.cli, aura_core.pipeline, aura_core.batch\n"
        "assert 'ray' not in sys.modules, sorted(m for m in sys.modules if m.startswith('ray'))\n"
        "print('no ray')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "no ray"


def test_a_batch_on_a_local_ray_cluster_makes_the_same_videos(aura: AuraCli, tmp_path: Path) -> None:
    """``aura batch --executor ray`` (a local cluster started by aura) makes byte-identical videos to a local batch."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'aura-core[ray]')")
    briefs = _briefs(tmp_path / "briefs")[:2]
    call_log = tmp_path / "calls.log"
    local = aura.run("batch", *briefs, "--runs-dir", tmp_path / "local")
    assert local.returncode == 0, local.stderr
    env = aura.env(AURA_TP_CALL_LOG=str(call_log))
    remote = aura.run("-v", "batch", *briefs, "--runs-dir", tmp_path / "ray", "--executor", "ray", env=env)
    if remote.returncode != 0 and "could not connect" in remote.stderr:
        pytest.skip(f"a local Ray cluster would not start here: {remote.stderr.strip()}")
    assert remote.returncode == 0, remote.stderr
    for name in ("bees", "tides"):
        ours = (tmp_path / "ray" / name / "final.mp4").read_bytes()
        assert ours == (tmp_path / "local" / name / "final.mp4").read_bytes()
    assert "ray executor: the local cluster" in remote.stderr
    # Each call was made once (Ray retries nothing itself): 2 scripts, 5 voices, 5 pictures, 5 segments, 2 assemblies.
    assert len(call_log.read_text().splitlines()) == 2 + 5 + 5 + 5 + 2
