"""report.html of a real small run (template, piper, cards, ffmpeg at 160x90, 10 fps) opened in headless Chromium.

Chromium is Debian's ``chromium`` package (``make test`` installs it when it is missing and the user
is root). The page is driven over the Chrome DevTools Protocol with a tiny client on the
``websockets`` library (its synchronous client), talking to the browser on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

AURA = Path(sys.executable).with_name("aura")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed: run `make test` as root, or `apt-get install -y chromium`",
)

BRIEF = """\
[brief]
topic = "Honeybees"
[plan]
duration = "8s"
scenes = 2
[render]
resolution = "160x90"
fps = 10
[providers]
llm = ["template"]
tts = ["piper"]
image = ["cards"]
composer = ["ffmpeg"]
"""


class DevTools:
    """A minimal CDP client for one page target: commands, and the events that arrived meanwhile."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Run a command and return its result (events received before the answer are kept)."""
        number = next(self._ids)
        self._ws.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=60))
            if message.get("id") == number:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_for(self, event: str) -> dict[str, Any]:
        """Wait for an event (or return it when it already came)."""
        for message in self.events:
            if message.get("method") == event:
                return message
        while True:
            message = json.loads(self._ws.recv(timeout=60))
            self.events.append(message)
            if message.get("method") == event:
                return message


@pytest.fixture
def chromium() -> Iterator[int]:
    """A headless Chromium with remote debugging on a random loopback port; yields the port."""
    assert CHROMIUM is not None
    profile = Path(tempfile.mkdtemp(prefix="aura-chromium-"))
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--window-size=1100,1400",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.is_file() or not port_file.read_text().strip():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("chromium did not start its DevTools server")
            time.sleep(0.05)
        yield int(port_file.read_text().split()[0])
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)


@contextmanager
def open_page(port: int) -> Iterator[DevTools]:
    """Connect to the browser's first page target."""
    from websockets.sync.client import connect

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as answer:
        targets = json.load(answer)
    page = next(t for t in targets if t["type"] == "page")
    with connect(page["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024, open_timeout=30) as ws:
        yield DevTools(ws)


_CHECKS = """
JSON.stringify({
  lanes: document.querySelectorAll('#timeline svg g.lane').length,
  bars: Array.from(document.querySelectorAll('#timeline svg g.bar')).map(b => {
    const r = b.querySelector('rect').getBoundingClientRect();
    return {provider: b.dataset.provider, outcome: b.dataset.outcome, start: +b.dataset.start,
            end: +b.dataset.end, width: r.width, height: r.height};
  }),
  svgWidth: document.querySelector('#timeline svg').getBoundingClientRect().width,
  scenes: Array.from(document.querySelectorAll('#contact-sheet figure.scene')).map(f => ({
    heading: f.querySelector('h3').textContent,
    narration: f.querySelector('.narration').textContent,
    facts: f.querySelector('.facts').textContent,
    loaded: !!f.querySelector('img') && f.querySelector('img').complete && f.querySelector('img').naturalWidth > 0,
    width: f.querySelector('img') ? f.querySelector('img').naturalWidth : 0,
  })),
  totals: document.querySelectorAll('#totals table.stages tbody tr').length,
  providers: document.querySelectorAll('#totals table.providers tbody tr').length,
})
"""


def test_report_html_of_a_real_run_draws_timeline_and_contact_sheet_in_chromium(
    chromium: int, tmp_path: Path
) -> None:
    """A real 2-scene run writes report.html; Chromium draws a bar per call in a lane per scene and stage, both pictures load, no console error or network request; the screenshot is a real picture; `aura report` writes the page again."""
    brief = tmp_path / "tiny.toml"
    brief.write_text(BRIEF)
    runs = tmp_path / "runs"
    done = subprocess.run(
        [str(AURA), "run", str(brief), "--plugins", "local,ffmpeg", "--runs-dir", str(runs)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    run_dir = runs / "tiny"
    page_path = run_dir / "report.html"
    report = json.loads((run_dir / "report.json").read_text())
    assert page_path.is_file()
    assert [s["narration"] for s in report["scenes"]] and all(s["narration"] for s in report["scenes"])
    assert all(e["start"] <= e["end"] for e in report["timeline"])

    with open_page(chromium) as page:
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send("Page.navigate", url=page_path.resolve().as_uri())
        page.wait_for("Page.loadEventFired")
        drawn = json.loads(
            page.send("Runtime.evaluate", expression=_CHECKS, returnByValue=True)["result"]["value"]
        )
        shot = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    screenshot = tmp_path / "report.png"
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    if os.environ.get("AURA_SCREENSHOT_DIR"):
        shutil.copy(screenshot, Path(os.environ["AURA_SCREENSHOT_DIR"]) / "report.png")

    # timeline: script, 2 × (voice, visuals, segment), soundtrack, assembly; one bar per timeline
    # entry, drawn with a size
    assert drawn["lanes"] == 1 + 2 * 3 + 2
    assert len(drawn["bars"]) == len(report["timeline"]) == 9
    assert {b["provider"] for b in drawn["bars"]} == {"template", "piper", "cards", "ffmpeg"}
    assert all(b["width"] > 0 and b["height"] > 0 for b in drawn["bars"])
    assert drawn["svgWidth"] > 500
    # contact sheet: both pictures decoded, headings, narration and providers shown
    assert len(drawn["scenes"]) == 2
    for shown, scene in zip(drawn["scenes"], report["scenes"], strict=True):
        assert shown["loaded"], shown
        assert shown["width"] == 160  # the 160x90 card itself, as a thumbnail no bigger than it
        assert scene["heading"] in shown["heading"]
        assert shown["narration"] == scene["narration"]
        assert "voice piper" in shown["facts"] and "picture cards" in shown["facts"]
    assert drawn["totals"] == 6 and drawn["providers"] == 4  # six stages, soundtrack included
    # nothing went wrong and nothing was fetched but the page itself
    errors = [
        e
        for e in page.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]
    assert errors == []
    requested = [
        e["params"]["request"]["url"] for e in page.events if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requested and all(u.startswith(("file://", "data:")) for u in requested), requested

    from PIL import Image

    with Image.open(screenshot) as image:
        assert image.width >= 1000 and image.height > 1000
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50  # drawn content, not a blank page

    # `aura report` writes the page again from report.json and prints its path
    page_path.unlink()
    again = subprocess.run(
        [str(AURA), "report", str(run_dir)], capture_output=True, text=True, timeout=120, check=False
    )
    assert again.returncode == 0, again.stderr
    assert Path(again.stdout.strip()) == page_path.resolve()
    assert '<svg class="timeline"' in page_path.read_text()
