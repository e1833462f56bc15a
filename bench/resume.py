"""Resume: provider calls saved by ``aura resume`` after ``aura run`` is SIGKILLed half-way.

A tiny third-party plugin distribution (``aura-bench-fakes``: the core's fake providers, each call
taking ``AURA_TP_LATENCY`` seconds and logging one line per finished call to ``AURA_TP_CALL_LOG``)
is built and installed with ``pip install --target`` into a temp folder, never into the venv.
``aura run --json`` runs a brief of SCENES scenes as a subprocess; when half its items are done
(``item_done`` events: script, voices, pictures, segments, assembly) it gets SIGKILL. Then
``aura resume`` finishes the run. A call is *repeated* when the resume makes a call the killed run
had already finished; goal: none repeated (every finished call saved).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

from _common import header, row

AURA = Path(sys.executable).with_name("aura")

PLUGIN = '''\
"""Fake providers for the resume benchmark: latency and a call log from the environment."""

import os

from aura_core import hookimpl
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice


@hookimpl
def aura_register_providers(register):
    latency = float(os.environ.get("AURA_TP_LATENCY", "0"))
    log = os.environ.get("AURA_TP_CALL_LOG") or None
    register(FakeScriptWriter(name="tp-llm", latency=latency, auto=False, call_log=log))
    register(FakeVoice(name="tp-voice", latency=latency, auto=False, call_log=log))
    register(FakeIllustrator(name="tp-image", latency=latency, auto=False, call_log=log))
    register(FakeComposer(name="tp-composer", latency=latency, auto=False, call_log=log))
'''


def build_plugin(root: Path) -> Path:
    """Write, build and install ``aura-bench-fakes`` into ``root/site``; returns the site folder."""
    source = root / "src-dist"
    package = source / "src" / "aura_bench_fakes"
    package.mkdir(parents=True)
    (source / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "aura-bench-fakes"
            version = "0.0.1"
            dependencies = ["aura-core"]

            [project.entry-points.aura]
            benchfakes = "aura_bench_fakes.plugin"

            [tool.hatch.build.targets.wheel]
            packages = ["src/aura_bench_fakes"]
            """
        )
    )
    (package / "__init__.py").write_text('"""Fakes for the resume benchmark."""\n')
    (package / "plugin.py").write_text(PLUGIN)
    site = root / "site"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"),
            *("--no-index", "--disable-pip-version-check", "--target", str(site), str(source)),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return site


def write_brief(folder: Path, scenes: int) -> Path:
    """A brief of ``scenes`` scenes at 64x36, 10 fps, naming the bench's fake providers."""
    path = folder / "resume-bench.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [brief]
            topic = "Resume"

            [plan]
            duration = "{scenes * 5}s"
            scenes = {scenes}

            [render]
            resolution = "64x36"
            fps = 10
            captions = "off"

            [providers]
            llm = ["tp-llm"]
            tts = ["tp-voice"]
            image = ["tp-image"]
            composer = ["tp-composer"]
            """
        )
    )
    return path


def environment(site: Path, latency: float, log: Path) -> dict[str, str]:
    """The ``aura`` subprocess environment: only the bench plugin and the core, no stray aura settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURA_") and k != "PYTHONPATH"}
    env.update(
        PYTHONPATH=str(site),
        AURA_LOAD_PLUGINS="benchfakes",
        AURA_TP_LATENCY=str(latency),
        AURA_TP_CALL_LOG=str(log),
    )
    return env


def calls(log: Path) -> Counter[str]:
    """The finished calls in a call log, as a multiset of call identities."""
    return Counter(log.read_text().splitlines()) if log.exists() else Counter()


def one_trial(site: Path, folder: Path, scenes: int, latency: float) -> dict[str, float]:
    """Run, SIGKILL at half the items, resume; the counts of the trial."""
    brief = write_brief(folder, scenes)
    total_items = 3 * scenes + 2
    before, after = folder / "calls-before.log", folder / "calls-after.log"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(AURA), "run", str(brief), "--json", "--runs-dir", str(folder / "runs")],
        env=environment(site, latency, before),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    done = 0
    for line in proc.stdout:
        event = json.loads(line)
        if event.get("event") == "item_done":
            done += 1
            if done >= total_items / 2:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait()
    proc.stdout.close()
    killed_after = time.perf_counter() - started
    finished = calls(before)
    run_dir = folder / "runs" / "resume-bench"
    started = time.perf_counter()
    resumed = subprocess.run(
        [str(AURA), "resume", str(run_dir), "--json"],
        env=environment(site, latency, after),
        capture_output=True,
        text=True,
        timeout=600,
    )
    resume_seconds = time.perf_counter() - started
    if resumed.returncode != 0:
        raise SystemExit(f"aura resume failed: {resumed.stderr.strip()[-500:]}")
    again = calls(after)
    repeated = sum((finished & again).values())
    report = json.loads((run_dir / "report.json").read_text())
    return {
        "killed_at_items": done,
        "total_calls": total_items,
        "finished_before_kill": sum(finished.values()),
        "made_by_resume": sum(again.values()),
        "repeated": repeated,
        "saved": sum(finished.values()) - repeated,
        "report_calls_saved": float(report.get("calls_saved", -1)),
        "kill_seconds": killed_after,
        "resume_seconds": resume_seconds,
    }


def main(argv: list[str] | None = None) -> None:
    """Print calls finished before the kill, calls repeated after resume, and the verdict."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenes", type=int, default=24)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per fake provider call")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    trials = []
    with tempfile.TemporaryDirectory() as tmp:
        site = build_plugin(Path(tmp))
        for i in range(args.repeats):
            folder = Path(tmp) / f"trial-{i}"
            folder.mkdir()
            trials.append(one_trial(site, folder, args.scenes, args.latency))
    header(
        f"resume: aura run --json SIGKILLed after half of its {3 * args.scenes + 2} items "
        f"({args.scenes} scenes, {args.latency} s per fake call), then aura resume; "
        "goal: every finished call saved",
        f"python bench/resume.py --scenes {args.scenes} --latency {args.latency}",
        args.repeats,
    )

    def column(name: str) -> list[float]:
        return [float(t[name]) for t in trials]

    row("items in a whole run", column("total_calls"), "", "", ".0f")
    row("items done when killed (item_done events)", column("killed_at_items"), "", "", ".0f")
    row("calls finished before the kill (call log)", column("finished_before_kill"), "", "", ".0f")
    row("calls made by the resume", column("made_by_resume"), "", "", ".0f")
    row(
        "calls in all (before + resume - repeated)",
        [t["finished_before_kill"] + t["made_by_resume"] - t["repeated"] for t in trials],
        "",
        "fewer than items: equal voices are made once",
        ".0f",
    )
    row("finished calls repeated by the resume", column("repeated"), "", "goal 0", ".0f")
    row("calls saved (report.json calls_saved)", column("report_calls_saved"), "", "", ".0f")
    row("seconds from start to the kill", column("kill_seconds"), "s")
    row("seconds of the resume", column("resume_seconds"), "s")
    fractions = [t["saved"] / t["finished_before_kill"] for t in trials if t["finished_before_kill"]]
    row("finished calls saved", [100 * f for f in fractions], "%", "", ".0f")
    met = all(t["repeated"] == 0 for t in trials)
    print(f"  every finished call saved in every trial: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
