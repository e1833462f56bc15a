"""The bad-input suite: every mistake a user can make at the command line gets one line, the right exit code, no traceback, and nothing of theirs lost.

Each case writes a small folder (a brief and whatever it names), runs the real ``aura`` console script in a
subprocess with the offline plugins, and checks:

* the exit code (2 for a user mistake, 1 for a fault);
* stderr is exactly one line, ``aura: error: …``, containing the case's fragment (what is wrong and where);
* no ``Traceback`` anywhere in the output;
* every file that was in the folder before the command has the same bytes after it (nothing lost or overwritten).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from attrs import frozen

AURA = Path(sys.executable).with_name("aura")
TOPIC = 'topic = "Tide pools"'


def brief(*, brief: str = TOPIC, extra: str = "", **tables: str) -> bytes:
    """A brief with a tiny render; ``tables`` replace or add whole tables (``plan="duration = 1"``)."""
    parts = {"brief": brief, "plan": 'duration = "6s"', "render": 'resolution = "320x180"', **tables}
    body = "\n".join(f"[{name}]\n{text}\n" for name, text in parts.items() if text is not None)
    return (body + extra).encode()


def plan(text: str) -> bytes:
    """A brief whose [plan] table is ``text``."""
    return brief(plan=text)


def voice(text: str) -> bytes:
    """A brief whose [voice] table is ``text``."""
    return brief(voice=text)


def render(text: str) -> bytes:
    """A brief whose [render] table is ``text`` (with the tiny resolution unless ``text`` sets one)."""
    if "resolution" not in text and "preset" not in text:
        text = 'resolution = "320x180"\n' + text
    return brief(render=text)


def providers(text: str) -> bytes:
    """A brief whose [providers] table (and sub-tables) is ``text``."""
    return brief(extra="[providers]\n" + text + "\n")


Files = dict[str, bytes | Callable[[Path], None]]


@frozen
class Case:
    """One bad input: the folder's files, the command's arguments (``{d}`` is the folder), the exit code, a fragment of the line."""

    id: str
    files: Files
    fragment: str
    args: tuple[str, ...] = ("run", "{d}/brief.toml")
    code: int = 2
    env: tuple[tuple[str, str], ...] = ()


def run_case(*parts: str, code: int = 2, env: tuple[tuple[str, str], ...] = ()) -> Callable[..., Case]:
    """Cases sharing arguments: ``run_case("run", …)("id", files, fragment)``."""

    def make(case_id: str, files: Files | bytes, fragment: str) -> Case:
        given = files if isinstance(files, dict) else {"brief.toml": files}
        return Case(case_id, given, fragment, parts or ("run", "{d}/brief.toml"), code, env)

    return make


run = run_case()


def symlink_loop(folder: Path) -> None:
    """``brief.toml`` → ``loop.toml`` → ``brief.toml``."""
    (folder / "brief.toml").symlink_to(folder / "loop.toml")
    (folder / "loop.toml").symlink_to(folder / "brief.toml")


def dangling(folder: Path) -> None:
    """``brief.toml`` points at nothing."""
    (folder / "brief.toml").symlink_to(folder / "gone.toml")


def huge_picture(folder: Path) -> None:
    """A PNG whose header claims more pixels than Pillow's decompression-bomb limit."""
    import struct
    import zlib

    (folder / "media").mkdir()
    width = height = 20_000
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    # Pillow refuses such a picture from its header alone: the pixel data need not be all there.
    data = zlib.compress(b"\x00" * (width + 1), 9)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    (folder / "media" / "big.png").write_bytes(png)


def run_dir_with(**files: bytes) -> Callable[[Path], None]:
    """A run directory ``runs/brief`` holding a valid brief copy and ``files``."""

    def make(folder: Path) -> None:
        run_dir = folder / "runs" / "brief"
        run_dir.mkdir(parents=True)
        (run_dir / "brief.toml").write_bytes(brief())
        for name, data in files.items():
            (run_dir / name.replace("_", ".")).write_bytes(data)

    return make


