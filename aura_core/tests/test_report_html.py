"""report.json's timeline and report.html: every call has a start and an end; retries and fallbacks are marked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aura_core import Pipeline
from aura_core.report_html import write_report_html
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice, Faults

from .conftest import make_spec


@pytest.mark.anyio
async def test_timeline_has_start_and_end_and_marks_retries_and_fallbacks(tmp_path: Path) -> None:
    """A voice that fails its first call transiently is retried, an image provider that always fails falls back: the timeline says so, and report.html draws a retry mark and a fallback bar."""
    providers = [
        FakeScriptWriter(),
        FakeVoice(faults=Faults(calls=frozenset({1}))),
        FakeIllustrator(name="broken", faults=Faults(calls=frozenset(range(1, 100)), transient=False)),
        FakeIllustrator(name="spare"),
        FakeComposer(),
    ]
    spec = make_spec(providers={"image": ["broken", "spare"]})
    run_dir = tmp_path / "run"
    await Pipeline(providers).run(spec, run_dir=run_dir)
    report = json.loads((run_dir / "report.json").read_text())
    timeline = report["timeline"]
    assert all(0 <= e["start"] <= e["end"] <= report["wall_seconds"] for e in timeline)
    retried = [e for e in timeline if e["retries"]]
    assert len(retried) == 1 and retried[0]["stage"] == "voice" and retried[0]["outcome"] == "done"
    assert retried[0]["start"] <= retried[0]["retries"][0] <= retried[0]["end"]
    n = len(report["scenes"])
    fallbacks = [e for e in timeline if e["outcome"] == "fallback"]
    assert len(fallbacks) == n and {e["provider"] for e in fallbacks} == {"broken"}
    assert all("injected failure" in e["cause"] for e in fallbacks)
    spare = [e for e in timeline if e["provider"] == "spare"]
    assert len(spare) == n and all(e["outcome"] == "done" for e in spare)
    assert all(s["narration"] for s in report["scenes"])

    page = (run_dir / "report.html").read_text()
    assert page.count('class="bar fallback"') == n
    assert page.count('class="retry"') == 1
    assert "fallback: broken: injected failure" in page or "broken: fallback: " in page
    assert page.count('<figure class="scene"') == n
    assert page.count("data:image/jpeg;base64,") == n
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page

    (run_dir / "report.html").unlink()
    assert write_report_html(run_dir) == run_dir / "report.html"
    assert (run_dir / "report.html").read_text() == page
