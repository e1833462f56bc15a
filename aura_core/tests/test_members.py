"""The optional provider members: one declaration, one reader, no scattered ``getattr`` defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aura_core import OPTIONAL_MEMBERS, optional_member
from aura_core.members import DEFAULT_CONCURRENCY
from aura_core.specs import KINDS
from aura_core.testing.fakes import FakeComposer, FakeMixingComposer

SOURCES = Path(__file__).resolve().parents[2]


class Bare:
    """A provider of ``kind`` with none of the optional members."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = "bare"


@pytest.mark.parametrize("kind", KINDS)
def test_a_provider_without_a_member_gets_the_declared_default_of_its_kind(kind: str) -> None:
    bare = Bare(kind)
    assert optional_member(bare, "concurrency") == DEFAULT_CONCURRENCY[kind]
    assert optional_member(bare, "auto") is False
    assert optional_member(bare, "deterministic") is False
    assert optional_member(bare, "follows_plan") is True
    assert optional_member(bare, "check") is None
    assert optional_member(bare, "resources") is None


def test_a_provider_s_own_value_wins_over_the_default() -> None:
    voice = Bare("tts")
    voice.concurrency = 7  # type: ignore[attr-defined]
    voice.auto = True  # type: ignore[attr-defined]
    assert optional_member(voice, "concurrency") == 7
    assert optional_member(voice, "auto") is True
    composer = FakeMixingComposer()
    assert optional_member(composer, "mix_soundtrack") == composer.mix_soundtrack
    assert optional_member(FakeComposer(), "mix_soundtrack") is None
    assert optional_member(FakeComposer(), "concurrency") == 4  # the fakes declare their own


def test_an_undeclared_name_is_refused_naming_the_declared_ones() -> None:
    with pytest.raises(ValueError, match=r"'concurency' is not an optional provider member.*concurrency"):
        optional_member(Bare("tts"), "concurency")


def test_the_declaration_is_read_only() -> None:
    with pytest.raises(TypeError):
        OPTIONAL_MEMBERS["auto"] = OPTIONAL_MEMBERS["check"]  # type: ignore[index]
    with pytest.raises(TypeError):
        OPTIONAL_MEMBERS["concurrency"].by_kind["llm"] = 9  # type: ignore[index]


def test_no_source_reads_an_optional_member_with_its_own_getattr_default() -> None:
    # one reader keeps the defaults from drifting apart again (they once disagreed: 1 against the per-kind ones)
    names = "|".join(OPTIONAL_MEMBERS)
    pattern = re.compile(rf"getattr\([^)]*[\"'](?:{names})[\"']")
    found = [
        f"{path.relative_to(SOURCES)}:{number}: {line.strip()}"
        for path in sorted(SOURCES.glob("aura_*/src/**/*.py"))
        if path.name != "members.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