BIG = "x" * 100_000
SCRIPT_BRIEF = brief(extra='[providers]\nllm = ["scriptfile"]\n[providers.scriptfile]\npath = "script.md"\n')
FOLDER_BRIEF = brief(extra='[providers]\nimage = ["folder"]\n[providers.folder]\npath = "media"\n')

CASES: list[Case] = [
    # -- the file itself ------------------------------------------------------------------------
    run("missing-file", {}, "no such file"),
    run("folder-as-brief", {"brief.toml": lambda d: (d / "brief.toml").mkdir()}, "is a folder"),
    run("symlink-loop", {"brief.toml": symlink_loop}, "brief.toml"),
    run("dangling-symlink", {"brief.toml": dangling}, "brief.toml"),
    run("empty-file", b"", "brief: required table is missing"),
    run("only-comments", b"# nothing here\n", "brief: required table is missing"),
    run("latin-1", b'[brief]\ntopic = "caf\xe9"\n', "not UTF-8"),
    run("utf-16", '[brief]\ntopic = "x"\n'.encode("utf-16"), "not UTF-8"),
    run("binary-garbage", bytes(range(256)) * 4, "brief.toml"),
    run("raw-nul", b'[brief]\ntopic = "a\x00b"\n', "not valid TOML"),
    # -- TOML syntax ------------------------------------------------------------------------------
    run("unclosed-table", b'[brief\ntopic = "x"\n', "not valid TOML"),
    run("unclosed-string", b'[brief]\ntopic = "x\n', "not valid TOML"),
    run("duplicate-key", b'[brief]\ntopic = "x"\ntopic = "y"\n', "not valid TOML"),
    run("duplicate-table", b'[brief]\ntopic = "x"\n[brief]\ntone = "y"\n', "not valid TOML"),
    run("bad-escape", b'[brief]\ntopic = "a\\qb"\n', "not valid TOML"),
    run("unclosed-array", b'[brief]\ntopic = "x"\n[providers]\nllm = ["a"\n', "not valid TOML"),
    run("missing-value", b"[brief]\ntopic =\n", "not valid TOML"),
    run("bare-word-value", b"[brief]\ntopic = tide pools\n", "not valid TOML"),
    # -- tables ------------------------------------------------------------------------------------
    run("brief-not-table", b"brief = 1\n", "brief"),
    run("plan-not-table", brief(extra='plan = "60s"\n', plan=None), "plan"),  # type: ignore[arg-type]
    run("render-not-table", b'render = 3\n[brief]\ntopic = "x"\n', "render: expected a table"),
    run("providers-not-table", b'providers = "x"\n[brief]\ntopic = "x"\n', "providers: expected a table"),
    run("voice-not-table", b'voice = []\n[brief]\ntopic = "x"\n', "voice"),
    run("unknown-table", brief(extra="[extras]\nx = 1\n"), "extras: unknown table"),
    run("no-brief-table", b'[plan]\nduration = "6s"\n', "brief: required table is missing"),
    run("unknown-brief-key", brief(brief=TOPIC + '\ntitel = "x"'), "brief.titel: unknown key"),
    run("unknown-plan-key", plan('duration = "6s"\nspeed = 2'), "plan.speed: unknown key"),
    run("unknown-voice-key", voice("speed = 2"), "voice.speed: unknown key"),
    run("render-width", render("width = 1920"), "render.width"),
    # -- [brief] -----------------------------------------------------------------------------------
    run("topic-number", brief(brief="topic = 1"), "brief.topic"),
    run("topic-empty", brief(brief='topic = ""'), "brief.topic"),
    run("topic-blank", brief(brief='topic = "   "'), "brief.topic"),
    run("topic-list", brief(brief='topic = ["a"]'), "brief.topic"),
    run("topic-missing", brief(brief='tone = "calm"'), "brief.topic"),
    run("topic-huge", brief(brief=f'topic = "{BIG}"'), "brief.topic"),
    run("topic-nul", brief(brief='topic = "a\\u0000b"'), "brief.topic"),
    run("audience-number", brief(brief=TOPIC + "\naudience = 1"), "brief.audience"),
    run("audience-huge", brief(brief=TOPIC + f'\naudience = "{BIG}"'), "brief.audience"),
    run("goal-bool", brief(brief=TOPIC + "\ngoal = true"), "brief.goal"),
    run("goal-huge", brief(brief=TOPIC + f'\ngoal = "{BIG}"'), "brief.goal"),
    run("tone-table", brief(brief=TOPIC + "\ntone = {a = 1}"), "brief.tone"),
    run("language-number", brief(brief=TOPIC + "\nlanguage = 5"), "brief.language"),
    run("aspect-4-3", brief(brief=TOPIC + '\naspect = "4:3"'), "brief.aspect"),
    run("aspect-float", brief(brief=TOPIC + "\naspect = 1.77"), "brief.aspect"),
    # -- [plan] ------------------------------------------------------------------------------------
    run("duration-word", plan('duration = "soon"'), "plan.duration"),
    run("duration-negative-text", plan('duration = "-5s"'), "plan.duration"),
    run("duration-negative", plan("duration = -5"), "plan.duration"),
    run("duration-zero", plan("duration = 0"), "plan.duration"),
    run("duration-zero-text", plan('duration = "0s"'), "plan.duration"),
    run("duration-bool", plan("duration = true"), "plan.duration"),
    run("duration-empty", plan('duration = ""'), "plan.duration"),
    run("duration-list", plan("duration = [60]"), "plan.duration"),
    run("duration-nan", plan("duration = nan"), "plan.duration"),
    run("duration-inf", plan("duration = inf"), "plan.duration"),
    run("duration-minus-inf", plan("duration = -inf"), "plan.duration"),
    run("duration-1000h", plan('duration = "1000h"'), "plan.duration"),
    run("duration-1e300", plan("duration = 1e300"), "plan.duration"),
    run("duration-99999m", plan('duration = "99999m"'), "plan.duration"),
    run("pacing-unknown", plan('pacing = "slow"'), "plan.pacing"),
    run("pacing-number", plan("pacing = 1"), "plan.pacing"),
    run("density-unknown", plan('density = "thick"'), "plan.density"),
    run("style-number", plan("style = 2"), "plan.style"),
    run("style-huge", plan(f'style = "{BIG}"'), "plan.style"),
    run("scenes-zero", plan("scenes = 0"), "plan.scenes"),
    run("scenes-too-many", plan("scenes = 1001"), "plan.scenes"),
    run("scenes-fraction", plan("scenes = 1.5"), "plan.scenes"),
    run("scenes-text", plan('scenes = "3"'), "plan.scenes"),
    run("scenes-bool", plan("scenes = true"), "plan.scenes"),
    run("scenes-inf", plan("scenes = inf"), "plan.scenes"),
    # -- [voice] -----------------------------------------------------------------------------------
    run("voice-name-number", voice("name = 1"), "voice.name"),
    run("voice-name-huge", voice(f'name = "{BIG}"'), "voice.name"),
    run("rate-too-slow", voice("rate = 0.1"), "voice.rate"),
    run("rate-too-fast", voice("rate = 3"), "voice.rate"),
    run("rate-text", voice('rate = "fast"'), "voice.rate"),
    run("rate-nan", voice("rate = nan"), "voice.rate"),
    run("rate-inf", voice("rate = inf"), "voice.rate"),
    run("pitch-high", voice("pitch = 20"), "voice.pitch"),
    run("pitch-low", voice("pitch = -20"), "voice.pitch"),
    run("pitch-nan", voice("pitch = nan"), "voice.pitch"),
    run("pause-unknown", voice('pause = "medium"'), "voice.pause"),
    # -- [render] ----------------------------------------------------------------------------------
    run("preset-8k", brief(render='preset = "8k"'), "render.preset"),
    run("preset-number", brief(render="preset = 1080"), "render.preset"),
    run("resolution-word", brief(render='resolution = "abc"'), "render.resolution"),
    run("resolution-tiny", brief(render='resolution = "10x10"'), "render.resolution"),
    run("resolution-huge", brief(render='resolution = "9000x9000"'), "render.resolution"),
    run("resolution-half", brief(render='resolution = "1280x"'), "render.resolution"),
    run("fps-zero", render("fps = 0"), "render.fps"),
    run("fps-high", render("fps = 121"), "render.fps"),
    run("fps-fraction", render("fps = 29.97"), "render.fps"),
    run("fps-nan", render("fps = nan"), "render.fps"),
    run("fps-text", render('fps = "30"'), "render.fps"),
    run("codec-unknown", render('codec = "mpeg2"'), "render.codec"),
    run("quality-unknown", render('quality = "ultra"'), "render.quality"),
    run("captions-yes", render('captions = "yes"'), "render.captions"),
    run("captions-bool", render("captions = true"), "render.captions"),
    run("music-missing", render('music = "song.mp3"'), "render.music"),
    run("music-number", render("music = 1"), "render.music"),
    run("music-volume-negative", render("music_volume = -1"), "render.music_volume"),
    run("music-volume-high", render("music_volume = 2"), "render.music_volume"),
    run("music-volume-nan", render("music_volume = nan"), "render.music_volume"),
    run("transition-duration-long", render("transition_duration = 5"), "render.transition_duration"),
    run("transition-duration-negative", render("transition_duration = -1"), "render.transition_duration"),
    run("transition-duration-inf", render("transition_duration = inf"), "render.transition_duration"),
    run("loudness-zero", render("loudness = 0"), "render.loudness"),
    run("loudness-low", render("loudness = -50"), "render.loudness"),
    run("loudness-nan", render("loudness = nan"), "render.loudness"),
    run("transition-number", render("transition = 3"), "render.transition"),
    # -- [providers] ---------------------------------------------------------------------------------
    run("chain-number", providers("llm = 1"), "providers.llm"),
    run("chain-empty", providers("llm = []"), "providers.llm"),
    run("chain-of-numbers", providers("llm = [1]"), "providers.llm"),
    run("chain-blank-name", providers('llm = [""]'), "providers.llm"),
    run("unknown-kind", providers('video = ["x"]'), "providers.video"),
    run("defaults-not-table", providers("defaults = 1"), "providers.defaults"),
    run(
        "defaults-unknown-kind", providers("[providers.defaults.foo]\ntimeout = 1"), "providers.defaults.foo"
    ),
    run(
        "defaults-unknown-key",
        providers("[providers.defaults.tts]\nbogus = 1"),
        "providers.defaults.tts.bogus",
    ),
]

