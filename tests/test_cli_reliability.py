"""The CLI under stops, odd names and bad paths: every case ends in one line and keeps finished work.

SIGTERM is handled as Ctrl-C; run ids keep letters of any script and a run directory belongs to one brief;
``--out`` and ``--runs-dir`` are checked before any work; a brief that is not a regular file, ``aura init``
into a missing folder, a damaged ``origin.json`` or ``report.json`` and a picture over Pillow's size limit
are one ``aura: error:`` line each, exit 2, no traceback.

The real ``aura`` script runs in a subprocess with the offline plugins (template, Piper, cards or folder,
ffmpeg) at 320x180; only the stop tests use the slow fakes of the ``aura-thirdparty`` test plugin.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import AuraCli

AURA = Path(sys.executable).with_name("aura")
OFFLINE = ("--plugins", "local,ffmpeg")


def _brief_text(
    topic: str = "Why the sky is blue",
    *,
    image: str = "cards",
    codec: str = "h264",
    music: str | None = None,
    extra: str = "",
) -> str:
    """A one-scene brief for the offline plugins, rendered at 320x180 and 10 fps."""
    return (
        textwrap.dedent(
            f"""\
            [brief]
            topic = "{topic}"

            [plan]
            duration = "6s"
            scenes = 1

            [render]
            resolution = "320x180"
            fps = 10
            captions = "off"
            codec = "{codec}"
            {f'music = "{music}"' if music else ""}

            [providers]
            llm = ["template"]
            tts = ["piper"]
            image = ["{image}"]
            composer = ["ffmpeg"]
            """
        )
        + extra
    )


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment (its PYTHONPATH included) without aura settings or keys."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AURA_") and not k.endswith(("_API_KEY", "_TOKEN"))
    }
    env.update(extra or {})
    return env


def _aura(*args: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``aura ARGS`` in ``cwd`` to completion."""
    return subprocess.run(
        [str(AURA), *map(str, args)],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _one_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Assert exit 2 and a single ``aura: error:`` line holding every fragment; returns the line."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("aura: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``sky.toml`` and its finished run ``runs/sky`` (offline plugins)."""
    folder = tmp_path_factory.mktemp("finished")
    (folder / "sky.toml").write_text(_brief_text(), encoding="utf-8")
    result = _aura("run", "sky.toml", *OFFLINE, cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


def _copy_run(finished: Path, tmp_path: Path) -> Path:
    """A copy of the finished run's directory (its origin.json still names the original brief)."""
    copy = tmp_path / "runs" / "sky"
    shutil.copytree(finished / "runs" / "sky", copy)
    return copy


# -- SIGTERM is Ctrl-C ------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sigterm_stops_a_run_as_ctrl_c_does(
    aura: AuraCli, tmp_path: Path, signum: signal.Signals, backend: str
) -> None:
    """SIGTERM (docker stop, systemd) during a run exits 130 with Ctrl-C's line; the journal and report say cancelled and tmp/ is empty, as for SIGINT."""
    brief = aura.brief(tmp_path, scenes=4)
    run_dir = tmp_path / "runs" / "brief"
    env = aura.env(AURA_TP_LATENCY="0.5", AURA_TP_PARTIAL="1", AURA_ASYNC_BACKEND=backend)
    # The worktree's own sources (when the suite runs with them on PYTHONPATH) after the plugin site.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [env["PYTHONPATH"], os.environ.get("PYTHONPATH")]))
    process = aura.start(
        "run", brief, "--plugins", "thirdparty", "--runs-dir", tmp_path / "runs", "--json", env=env
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # a voice is writing a partial file into tmp/ once the script exists
            if json.loads(line)["event"] == "item_done":
                break
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert stderr.splitlines() == ["aura: interrupted; finished work is kept (aura resume continues it)"]
    assert json.loads(stdout.splitlines()[-1])["state"] == "cancelled"
    assert aura.report(run_dir)["state"] == "cancelled"
    assert list((run_dir / "tmp").iterdir()) == []
    with sqlite3.connect(run_dir / "journal.sqlite") as db:
        rows = dict(db.execute("SELECT k, v FROM meta").fetchall())
    assert rows["state"] == "cancelled"


# -- run ids ----------------------------------------------------------------------------------------------


def test_briefs_named_in_other_scripts_get_their_own_runs(tmp_path: Path) -> None:
    """`日本語.toml` and `Ελληνικά.toml` run into runs/日本語 and runs/ελληνικά (not both into runs/run), each recording its brief."""
    for name in ("日本語", "Ελληνικά"):
        (tmp_path / f"{name}.toml").write_text(_brief_text(f"Topic {name}"), encoding="utf-8")
        result = _aura("run", f"{name}.toml", *OFFLINE, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(["日本語", "ελληνικά"])
    for folder, name in (("日本語", "日本語"), ("ελληνικά", "Ελληνικά")):
        origin = json.loads((tmp_path / "runs" / folder / "origin.json").read_text(encoding="utf-8"))
        assert origin["brief"] == str((tmp_path / f"{name}.toml").resolve())
        assert (tmp_path / "runs" / folder / "final.mp4").stat().st_size > 0


def test_a_brief_of_the_same_name_elsewhere_never_takes_over_a_run(tmp_path: Path) -> None:
    """a/brief.toml runs into runs/brief; b/brief.toml gets runs/brief-<hash> and leaves a's video and report alone; a runs again with no provider call."""
    for folder, topic in (("a", "Tide pools"), ("b", "Volcanoes")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "brief.toml").write_text(_brief_text(topic), encoding="utf-8")
    first = _aura("run", "a/brief.toml", *OFFLINE, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run_a = tmp_path / "runs" / "brief"
    video_a = (run_a / "final.mp4").read_bytes()
    second = _aura("run", "b/brief.toml", *OFFLINE, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    others = [p for p in (tmp_path / "runs").iterdir() if p != run_a]
    assert len(others) == 1 and others[0].name.startswith("brief-"), others
    assert second.stdout.startswith(str(others[0] / "final.mp4"))
    assert (run_a / "final.mp4").read_bytes() == video_a
    assert (
        json.loads((run_a / "report.json").read_text())["scenes"][0]["heading"]
        != json.loads((others[0] / "report.json").read_text())["scenes"][0]["heading"]
    )
    again = _aura("run", "a/brief.toml", *OFFLINE, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    report = json.loads((run_a / "report.json").read_text())
    assert sum(p["calls"] for chain in report["providers"].values() for p in chain) == 0


@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"brief": 3}', b"\xff\xfe"])
@pytest.mark.parametrize("command", ["run", "resume"])
def test_a_damaged_origin_json_is_one_line_and_keeps_the_run(
    finished: Path, tmp_path: Path, command: str, content: bytes
) -> None:
    """A damaged origin.json stops `aura run` and `aura resume` with one line naming it; the run's video stays."""
    run_dir = _copy_run(finished, tmp_path)
    (run_dir / "origin.json").write_bytes(content)
    shutil.copy(finished / "sky.toml", tmp_path / "sky.toml")
    args = ("run", "sky.toml") if command == "run" else ("resume", "runs/sky")
    result = _aura(*args, *OFFLINE, cwd=tmp_path)
    _one_error(result, "runs/sky/origin.json: ", "delete this file")
    assert (run_dir / "final.mp4").read_bytes() == (finished / "runs" / "sky" / "final.mp4").read_bytes()


@pytest.mark.parametrize(
    "content", [b"{not json", b"\xff", b"[1, 2]", b'{"run_id": "sky", "providers": []}'], ids=str
)
def test_a_damaged_report_json_is_one_line(finished: Path, tmp_path: Path, content: bytes) -> None:
    """`aura report` on a run whose report.json is not JSON, not UTF-8 or of the wrong shape: one line naming it, exit 2."""
    run_dir = _copy_run(finished, tmp_path)
    (run_dir / "report.json").write_bytes(content)
    result = _aura("report", "runs/sky", cwd=tmp_path)
    _one_error(result, "runs/sky/report.json: not a report aura wrote", "aura resume runs/sky")


# -- --out and --runs-dir ---------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["brief", "music", "script", "sidecar"])
def test_out_naming_an_input_is_refused_before_any_work(tmp_path: Path, which: str) -> None:
    """`--out` naming the brief, its music, the script file or (through its captions) a script file beside it exits 2 before a run directory exists; the file is untouched."""
    (tmp_path / "song.mp4").write_bytes(b"not really music")
    (tmp_path / "lines.md").write_text("# Sky\n\n## Blue\nThe sky is blue.\n", encoding="utf-8")
    (tmp_path / "talk.srt").write_text("# Sky\n\n## Blue\nThe sky is blue.\n", encoding="utf-8")
    script = {"script": "lines.md", "sidecar": "talk.srt"}.get(which)
    extra = f'\n[providers.scriptfile]\npath = "{script}"\n' if script else ""
    text = _brief_text(music="song.mp4" if which == "music" else None, extra=extra)
    (tmp_path / "b.toml").write_text(text, encoding="utf-8")
    out = {"brief": "b.toml", "music": "song.mp4", "script": "lines.md", "sidecar": "talk.mp4"}[which]
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    result = _aura("run", "b.toml", *OFFLINE, "--out", out, cwd=tmp_path)
    _one_error(result, f"--out {out}: would overwrite ", "an input of this run")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no runs/ either


@pytest.mark.parametrize(("codec", "out", "wanted"), [("vp9", "x.mp4", ".webm"), ("h264", "x.webm", ".mp4")])
def test_out_with_the_wrong_suffix_for_the_codec_is_refused_before_any_work(
    tmp_path: Path, codec: str, out: str, wanted: str
) -> None:
    """`codec = "vp9"` with `--out x.mp4` (WebM bytes under .mp4) and H.264 under .webm exit 2 naming the suffix to use, before any work."""
    (tmp_path / "b.toml").write_text(_brief_text(codec=codec), encoding="utf-8")
    result = _aura("run", "b.toml", *OFFLINE, "--out", out, cwd=tmp_path)
    _one_error(result, f"--out {out}: codec {codec} writes", f"name the file with {wanted}")
    assert not (tmp_path / "runs").exists()
    assert not (tmp_path / out).exists()


@pytest.mark.parametrize("where", ["under-a-file", "inside-the-run", "read-only"])
def test_out_in_an_unusable_place_is_refused_before_any_work(tmp_path: Path, where: str) -> None:
    """`--out` under a file, inside the run directory or in a read-only folder exits 2 before the render, not with a traceback after it."""
    if where == "read-only" and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    (tmp_path / "b.toml").write_text(_brief_text(), encoding="utf-8")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    out = {"under-a-file": "a-file/v.mp4", "inside-the-run": "runs/b/v.mp4", "read-only": "locked/v.mp4"}[
        where
    ]
    try:
        result = _aura("run", "b.toml", *OFFLINE, "--out", out, cwd=tmp_path)
    finally:
        locked.chmod(0o755)
    _one_error(result, f"--out {out}: ")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("runs_dir", ["a-file/runs", "a-file/deeper/runs"])
def test_a_runs_dir_that_cannot_be_made_is_one_line(tmp_path: Path, runs_dir: str) -> None:
    """`--runs-dir` under a file exits 2 with one line naming the run directory (one naming a file is click's usage error)."""
    (tmp_path / "b.toml").write_text(_brief_text(), encoding="utf-8")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    result = _aura("run", "b.toml", *OFFLINE, "--runs-dir", runs_dir, cwd=tmp_path)
    _one_error(result, f"{runs_dir}/b: cannot be used as a run directory", "--runs-dir")
    assert (tmp_path / "a-file").read_text() == "x"


# -- inputs that are not what they seem -------------------------------------------------------------------


@pytest.mark.parametrize("target", ["missing/brief.toml", "a-file/brief.toml"])
def test_init_into_a_folder_that_is_not_there_is_one_line(tmp_path: Path, target: str) -> None:
    """`aura init` into a missing folder or under a file exits 2 with one line, and makes no folder."""
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    result = _aura("init", target, cwd=tmp_path)
    _one_error(result, f"{target}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.parametrize("kind", ["symlink-loop", "fifo", "device"])
def test_a_brief_that_is_not_a_regular_file_is_one_line(tmp_path: Path, kind: str) -> None:
    """A brief that is a symlink loop, a FIFO (which would block a read for ever) or a device exits 2 with one line saying what it is."""
    brief = tmp_path / "b.toml"
    if kind == "symlink-loop":
        brief.symlink_to(brief)
    elif kind == "fifo":
        os.mkfifo(brief)
    else:
        brief.symlink_to("/dev/null")
    expected = {
        "symlink-loop": "is a symlink loop",
        "fifo": "is a named pipe",
        "device": "is a character device",
    }
    result = _aura("run", "b.toml", *OFFLINE, cwd=tmp_path, timeout=60)
    _one_error(result, f"b.toml: {expected[kind]}")


def _png_header(width: int, height: int) -> bytes:
    """The start of a PNG claiming ``width`` x ``height``: enough for Pillow to open it and check its size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_a_picture_over_pillows_size_limit_is_one_line_naming_it(tmp_path: Path) -> None:
    """A media-folder picture of 30000x30000 pixels (a decompression bomb) stops the run with exit 2 and one line naming the file."""
    media = tmp_path / "media"
    media.mkdir()
    (media / "sky.png").write_bytes(_png_header(30_000, 30_000))
    extra = '\n[providers.folder]\npath = "media"\n'
    (tmp_path / "b.toml").write_text(_brief_text(image="folder", extra=extra), encoding="utf-8")
    result = _aura("run", "b.toml", *OFFLINE, cwd=tmp_path)
    _one_error(result, f"{media / 'sky.png'}: picture too large to open safely", "shrink it")
    assert "Traceback" not in result.stderr
