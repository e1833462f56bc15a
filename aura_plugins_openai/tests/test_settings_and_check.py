"""Settings from the brief, ``check()``, fingerprints, the entry point, and keys kept out of every message."""

from __future__ import annotations

import socket
import traceback
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy
import pytest

from aura_core import ImageRequest, ProviderError, SpeechRequest, UserError, VoiceSpec, settings_keys
from aura_core import hookspecs as aura_hookspecs
from aura_core.testing import configured
from aura_plugins_openai.image import OpenAIIllustrator
from aura_plugins_openai.llm import OpenAIScriptWriter
from aura_plugins_openai.settings import OpenAISettings, read_settings
from aura_plugins_openai.tts import OpenAIVoice

Settings = Callable[..., OpenAISettings]
SECRET = "sk-proj-Zq8xT3stS3cr3tK3y0000aaaabbbbccccddddeeee"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_configure_reads_the_table_and_names_every_problem(tmp_path: Path) -> None:
    """Configured as a run configures it: a copy with the table read by the core; every problem in the
    table at once, one line each in the core's format, the key's path first."""
    writer = configured(OpenAIScriptWriter(), {"model": "gpt-4.1-mini", "temperature": 0.3}, tmp_path)
    assert writer.settings.model == "gpt-4.1-mini" and writer.settings.temperature == 0.3
    assert OpenAIScriptWriter().settings.model == "gpt-4o-mini"  # the original is untouched
    local = configured(OpenAIVoice(), {"base_url": "http://127.0.0.1:1/v1/"}, tmp_path)
    assert (local.settings.base_url, local.concurrency) == ("http://127.0.0.1:1/v1", 1)
    with pytest.raises(UserError) as caught:
        configured(
            OpenAIVoice(),
            {
                "colour": "blue",
                "speed": "fast",
                "structured": "xml",
                "image_size": "big",
                "max_tokens": 0,
                "prices": {"m": {"tokens": 1}, "n": 3},
                "base_url": "localhost:8080",
            },
            tmp_path,
        )
    assert str(caught.value).splitlines() == [
        "providers.openai.base_url: expected an http:// or https:// URL like "
        "\"http://127.0.0.1:8080\", got 'localhost:8080'",
        "providers.openai.speed: expected a number from 0.25 to 4, got 'fast'",
        'providers.openai.image_size: expected "auto" or a size like "1024x1024", got \'big\'',
        "providers.openai.structured: expected one of auto, json_schema, json_object, got 'xml'",
        "providers.openai.max_tokens: expected a whole number from 1 to 1000000, got 0",
        "providers.openai.prices.m.tokens: unknown setting; expected one of input, output, characters, image",
        "providers.openai.prices.n: expected a table, got 3",
        "providers.openai.colour: unknown setting; expected one of "
        + ", ".join(settings_keys(OpenAISettings)),
    ]


def test_keys_the_table_leaves_out_keep_the_provider_s_own_settings(tmp_path: Path) -> None:
    """An app's own settings stay where the brief's table says nothing, as for any declared settings."""
    own = OpenAIVoice(read_settings({"voice": "nova", "prices": {"tts-x": {"characters": 2}}}))
    faster = configured(own, {"speed": 2}, tmp_path)
    assert (faster.settings.voice, faster.settings.speed) == ("nova", 2.0)
    assert faster.settings.price("tts-x").characters == 2.0


def test_a_key_written_as_api_key_env_is_refused_without_echoing_it() -> None:
    """A key pasted where the variable's name belongs is refused, and the message does not repeat it."""
    with pytest.raises(UserError) as caught:
        read_settings({"api_key_env": SECRET})
    assert SECRET not in str(caught.value)
    assert "NAME of an environment variable" in str(caught.value)


def test_fingerprint_is_stable_and_follows_output_settings() -> None:
    """Same settings give the same text in any process; a different model or voice changes it; no key in it."""
    base = read_settings({"model": "a", "voice": "nova"})
    assert (
        OpenAIScriptWriter(base).fingerprint()
        == OpenAIScriptWriter(read_settings({"model": "a"})).fingerprint()
    )
    assert (
        OpenAIScriptWriter(base).fingerprint()
        != OpenAIScriptWriter(read_settings({"model": "b"})).fingerprint()
    )
    assert OpenAIVoice(base).fingerprint() != OpenAIVoice(read_settings({"voice": "onyx"})).fingerprint()
    assert (
        OpenAIIllustrator(base).fingerprint()
        != OpenAIIllustrator(read_settings({"image_size": "1x1"})).fingerprint()
    )
    assert (
        "a" in OpenAIScriptWriter(base).fingerprint() and "sk-" not in OpenAIScriptWriter(base).fingerprint()
    )


def test_concurrency_defaults_by_server() -> None:
    """Four calls at once on the OpenAI service, one on another server, unless set."""
    assert OpenAIVoice().concurrency == 4
    assert OpenAIVoice(read_settings({"base_url": "http://127.0.0.1:1/v1"})).concurrency == 1
    assert OpenAIVoice(read_settings({"concurrency": 3})).concurrency == 3