# Mistakes found once the plugins are loaded: the offline ones are enough.
with_plugins = run_case("run", "{d}/brief.toml", "--plugins", "local,ffmpeg", "--runs-dir", "{d}/runs")
CASES += [
    with_plugins("unknown-provider", providers('llm = ["nosuch"]'), "nosuch"),
    with_plugins("timeout-nan", providers("[providers.piper]\ntimeout = nan"), "timeout"),
    with_plugins("timeout-inf", providers("[providers.piper]\ntimeout = inf"), "timeout"),
    with_plugins("timeout-negative", providers("[providers.piper]\ntimeout = -1"), "timeout"),
    with_plugins("budget-inf", providers("[providers.piper]\nbudget = inf"), "budget"),
    with_plugins("backoff-inf", providers("[providers.piper]\nbackoff = inf"), "backoff"),
    with_plugins("backoff-nan", providers("[providers.defaults.tts]\nbackoff = nan"), "backoff"),
    with_plugins("attempts-zero", providers("[providers.piper]\nattempts = 0"), "attempts"),
    with_plugins("attempts-fraction", providers("[providers.piper]\nattempts = 1.5"), "attempts"),
    with_plugins("attempts-huge", providers("[providers.piper]\nattempts = 1e300"), "attempts"),
    with_plugins(
        "breaker-cooldown-inf", providers("[providers.piper]\nbreaker_cooldown = inf"), "breaker_cooldown"
    ),
    with_plugins("transition-unknown", render('transition = "wipe"'), "render.transition"),
    with_plugins(
        "music-not-audio",
        {"brief.toml": render('music = "song.mp3"'), "song.mp3": b"this is not audio\n" * 100},
        "render.music",
    ),
    with_plugins("scriptfile-no-path", providers('llm = ["scriptfile"]'), "providers.scriptfile"),
    with_plugins("scriptfile-missing", SCRIPT_BRIEF, "script.md"),
    with_plugins("scriptfile-empty", {"brief.toml": SCRIPT_BRIEF, "script.md": b""}, "script.md"),
    with_plugins(
        "scriptfile-nul",
        {"brief.toml": SCRIPT_BRIEF, "script.md": b"## One\nSome \x00 words here.\n"},
        "script.md",
    ),
    with_plugins(
        "scriptfile-latin-1",
        {"brief.toml": SCRIPT_BRIEF, "script.md": b"## One\nCaf\xe9 time.\n"},
        "script.md",
    ),
    with_plugins(
        "scriptfile-no-heading", {"brief.toml": SCRIPT_BRIEF, "script.md": b"Just words.\n"}, "script.md"
    ),
    with_plugins(
        "scriptfile-is-folder",
        {"brief.toml": SCRIPT_BRIEF, "script.md": lambda d: (d / "script.md").mkdir()},
        "script.md",
    ),
    with_plugins("folder-missing", FOLDER_BRIEF, "media"),
    with_plugins(
        "folder-empty", {"brief.toml": FOLDER_BRIEF, "media": lambda d: (d / "media").mkdir()}, "media"
    ),
    with_plugins("folder-bomb", {"brief.toml": FOLDER_BRIEF, "media": huge_picture}, "big.png"),
    with_plugins("settings-for-settingless", providers("[providers.cards]\nbogus = 1"), "providers.cards"),
]

