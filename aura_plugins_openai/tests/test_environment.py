"""``OPENAI_BASE_URL``, ``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID`` are honoured as the SDK honours them;
the brief's ``[providers.openai]`` settings win over them."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from aura_core import ProviderError, SpeechRequest, VoiceSpec
from aura_plugins_openai.settings import OFFICIAL_BASE_URL, read_settings
from aura_plugins_openai.tts import OpenAIVoice

SECRET = "sk-proj-Zq8xT3stS3cr3tK3y0000aaaabbbbccccddddeeee"

ENVIRONMENT = ("OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_API_KEY")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with none of the SDK's variables set, whatever the developer's shell has."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def speech(tmp_path: Path) -> SpeechRequest:
    """A one-sentence request for a WAV under ``tmp_path``."""
    return SpeechRequest(
        text="Bees dance.", voice=VoiceSpec(), language="en", out_path=tmp_path / "speech.wav"
    )


@pytest.mark.anyio
async def test_openai_base_url_alone_sends_the_request_to_that_server(
    fake_openai: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A brief naming no server, with only OPENAI_BASE_URL set, speaks through the local server (it went to
    api.openai.com); no key is needed there, and check() names it."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.url + "/")
    voice = OpenAIVoice(read_settings({"tts_model": "test-tts"}))
    assert voice.settings.base_url == fake_openai.url
    result = await voice.synthesize(speech(tmp_path))
    assert result.path.stat().st_size > 44 and result.duration > 0
    asked = fake_openai.asked("/v1/audio/speech")
    assert len(asked) == 1 and asked[0].headers["authorization"] == "Bearer not-needed"
    availability = await voice.check()
    assert availability.ok and fake_openai.url in availability.detail
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert voice.settings.base_url == OFFICIAL_BASE_URL


@pytest.mark.anyio
async def test_the_brief_base_url_wins_over_openai_base_url(
    fake_openai: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With OPENAI_BASE_URL at a dead port and the brief's base_url at the local server, the brief's is used,
    and the user's OPENAI_API_KEY is not sent to the brief's third-party server."""
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    voice = OpenAIVoice(read_settings({"base_url": fake_openai.url, "tts_model": "test-tts"}))
    await voice.synthesize(speech(tmp_path))
    asked = fake_openai.asked("/v1/audio/speech")
    assert len(asked) == 1 and asked[0].headers["authorization"] == "Bearer not-needed"


@pytest.mark.anyio
async def test_openai_base_url_gets_openai_api_key_as_the_sdk_sends_it(
    fake_openai: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user set OPENAI_BASE_URL beside OPENAI_API_KEY (a proxy that wants the key): the key is sent."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    await OpenAIVoice(read_settings({"tts_model": "test-tts"})).synthesize(speech(tmp_path))
    assert fake_openai.asked("/v1/audio/speech")[0].headers["authorization"] == f"Bearer {SECRET}"


@pytest.mark.anyio
@pytest.mark.parametrize("in_brief", [False, True])
async def test_organization_and_project_headers_reach_the_server(
    fake_openai: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_brief: bool
) -> None:
    """OPENAI_ORG_ID and OPENAI_PROJECT_ID arrive as OpenAI-Organization and OpenAI-Project; the brief's
    organization and project, when set, win over them."""
    monkeypatch.setenv("OPENAI_ORG_ID", "org-from-env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-from-env")
    table: dict[str, Any] = {"base_url": fake_openai.url, "tts_model": "test-tts"}
    if in_brief:
        table |= {"organization": "org-from-brief", "project": "proj-from-brief"}
    await OpenAIVoice(read_settings(table)).synthesize(speech(tmp_path))
    headers = fake_openai.asked("/v1/audio/speech")[0].headers
    where = "brief" if in_brief else "env"
    assert (headers["openai-organization"], headers["openai-project"]) == (
        f"org-from-{where}",
        f"proj-from-{where}",
    )


@pytest.mark.anyio
async def test_an_openai_base_url_that_is_not_a_url_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OPENAI_BASE_URL=localhost:8080 (no scheme): check() and a call say which variable is wrong, no file."""
    monkeypatch.setenv("OPENAI_BASE_URL", "localhost:8080")
    voice = OpenAIVoice()
    availability = await voice.check()
    assert not availability.ok and "OPENAI_BASE_URL is 'localhost:8080'" in availability.detail
    with pytest.raises(ProviderError, match="OPENAI_BASE_URL is 'localhost:8080': expected a URL") as caught:
        await voice.synthesize(speech(tmp_path))
    assert not caught.value.transient
    assert not (tmp_path / "speech.wav").exists()


def test_organization_and_project_settings_are_checked() -> None:
    """organization and project are non-empty strings, like every other name in the table."""
    from aura_core import UserError

    with pytest.raises(UserError, match=r"^providers\.openai\.organization: must not be empty$"):
        read_settings({"organization": ""})
    assert read_settings({"project": " proj-1 "}).project_id == "proj-1"
