"""A brief given as objects is kept in the run directory as a ``brief.toml`` that ``load_brief`` and ``resume`` read back.

The briefs here have what a hand-rolled TOML writer gets wrong: nested provider tables
(``[providers.defaults.tts]``, a table inside a provider's settings), a provider named ``my.plugin``,
and values with quotes, backslashes and non-ASCII text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from attrs import define, evolve

from aura_core import BriefFile, Pipeline, ProviderSettings, load_brief, parse_brief
from aura_core.loader import dump_brief
from aura_core.pipeline import _to_toml
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

ODD_TEXT = 'Tide "pools" — naïve café 🐚 C:\\tide\\pools'


def _odd_spec() -> BriefFile:
    """A brief as objects (no source file) with nested provider tables and odd names and values."""
    return parse_brief(
        {
            "brief": {"topic": ODD_TEXT, "goal": 'it\'s "quoted"\nover two lines'},
            "plan": {"duration": "12s", "scenes": 2},
            "render": {"resolution": "64x36", "fps": 10, "captions": "off"},
            "providers": {
                "llm": ["my.plugin", "fake"],
                "tts": "fake",
                "defaults": {"tts": {"timeout": 30, "attempts": 2}},
                "my.plugin": {"model": 'x"y', "extra": {"tags": ["ü", "a b"], "deep": {"on": True}}},
            },
        },
        None,
    )


@pytest.mark.parametrize(
    "providers",
    [
        {"defaults": {"tts": {"timeout": 30}}},
        {"llm": ["my.plugin"], "my.plugin": {"model": 'say "hi"', "nested": {"level": {"deeper": 1.5}}}},
        {"tts": ["fake"], "fake": {"voice": ODD_TEXT, "list": [1, 2, 3]}, "défaut.voix": {"é": "ß"}},
    ],
    ids=["defaults-tts", "dotted-name-nested", "unicode-names"],
)
def test_dumped_brief_written_as_toml_loads_back_equal(tmp_path: Path, providers: dict[str, object]) -> None:
    """dump → ``_to_toml`` → file → ``load_brief`` gives the same spec, for nested tables and odd names."""
    spec = parse_brief(
        {"brief": {"topic": ODD_TEXT}, "render": {"resolution": "64x36"}, "providers": providers}, None
    )
    path = tmp_path / "brief.toml"
    path.write_text(_to_toml(dump_brief(spec)), encoding="utf-8")
    assert evolve(load_brief(path), source=None) == spec


@define
class SettableWriter(FakeScriptWriter):
    """A fake script writer that takes settings (a ``[providers."my.plugin"]`` table with a nested table)."""

    def configure(self, settings: ProviderSettings) -> SettableWriter:
        """Take any settings; the fake writes the same script whatever they say."""
        return self


def _pipeline(runs: Path) -> Pipeline:
    return Pipeline(
        [
            SettableWriter(name="my.plugin"),
            FakeScriptWriter(),
            FakeVoice(),
            FakeIllustrator(),
            FakeComposer(),
        ],
        runs_dir=runs,
    )


@pytest.mark.anyio
async def test_run_of_a_brief_given_as_objects_resumes_from_its_brief_toml(tmp_path: Path) -> None:
    """`Pipeline.run` of the odd brief writes a ``brief.toml`` that `resume` reads back and finishes from."""
    spec = _odd_spec()
    runs = tmp_path / "runs"
    video = await _pipeline(runs).run(spec, run_dir=runs / "odd")
    copy = runs / "odd" / "brief.toml"
    assert evolve(load_brief(copy), source=None) == spec
    resumed = await _pipeline(runs).resume(runs / "odd")
    assert resumed.path == video.path
    assert resumed.path.read_bytes() == video.path.read_bytes()