# The command line around the brief.
CASES += [
    Case(
        "out-is-the-brief",
        {"brief.toml": brief()},
        "--out",
        ("run", "{d}/brief.toml", "--out", "{d}/brief.toml"),
    ),
    Case(
        "out-is-the-music",
        {"brief.toml": render('music = "song.m4a"'), "song.m4a": b"\x00" * 64},
        "--out",
        ("run", "{d}/brief.toml", "--out", "{d}/song.m4a"),
    ),
    Case(
        "out-under-a-file",
        {"brief.toml": brief(), "file": b"x"},
        "--out",
        ("run", "{d}/brief.toml", "--out", "{d}/file/video.mp4"),
    ),
    Case(
        "out-suffix-not-container",
        {"brief.toml": render('codec = "vp9"')},
        "--out",
        ("run", "{d}/brief.toml", "--out", "{d}/video.mp4"),
    ),
    Case(
        "out-suffix-unknown",
        {"brief.toml": brief()},
        "--out",
        ("run", "{d}/brief.toml", "--out", "{d}/video.txt"),
    ),
    Case(
        "runs-dir-under-a-file",
        {"brief.toml": brief(), "file": b"x"},
        "file",
        ("run", "{d}/brief.toml", "--runs-dir", "{d}/file/runs"),
    ),
    Case(
        "unknown-plugin", {"brief.toml": brief()}, "nosuch", ("run", "{d}/brief.toml", "--plugins", "nosuch")
    ),
    Case("resume-missing", {}, "no such run directory", ("resume", "{d}/runs/nothing")),
    Case(
        "resume-not-a-run",
        {"empty": lambda d: (d / "empty").mkdir()},
        "not an aura run directory",
        ("resume", "{d}/empty"),
    ),
    Case(
        "resume-bad-brief-copy",
        {"runs": run_dir_with(brief_toml=b"[brief\n")},
        "brief.toml",
        ("resume", "{d}/runs/brief"),
    ),
    Case(
        "resume-corrupt-origin",
        {"runs": run_dir_with(origin_json=b"{not json")},
        "origin.json",
        ("resume", "{d}/runs/brief", "--plugins", "local,ffmpeg"),
    ),
    Case(
        "resume-corrupt-journal",
        {"runs": run_dir_with(journal_sqlite=b"this is not a database" * 100)},
        "journal.sqlite",
        ("resume", "{d}/runs/brief", "--plugins", "local,ffmpeg"),
    ),
    Case("report-missing", {"runs": run_dir_with()}, "report.json", ("report", "{d}/runs/brief")),
    Case(
        "report-corrupt",
        {"runs": run_dir_with(report_json=b"{oops")},
        "report.json",
        ("report", "{d}/runs/brief"),
    ),
    Case(
        "report-not-object",
        {"runs": run_dir_with(report_json=b"[1, 2]")},
        "report.json",
        ("report", "{d}/runs/brief"),
    ),
    Case("init-missing-folder", {}, "nowhere", ("init", "{d}/nowhere/brief.toml")),
    Case("init-exists", {"brief.toml": brief()}, "already exists", ("init", "{d}/brief.toml")),
    Case("batch-nothing", {"empty": lambda d: (d / "empty").mkdir()}, "empty", ("batch", "{d}/empty")),
    Case("batch-missing", {}, "missing", ("batch", "{d}/missing")),
    Case("cache-off", {}, "shared cache is off", ("cache", "info")),
    Case(
        "cache-prune-nothing",
        {},
        "say what to drop",
        ("cache", "prune"),
        env=(("AURA_CACHE_DIR", "{d}/cache"),),
    ),
    Case(
        "cache-prune-bad-age",
        {},
        "--older-than",
        ("cache", "prune", "--older-than", "soon"),
        env=(("AURA_CACHE_DIR", "{d}/cache"),),
    ),
    Case(
        "cache-prune-bad-size",
        {},
        "--max-size",
        ("cache", "prune", "--max-size", "lots"),
        env=(("AURA_CACHE_DIR", "{d}/cache"),),
    ),
    Case(
        "cache-corrupt-index",
        {
            "cache": lambda d: (
                (d / "cache").mkdir(),
                (d / "cache" / "index.sqlite").write_bytes(b"junk" * 500),
            )
        },
        "cache",
        ("cache", "info"),
        env=(("AURA_CACHE_DIR", "{d}/cache"),),
    ),
]


