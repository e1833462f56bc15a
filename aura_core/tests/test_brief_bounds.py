"""Every number and text in a brief has a range, checked at load: `aura run` on a value outside it exits 2
with one `aura: error: <file>: <path>: …` line, never a traceback, and starts nothing."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_core import BriefError, load_brief, parse_brief
from aura_core.cli import cli
from aura_core.specs import PlanSpec


def _brief(*lines: str, plan: str = 'duration = "15s"') -> str:
    """A valid brief with ``lines`` added: a line starting with ``[`` opens a table."""
    return "\n".join(['[brief]\ntopic = "Tide pools"', f"[plan]\n{plan}", *lines]) + "\n"


# (case id, brief text, the one expected line after "aura: error: <file>: ")
CASES: list[tuple[str, str, str]] = [
    (
        "duration-nan",
        _brief(plan="duration = nan"),
        'plan.duration: expected a finite duration like "60s", got nan',
    ),
    (
        "duration-inf",
        _brief(plan="duration = inf"),
        'plan.duration: expected a finite duration like "60s", got inf',
    ),
    ("duration-minus-inf", _brief(plan="duration = -inf"), "plan.duration: expected a finite duration"),
    ("duration-1000h", _brief(plan='duration = "1000h"'), "plan.duration: must be at most 3h, got '1000h'"),
    ("duration-1e300", _brief(plan="duration = 1e300"), "plan.duration: must be at most 3h, got 1e+300"),
    ("duration-under-1s", _brief(plan="duration = 0.5"), "plan.duration: must be at least 1s, got 0.5"),
    (
        "duration-implies-over-1000-scenes",
        _brief(plan='duration = "2h"\ndensity = "dense"'),
        "plan.duration: '2h' at density 'dense' means 1,440 scenes, more than 1,000;",
    ),
    ("scenes-over-1000", _brief(plan='duration = "60s"\nscenes = 1001'), "plan.scenes: must be <= 1000"),
    ("rate-nan", _brief("[voice]\nrate = nan"), "voice.rate: expected a finite number, got nan"),
    ("pitch-inf", _brief("[voice]\npitch = inf"), "voice.pitch: expected a finite number, got inf"),
    ("fps-huge", _brief("[render]\nfps = 100000"), "render.fps: must be <= 120"),
    (
        "music-volume-inf",
        _brief("[render]\nmusic_volume = inf"),
        "render.music_volume: expected a finite number",
    ),
    (
        "loudness-nan",
        _brief("[render]\nloudness = nan"),
        "render.loudness: expected a finite number, got nan",
    ),
    (
        "provider-timeout-nan",
        _brief("[providers.piper]\ntimeout = nan"),
        "providers.piper.timeout: expected a number of seconds from 0.01 to 86400, got nan",
    ),
    (
        "provider-budget-inf",
        _brief("[providers.piper]\nbudget = inf"),
        "providers.piper.budget: expected a number of seconds from 0.01 to 86400, got inf",
    ),
    (
        "provider-defaults-backoff-inf",
        _brief("[providers.defaults.tts]\nbackoff = inf"),
        "providers.defaults.tts.backoff: expected a number of seconds from 0 to 3600, got inf",
    ),
    (
        "provider-setting-inf",
        _brief("[providers.piper]\nlength_scale = inf"),
        "providers.piper.length_scale: expected a finite number, got inf",
    ),
    (
        "topic-100000-characters",
        '[brief]\ntopic = "' + "bees " * 20_000 + '"\n',
        "brief.topic: must be at most 2,000 characters, got 100,000",
    ),
    (
        "topic-nul",
        '[brief]\ntopic = "Tide\\u0000pools"\n',
        "brief.topic: must not contain control characters, got U+0000 at character 5",
    ),
    (
        "audience-too-long",
        '[brief]\ntopic = "x"\naudience = "' + "a" * 201 + '"\n',
        "brief.audience: must be at most 200 characters, got 201",
    ),
    (
        "tone-escape",
        '[brief]\ntopic = "x"\ntone = "calm\\u001b[31m"\n',
        "brief.tone: must not contain control characters, got U+001B at character 5",
    ),
    (
        "language-newline",
        '[brief]\ntopic = "x"\nlanguage = "en\\n"\n',
        "brief.language: must not contain control characters, got U+000A",
    ),
    (
        "style-too-long",
        _brief(plan='style = "' + "s" * 201 + '"'),
        "plan.style: must be at most 200 characters, got 201",
    ),
    (
        "voice-name-bell",
        _brief('[voice]\nname = "jo\\u0007e"'),
        "voice.name: must not contain control characters, got U+0007 at character 3",
    ),
    (
        "transition-too-long",
        _brief('[render]\ntransition = "' + "x" * 300 + '"'),
        "render.transition: must be at most 200 characters, got 300",
    ),
    (
        "music-path-nul",
        _brief('[render]\nmusic = "calm\\u0000.mp3"'),
        "render.music: must not contain control characters, got U+0000 at character 5",
    ),
    (
        "provider-name-nul",
        _brief('[providers]\ntts = ["pi\\u0000per"]'),
        "providers.tts: 'pi\\x00per' is not a provider name",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_value_outside_its_range_is_one_error_line_and_exit_2(
    tmp_path: Path, text: str, expected: str
) -> None:
    """`aura run --dry-run` stops at load with exit 2 and exactly one line naming the file and the key's path
    (the dry run, so that code without the bounds only plans the 450,000 scenes and starts none)."""
    brief = tmp_path / "bounds.toml"
    brief.write_text(text)
    runs = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", str(brief), "--dry-run", "--runs-dir", str(runs)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"aura: error: {brief}: {expected}"), result.stderr
    assert not runs.exists()  # nothing was started


@pytest.mark.parametrize(
    "tables",
    [
        {"plan": {"duration": "3h", "density": "sparse"}},  # 900 scenes
        {"plan": {"duration": "3h", "scenes": 20}},  # the scene count is given
        {"plan": {"duration": 1}},
        {"plan": {"duration": "2h13m", "density": "balanced"}},  # 998 scenes
        {"brief": {"topic": "t" * 1981 + "\nline two\tand a tab", "goal": "g" * 2000}},
        {"voice": {"name": "n" * 200}, "render": {"transition": "fade"}},
        {"brief": {"topic": "蜜蜂が踊る 🐝", "language": "ja"}},
    ],
)
def test_values_at_the_edge_of_their_range_load(tables: dict[str, dict[str, object]]) -> None:
    """The largest and smallest allowed values, multi-line long text and non-Latin text all load."""
    data: dict[str, dict[str, object]] = {"brief": {"topic": "Tide pools"}}
    for name, values in tables.items():
        data[name] = {**data.get(name, {}), **values}
    spec = parse_brief(data, None)
    assert 1 <= spec.plan.duration <= 3 * 3600


def test_the_library_api_refuses_what_the_loader_refuses() -> None:
    """Specs built in code, not from a file, hold the same ranges."""
    for duration in (math.nan, math.inf, 1e300, 0.5):
        with pytest.raises(ValueError, match="duration"):
            PlanSpec(duration=duration)
    with pytest.raises(BriefError) as caught:
        parse_brief({"brief": {"topic": "x" * 2001}}, None)
    assert list(caught.value.problems) == ["brief.topic: must be at most 2,000 characters, got 2,001"]


def test_a_brief_file_with_a_100000_character_topic_is_refused(tmp_path: Path) -> None:
    """``load_brief`` itself (the library's entry point) refuses the topic that asked Piper for 359 GB."""
    brief = tmp_path / "long.toml"
    brief.write_text('[brief]\ntopic = "' + "word " * 20_000 + '"\n')
    with pytest.raises(BriefError) as caught:
        load_brief(brief)
    assert list(caught.value.problems) == [
        f"{brief}: brief.topic: must be at most 2,000 characters, got 100,000"
    ]
