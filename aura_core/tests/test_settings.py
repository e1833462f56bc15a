"""Declared provider settings: one attrs class per provider, read by the core with one-line messages."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import attrs
import pytest
from attrs import frozen

from aura_core import (
    BriefError,
    ProviderError,
    ProviderSettings,
    Secret,
    UserError,
    secret,
    setting,
    settings_keys,
    structure_settings,
)
from aura_core.calls import configure


@frozen
class Price:
    """A nested table: per-model prices."""

    input: float = setting(0.0, at_least=0)
    output: float = 0.0


def _must_be_onnx(path: Path) -> None:
    if path.suffix != ".onnx":
        raise ValueError(f"{path.name} is not an .onnx voice file")


@frozen
class Sample:
    """Every kind of declaration ``setting()`` offers."""

    model: Path = setting(check=_must_be_onnx, help='the voice file, like model = "voices/joe.onnx"')
    pause: float = setting(0.25, between=(0, 3))
    count: int = setting(1, at_least=1)
    steps: int = setting(25, between=(1, 500))
    audio: Literal["wav", "mp3"] = "wav"
    quality: str | None = setting(None, choices=("low", "high"))
    url: str = setting("http://127.0.0.1:7860", url=True, key="base_url")
    key: Secret = secret("AURA_TEST_KEY", key="api_key_env")
    stream: bool = True
    label: str = "x"
    note: str = setting("", allow_empty=True)
    sizes: tuple[int, ...] = ()
    prices: Mapping[str, Price] = setting(factory=dict)


def _problems(values: Mapping[str, object], tmp_path: Path) -> list[str]:
    with pytest.raises(BriefError) as caught:
        structure_settings(Sample, values, provider="demo", base_dir=tmp_path)
    assert isinstance(caught.value, UserError)  # exit code 2, printed line by line without a traceback
    return list(caught.value.problems)


def test_a_valid_table_becomes_the_typed_settings_with_defaults_for_the_rest(tmp_path: Path) -> None:
    got = structure_settings(
        Sample,
        {"model": "voices/joe.onnx", "pause": 1, "base_url": " https://h.example/v1/ ", "label": "  a  "},
        provider="demo",
        base_dir=tmp_path,
    )
    assert got.model == tmp_path / "voices" / "joe.onnx"  # resolved from the brief's folder
    assert got.pause == 1.0 and isinstance(got.pause, float)
    assert got.url == "https://h.example/v1"  # stripped, trailing slash removed
    assert got.label == "a"
    assert got.key == Secret("AURA_TEST_KEY")
    assert (got.count, got.audio, got.stream, got.prices) == (1, "wav", True, {})


def test_every_problem_is_one_line_naming_its_path_in_the_brief(tmp_path: Path) -> None:
    """All problems at once, each ``providers.<name>.<key>: <problem>`` with the value as written."""
    problems = _problems(
        {
            "model": "voice.bin",
            "pause": 4,
            "count": 0,
            "steps": 2.5,
            "audio": "ogg",
            "quality": "mid",
            "base_url": "ftp://h/",
            "stream": "yes",
            "label": "   ",
            "sizes": [1, "a"],
            "prices": {"gpt": {"input": -1, "inptu": 2}},
            "paus": 1,
        },
        tmp_path,
    )
    assert problems == [
        "providers.demo.model: voice.bin is not an .onnx voice file",
        "providers.demo.pause: expected a number from 0 to 3, got 4",
        "providers.demo.count: expected a whole number of at least 1, got 0",
        "providers.demo.steps: expected a whole number from 1 to 500, got 2.5",
        "providers.demo.audio: expected one of wav, mp3, got 'ogg'",
        "providers.demo.quality: expected one of low, high, got 'mid'",
        "providers.demo.base_url: expected an http:// or https:// URL like \"http://127.0.0.1:8080\", got 'ftp://h/'",
        "providers.demo.stream: expected true or false, got 'yes'",
        "providers.demo.label: must not be empty",
        "providers.demo.sizes[1]: expected a whole number, got 'a'",
        "providers.demo.prices.gpt.input: expected a number of at least 0, got -1",
        "providers.demo.prices.gpt.inptu: unknown setting (did you mean input?); expected one of input, output",
        "providers.demo.paus: unknown setting (did you mean pause?); expected one of model, pause, count, "
        "steps, audio, quality, base_url, api_key_env, stream, label, note, sizes, prices",
    ]


def test_a_required_setting_left_out_is_named_with_its_help(tmp_path: Path) -> None:
    assert _problems({}, tmp_path) == [
        'providers.demo.model: required setting is missing: the voice file, like model = "voices/joe.onnx"'
    ]


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ({"pause": "slow"}, "providers.demo.pause: expected a number from 0 to 3, got 'slow'"),
        ({"pause": True}, "providers.demo.pause: expected a number from 0 to 3, got True"),
        ({"pause": float("nan")}, "providers.demo.pause: expected a number from 0 to 3, got nan"),
        ({"stream": 1}, "providers.demo.stream: expected true or false, got 1"),
        ({"label": 3}, "providers.demo.label: expected text, got 3"),
        ({"base_url": "http://"}, "providers.demo.base_url: expected an http:// or https:// URL"),
        ({"prices": {"m": 3}}, "providers.demo.prices.m: expected a table, got 3"),
        ({"prices": "cheap"}, "providers.demo.prices: expected a table, got 'cheap'"),
    ],
)
def test_a_wrong_type_says_what_was_expected(tmp_path: Path, values: dict[str, object], line: str) -> None:
    problems = _problems({"model": "a.onnx", **values}, tmp_path)
    assert len(problems) == 1 and problems[0].startswith(line), problems


def test_an_empty_text_is_taken_only_where_allowed(tmp_path: Path) -> None:
    got = structure_settings(Sample, {"model": "a.onnx", "note": ""}, provider="demo", base_dir=tmp_path)
    assert got.note == ""


def test_paths_expand_the_home_folder_and_keep_absolute_ones(tmp_path: Path) -> None:
    home = structure_settings(Sample, {"model": "~/v.onnx"}, provider="demo", base_dir=tmp_path)
    assert home.model == Path("~/v.onnx").expanduser()
    absolute = structure_settings(Sample, {"model": "/opt/v.onnx"}, provider="demo", base_dir=tmp_path)
    assert absolute.model == Path("/opt/v.onnx")


def test_keys_left_out_keep_the_current_settings_when_given(tmp_path: Path) -> None:
    current = Sample(model=Path("/kept.onnx"), count=5, label="mine")
    got = structure_settings(Sample, {"pause": 2}, provider="demo", base_dir=tmp_path, current=current)
    assert (got.model, got.count, got.label, got.pause) == (Path("/kept.onnx"), 5, "mine", 2.0)


def test_settings_keys_lists_the_keys_a_brief_writes() -> None:
    assert settings_keys(Price) == ["input", "output"]
    assert "base_url" in settings_keys(Sample) and "url" not in settings_keys(Sample)


def test_not_a_table_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BriefError, match=r"^providers\.demo: expected a table, got 3$"):
        structure_settings(Sample, 3, provider="demo", base_dir=tmp_path)  # type: ignore[arg-type]


@frozen
class Limits:
    """Bounds large and small enough that ``:g`` would write them as 1e+06 and 1e-05."""

    tokens: int = setting(1, between=(1, 1_000_000))
    step: float = setting(0.5, at_least=0.00001)


def test_bounds_are_written_out_in_full(tmp_path: Path) -> None:
    with pytest.raises(BriefError) as caught:
        structure_settings(Limits, {"tokens": 0, "step": 0}, provider="demo", base_dir=tmp_path)
    assert list(caught.value.problems) == [
        "providers.demo.tokens: expected a whole number from 1 to 1000000, got 0",
        "providers.demo.step: expected a number of at least 0.00001, got 0",
    ]


def test_setting_refuses_a_range_given_twice() -> None:
    with pytest.raises(TypeError):
        setting(1, between=(0, 2), at_least=1)


# Secrets


def test_a_secret_is_read_from_its_variable_when_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    got = structure_settings(
        Sample, {"model": "a.onnx", "api_key_env": "MY_OWN_KEY"}, provider="demo", base_dir=tmp_path
    )
    assert got.key == Secret("MY_OWN_KEY")
    monkeypatch.setenv("MY_OWN_KEY", "  s3cr3t-value-123  ")
    assert got.key.value() == "s3cr3t-value-123"
    assert got.key.get() == "s3cr3t-value-123"
    assert "s3cr3t" not in repr(got) and "s3cr3t" not in str(got)


def test_a_missing_secret_is_a_permanent_provider_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AURA_TEST_KEY", raising=False)
    key = Secret("AURA_TEST_KEY")
    assert key.get() is None
    with pytest.raises(ProviderError) as caught:
        key.value()
    assert caught.value.transient is False
    assert str(caught.value) == key.missing
    assert key.missing.startswith("AURA_TEST_KEY is not set: ")
    monkeypatch.setenv("AURA_TEST_KEY", "   ")
    assert key.get() is None  # blank is unset


@pytest.mark.parametrize(
    "pasted",
    ["sk-proj-abcdefghijklmnop1234", "sk_live_abcdefgh12345678", "a8F3kQ9zL2mN7pR4tV6wX1yB5c", "my key", 42],
)
def test_a_key_pasted_where_a_variable_name_goes_is_refused_without_being_shown(
    tmp_path: Path, pasted: object
) -> None:
    problems = _problems({"model": "a.onnx", "api_key_env": pasted}, tmp_path)
    assert problems == [
        'providers.demo.api_key_env: expected the NAME of an environment variable, like "MY_API_KEY" '
        "(keys never go in the brief)"
    ]
    assert str(pasted) not in "\n".join(problems)


@pytest.mark.parametrize("name", ["MY_SERVICE_API_KEY_2024_PROD", "KEY_FILE", "openai_key", "VENDOR_API_KEY"])
def test_ordinary_variable_names_are_taken(tmp_path: Path, name: str) -> None:
    got = structure_settings(
        Sample, {"model": "a.onnx", "api_key_env": name}, provider="demo", base_dir=tmp_path
    )
    assert got.key == Secret(name)


# The core configures providers


@frozen
class DemoSettings:
    """A small settings class for the configure tests."""

    stripe: int = setting(24, at_least=1)
    folder: Path | None = None


@attrs.frozen
class AttrsProvider:
    """An attrs provider with declared settings and no configure."""

    kind = "image"
    name = "demo"
    settings: DemoSettings = DemoSettings()


class PlainProvider:
    """A plain-class provider with declared settings and no configure."""

    kind = "image"
    name = "plain"
    settings = DemoSettings()


class NoSettings:
    """A provider with neither settings nor configure."""

    kind = "image"
    name = "bare"


class OwnConfigure:
    """A provider whose configure reads the table itself through ProviderSettings.structure."""

    kind = "image"
    name = "own"
    settings = DemoSettings()

    def __init__(self, settings: DemoSettings | None = None, seen: int = 0) -> None:
        if settings is not None:
            self.settings = settings
        self.seen = seen

    def configure(self, settings: ProviderSettings) -> OwnConfigure:
        """Read the declared class, then keep a count of its own."""
        return OwnConfigure(settings.structure(DemoSettings), seen=len(settings.values))


@attrs.define(slots=False)
class AttrsClassAttribute:
    """An attrs provider (not slotted) whose settings is a class attribute, not a field."""

    kind = "image"
    name = "classattr"
    settings = DemoSettings()


@pytest.mark.parametrize(
    "provider",
    [AttrsProvider(), PlainProvider(), AttrsClassAttribute()],
    ids=["attrs", "plain", "class-attribute"],
)
def test_a_provider_with_declared_settings_is_configured_by_the_core(
    provider: AttrsProvider | PlainProvider | AttrsClassAttribute, tmp_path: Path
) -> None:
    configured = configure(provider, {"stripe": 8, "folder": "media", "attempts": 2}, tmp_path)
    assert configured is not provider
    assert configured.settings == DemoSettings(stripe=8, folder=tmp_path / "media")
    assert provider.settings == DemoSettings()  # the registered provider is untouched
    with pytest.raises(BriefError) as caught:
        configure(provider, {"stripe": 0, "colour": "red"}, tmp_path)
    assert caught.value.problems == (
        f"providers.{provider.name}.stripe: expected a whole number of at least 1, got 0",
        f"providers.{provider.name}.colour: unknown setting; expected one of stripe, folder",
    )


def test_a_slotted_provider_with_settings_as_a_class_attribute_is_a_provider_bug(tmp_path: Path) -> None:
    """Its copy cannot take settings of its own: the core says what to change instead of failing obscurely."""

    @attrs.frozen
    class Slotted:
        kind = "image"
        name = "slotted"
        settings = DemoSettings()

    with pytest.raises(TypeError, match=r"settings must be an attrs field or an instance attribute"):
        configure(Slotted(), {"stripe": 3}, tmp_path)


def test_a_provider_s_own_settings_stay_when_the_brief_sets_nothing_or_only_some(tmp_path: Path) -> None:
    """An app that built a provider with its own settings keeps them: the brief changes only its keys."""
    mine = AttrsProvider(settings=DemoSettings(stripe=5, folder=Path("/mine")))
    assert configure(mine, {}, tmp_path) is mine
    assert configure(mine, {"stripe": 9}, tmp_path).settings == DemoSettings(stripe=9, folder=Path("/mine"))


def test_a_provider_s_own_configure_wins_and_can_read_the_declared_class(tmp_path: Path) -> None:
    configured = configure(OwnConfigure(), {"stripe": 3, "price": 0.1, "timeout": 9}, tmp_path)
    assert configured.settings == DemoSettings(stripe=3)
    assert configured.seen == 1  # the middleware keys and the price hint are not handed on
    with pytest.raises(BriefError, match=r"^providers\.own\.stripe: expected a whole number"):
        configure(OwnConfigure(), {"stripe": "wide"}, tmp_path)


def test_a_provider_without_settings_still_refuses_any_key(tmp_path: Path) -> None:
    bare = NoSettings()
    assert configure(bare, {"attempts": 2}, tmp_path) is bare
    with pytest.raises(UserError, match=r"^providers\.bare: this provider takes no settings, got colour$"):
        configure(bare, {"colour": "red"}, tmp_path)


def test_a_settings_member_that_is_not_an_attrs_instance_is_not_read_as_declared(tmp_path: Path) -> None:
    """A third-party provider's own ``settings`` dict is left alone: it refuses keys as before."""
    other = NoSettings()
    other.settings = {"mine": 1}  # type: ignore[attr-defined]
    with pytest.raises(UserError, match="takes no settings"):
        configure(other, {"colour": "red"}, tmp_path)


def test_whole_number_bounds_are_written_in_full() -> None:
    @frozen
    class Seeded:
        seed: int = setting(0, between=(0, 2**32 - 1))

    with pytest.raises(BriefError) as caught:
        structure_settings(Seeded, {"seed": 2**32}, provider="p", base_dir=Path.cwd())
    assert str(caught.value).splitlines() == [
        "providers.p.seed: expected a whole number from 0 to 4294967295, got 4294967296"
    ]
