"""The settings tables of docs/plugins/local.md name exactly the keys each provider's settings class declares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aura_core import settings_keys
from aura_plugins_local.folder import FolderSettings
from aura_plugins_local.piper_voice import PiperSettings
from aura_plugins_local.scriptfile import ScriptFileSettings

PAGE = Path(__file__).resolve().parents[2] / "docs" / "plugins" / "local.md"


def _table_keys(heading: str) -> list[str]:
    """The first column of the settings table under ``heading`` in docs/plugins/local.md."""
    text = PAGE.read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = section.split("| setting | type | default | meaning |", 1)[1].splitlines()[2:]
    keys = []
    for row in rows:
        if not row.startswith("|"):
            break
        found = re.match(r"^\| `(\w+)` \|", row)
        assert found, row
        keys.append(found.group(1))
    return keys


@pytest.mark.parametrize(
    ("heading", "settings"),
    [
        ("## `scriptfile` (llm)", ScriptFileSettings),
        ("## `piper` (tts)", PiperSettings),
        ("## `folder` (image)", FolderSettings),
    ],
)
def test_the_docs_table_names_every_declared_setting(heading: str, settings: type) -> None:
    assert sorted(_table_keys(heading)) == sorted(settings_keys(settings))