def _snapshot(folder: Path) -> dict[str, bytes]:
    """The bytes of every regular file under ``folder`` (links not followed)."""
    found = {}
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            found[str(path.relative_to(folder))] = path.read_bytes()
    return found


def test_the_suite_is_large_and_ids_are_unique() -> None:
    """The issue asks for at least 120 bad inputs; every case has its own id."""
    ids = [case.id for case in CASES]
    assert len(ids) >= 120
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_line_and_loses_nothing(case: Case, tmp_path: Path) -> None:
    """The command exits with the case's code, prints one ``aura: error:`` line naming the problem, no traceback, and leaves the user's files as they were."""
    folder = tmp_path / "work"
    folder.mkdir()
    for name, content in case.files.items():
        if callable(content):
            content(folder)
        else:
            (folder / name).write_bytes(content)
    before = _snapshot(folder)
    args = [arg.replace("{d}", str(folder)) for arg in case.args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURA_")}
    env.update({k: v.replace("{d}", str(folder)) for k, v in case.env})
    result = subprocess.run(
        [str(AURA), *args], capture_output=True, text=True, cwd=folder, env=env, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == case.code, output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("aura: error: "), result.stderr
    assert case.fragment in lines[0], result.stderr
    after = _snapshot(folder)
    lost = {name for name, data in before.items() if after.get(name) != data}
    assert not lost, f"changed or removed: {sorted(lost)}"
    shutil.rmtree(folder, ignore_errors=True)