@pytest.mark.anyio
async def test_check_reports_a_missing_key_for_the_official_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OPENAI_API_KEY and the official base_url: not available, saying which variable to set."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    availability = await OpenAIScriptWriter().check()
    assert (availability.ok, availability.detail) == (False, "OPENAI_API_KEY is not set")
    named = await OpenAIVoice(read_settings({"api_key_env": "MY_OPENAI_KEY"})).check()
    assert (named.ok, named.detail) == (False, "MY_OPENAI_KEY is not set")


@pytest.mark.anyio
async def test_a_missing_key_fails_calls_permanently(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A call without the key the service needs is a permanent error that says where the key goes."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    request = SpeechRequest(text="hi", voice=VoiceSpec(), language="en", out_path=tmp_path / "a.wav")
    with pytest.raises(ProviderError) as caught:
        await OpenAIVoice().synthesize(request)
    assert caught.value.transient is False
    assert "OPENAI_API_KEY is not set" in caught.value.message


@pytest.mark.anyio
async def test_check_against_the_local_server(fake_openai: Any, make_settings: Settings) -> None:
    """A reachable server is available; a model it does not list is reported; no key is needed locally."""
    ok = await OpenAIScriptWriter(make_settings()).check()
    assert ok.ok is True and "test-llm" in ok.detail
    unlisted = await OpenAIScriptWriter(make_settings(model="llama3")).check()
    assert unlisted.ok is True and "does not list model 'llama3'" in unlisted.detail
    assert fake_openai.asked("/v1/models")[0].headers["authorization"] == "Bearer not-needed"


@pytest.mark.anyio
async def test_check_reports_an_unreachable_server(make_settings: Settings) -> None:
    """Nothing listening: not available, naming the address."""
    url = f"http://127.0.0.1:{free_port()}/v1"
    availability = await OpenAIIllustrator(make_settings(base_url=url, check_timeout=2)).check()
    assert availability.ok is False
    assert url in availability.detail


@pytest.mark.anyio
async def test_openai_key_is_not_sent_to_other_servers(
    fake_openai: Any, make_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OPENAI_API_KEY goes to another server only when api_key_env names it."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    await OpenAIScriptWriter(make_settings()).check()
    await OpenAIScriptWriter(make_settings(api_key_env="OPENAI_API_KEY")).check()
    sent = [r.headers["authorization"] for r in fake_openai.asked("/v1/models")]
    assert sent == ["Bearer not-needed", f"Bearer {SECRET}"]


@pytest.mark.anyio
async def test_the_key_never_appears_in_any_error_text(
    fake_openai: Any,
    make_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    script_request: Any,
    tmp_path: Path,
) -> None:
    """Every failure, including a 401 whose body echoes the key, is told without the key, chain included."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    settings = make_settings(api_key_env="OPENAI_API_KEY", image_model="gpt-image-1")
    chat, speech, images = "/v1/chat/completions", "/v1/audio/speech", "/v1/images/generations"
    fake_openai.fail(chat, status=401)
    fake_openai.fail(chat, status=429, message=f"slow down {SECRET}", headers={"Retry-After": "1"})
    fake_openai.fail(chat, status=403, message=f"key {SECRET} may not use this model")
    fake_openai.fail(chat, content="garbage")
    fake_openai.fail(chat, drop_after_chunks=3)
    fake_openai.fail(speech, status=500, message=f"backend said Bearer {SECRET}")
    fake_openai.fail(images, status=400, message=f"bad request from {SECRET}")
    errors: list[BaseException] = []

    async def script() -> None:
        async for _ in OpenAIScriptWriter(settings).write_script(script_request()):
            pass

    async def speak() -> None:
        request = SpeechRequest(text="hi", voice=VoiceSpec(), language="en", out_path=tmp_path / "a.wav")
        await OpenAIVoice(settings).synthesize(request)

    async def draw() -> None:
        request = ImageRequest("p", "", 160, 90, "s", 0, tmp_path / "p.png")
        await OpenAIIllustrator(settings).generate(request)

    for call in [script] * 5 + [speak, draw]:
        with pytest.raises(ProviderError) as caught:
            await call()
        errors.append(caught.value)
    unauthorized = errors[0]
    assert isinstance(unauthorized, ProviderError)
    assert "the API key was rejected (401): set OPENAI_API_KEY" in unauthorized.message
    for error in errors:
        text = "".join(traceback.format_exception(error)) + repr(error) + str(error.args)
        assert SECRET not in text
        assert SECRET[:12] not in text


def test_entry_point_registers_three_providers_named_openai() -> None:
    """The ``aura`` entry point ``openai`` loads a plugin that registers llm, tts and image providers."""
    (entry,) = [e for e in entry_points(group="aura") if e.name == "openai"]
    manager = pluggy.PluginManager("aura")
    manager.add_hookspecs(aura_hookspecs)
    manager.register(entry.load())
    registered: list[Any] = []
    manager.hook.aura_register_providers(register=registered.append)
    assert sorted((p.kind, p.name) for p in registered) == [
        ("image", "openai"),
        ("llm", "openai"),
        ("tts", "openai"),
    ]
