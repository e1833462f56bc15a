"""One rule for every voice: when another voice than ``[voice] name`` spoke, run.log and report.json say so once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from attrs import define, evolve

from aura_core import Pipeline, Speech, SpeechRequest
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

from .conftest import make_spec


@define
class NamedVoice(FakeVoice):
    """A fake voice that has one voice, ``spoke``, and says that it spoke with it."""

    spoke: str = "George"

    async def synthesize(self, request: SpeechRequest) -> Speech:
        """The fake's tone, naming the voice that spoke."""
        return evolve(await FakeVoice.synthesize(self, request), voice=self.spoke)


async def _run(tmp_path: Path, voice: FakeVoice, name: str) -> tuple[list[str], str]:
    spec = make_spec(voice={"name": name})
    run = tmp_path / "run"
    await Pipeline([FakeScriptWriter(), voice, FakeIllustrator(), FakeComposer()]).run(spec, run_dir=run)
    notes = json.loads((run / "report.json").read_text(encoding="utf-8"))["notes"]
    return notes, (run / "run.log").read_text(encoding="utf-8")


@pytest.mark.anyio
@pytest.mark.usefixtures("aura_logs")
async def test_another_voice_than_the_named_one_is_noted_once_in_the_log_and_the_report(
    tmp_path: Path,
) -> None:
    """Every scene (4 of them) is spoken by George instead of "joe": one note in report.json, one warning."""
    notes, log = await _run(tmp_path, NamedVoice(), "joe")
    note = "voice: fake spoke with its voice 'George', not [voice] name 'joe'"
    assert notes == [note]
    assert [line for line in log.splitlines() if "spoke with its voice" in line] == [
        line for line in log.splitlines() if "WARNING" in line and note in line
    ]
    assert log.count(note) == 1


@pytest.mark.anyio
async def test_the_named_voice_or_an_unnamed_result_makes_no_note(tmp_path: Path) -> None:
    """A provider that spoke with the named voice (case aside), or does not say (third-party fakes), adds no note."""
    assert (await _run(tmp_path / "a", NamedVoice(spoke="Rachel"), "rachel"))[0] == []
    assert (await _run(tmp_path / "b", FakeVoice(), "rachel"))[0] == []
