"""API errors, through the real SDK, become ProviderErrors that say what to fix and never show the key."""

from __future__ import annotations

import base64
import socket
import traceback
from pathlib import Path
from typing import Any

import pytest

from aura_core import ProviderError, SpeechRequest, VoiceSpec
from aura_core.testing import configured
from aura_plugins_elevenlabs import ElevenLabsVoice

TTS = "/v1/text-to-speech/"


def make_voice(server: Any, **settings: Any) -> ElevenLabsVoice:
    """A provider pointed at the local server."""
    return configured(ElevenLabsVoice(), {"base_url": server.base_url, **settings})


def request(tmp_path: Path, text: str = "Hello there.") -> SpeechRequest:
    """A speech request writing to ``tmp_path/speech.wav``."""
    return SpeechRequest(text=text, voice=VoiceSpec(), language="en", out_path=tmp_path / "speech.wav")


def everything_shown(exc: BaseException) -> str:
    """All text a log line or traceback could show for ``exc``: message, repr and the formatted chain."""
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc)])


FAULTS = [
    pytest.param(
        429,
        {"detail": {"status": "too_many_concurrent_requests", "message": "Too many concurrent requests."}},
        {"Retry-After": "7"},
        True,
        7.0,
        "rate limiting",
        id="429-retry-after",
    ),
    pytest.param(500, {"detail": "Internal Server Error"}, {}, True, None, "failed on its side", id="500"),
    pytest.param(
        503,
        {"detail": {"status": "system_busy", "message": "busy"}},
        {"Retry-After": "2"},
        True,
        2.0,
        "failed on its side",
        id="503-retry-after",
    ),
    pytest.param(
        409,
        {"detail": {"status": "conflict", "message": "Another request is being processed."}},
        {"Retry-After": "3"},
        True,
        3.0,
        "conflicting request",
        id="409-conflict",
    ),
    pytest.param(
        425, {"detail": "Too Early"}, {"Retry-After": "1"}, True, 1.0, "again later", id="425-too-early"
    ),
    pytest.param(
        401,
        {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}},
        {},
        False,
        None,
        "set a valid key in the environment variable ELEVENLABS_API_KEY",
        id="401-bad-key",
    ),
    pytest.param(
        401,
        {"detail": {"status": "quota_exceeded", "message": "This request exceeds your quota of 10000."}},
        {},
        False,
        None,
        "quota exceeded",
        id="401-quota-exceeded",
    ),
    pytest.param(
        402,
        {"detail": {"status": "quota_exceeded", "message": "You have 0 credits remaining."}},
        {},
        False,
        None,
        "add credits or upgrade the plan",
        id="402-quota",
    ),
    pytest.param(
        402,
        {"detail": {"status": "payment_required", "message": "This voice requires a paid plan."}},
        {},
        False,
        None,
        "needs a paid plan",
        id="402-payment-required",
    ),
    pytest.param(
        404,
        {"detail": {"status": "voice_not_found", "message": "A voice with that id was not found."}},
        {},
        False,
        None,
        "set providers.elevenlabs.voice",
        id="404-voice",
    ),
    pytest.param(
        422,
        {"detail": [{"loc": ["body", "text"], "msg": "field required"}]},
        {},
        False,
        None,
        "rejected the request",
        id="422-validation",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "body", "headers", "transient", "wait", "says"), FAULTS)
async def test_http_faults_map_to_provider_errors_with_one_request_and_no_partial_file(
    elevenlabs_server: Any,
    tmp_path: Path,
    status: int,
    body: Any,
    headers: dict[str, str],
    transient: bool,
    wait: float | None,
    says: str,
) -> None:
    """Each fault gives a ProviderError of the right class and hint; one request was sent (no SDK retries)."""
    elevenlabs_server.fail(TTS, status, body, headers)
    with pytest.raises(ProviderError) as caught:
        await make_voice(elevenlabs_server).synthesize(request(tmp_path))

    error = caught.value
    assert error.transient is transient
    assert error.retry_after == wait
    assert says in error.message
    assert f"HTTP {status}" in error.message
    assert len(elevenlabs_server.calls(TTS)) == 1
    assert not (tmp_path / "speech.wav").exists()
    assert elevenlabs_server.api_key not in everything_shown(error)


@pytest.mark.anyio
async def test_retry_after_as_http_date_is_turned_into_seconds(
    elevenlabs_server: Any, tmp_path: Path
) -> None:
    """A Retry-After given as an HTTP date in the past means "retry now": 0 seconds, not a negative wait."""
    elevenlabs_server.fail(
        TTS, 429, {"detail": "slow down"}, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    )
    with pytest.raises(ProviderError) as caught:
        await make_voice(elevenlabs_server).synthesize(request(tmp_path))
    assert caught.value.transient
    assert caught.value.retry_after == 0.0


@pytest.mark.anyio
async def test_a_key_echoed_by_the_server_never_appears_in_the_error(
    elevenlabs_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a wrong key-shaped secret set, the server's 401 quotes it; the ProviderError shows it nowhere."""
    wrong = "sk_" + "0" * 8 + "c0ffee" * 7
    monkeypatch.setenv("ELEVENLABS_API_KEY", wrong)
    with pytest.raises(ProviderError) as caught:
        await make_voice(elevenlabs_server, voice="Rachel").synthesize(request(tmp_path))

    # The lookup of the voice name was the first call; the server really received and echoed the key.
    assert elevenlabs_server.calls("/v1/voices")[0].headers.get("xi-api-key") == wrong
    shown = everything_shown(caught.value)
    assert wrong not in shown
    assert "***" in shown
    assert "ELEVENLABS_API_KEY" in caught.value.message
    assert not caught.value.transient


@pytest.mark.anyio
async def test_missing_key_fails_permanently_without_calling_the_server(
    elevenlabs_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ELEVENLABS_API_KEY: a permanent error naming the variable, and no request at all."""
    monkeypatch.delenv("ELEVENLABS_API_KEY")
    with pytest.raises(ProviderError) as caught:
        await make_voice(elevenlabs_server).synthesize(request(tmp_path))
    assert not caught.value.transient
    assert "ELEVENLABS_API_KEY is not set" in caught.value.message
    assert elevenlabs_server.requests == []


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.anyio
async def test_unreachable_server_is_a_transient_error(elevenlabs_server: Any, tmp_path: Path) -> None:
    """A refused connection is transient (the core may retry or fall back) and names the address tried."""
    base_url = f"http://127.0.0.1:{closed_port()}"
    voice = configured(ElevenLabsVoice(), {"base_url": base_url})
    with pytest.raises(ProviderError) as caught:
        await voice.synthesize(request(tmp_path))
    assert caught.value.transient
    assert base_url in caught.value.message
    assert "ConnectError" in caught.value.message
    assert elevenlabs_server.api_key not in everything_shown(caught.value)


@pytest.mark.anyio
async def test_failed_voice_lookup_is_mapped_and_retried_next_call(
    elevenlabs_server: Any, tmp_path: Path
) -> None:
    """A 503 on GET /v1/voices is transient and not cached: the next call looks the name up again."""
    elevenlabs_server.fail("/v1/voices", 503, {"detail": "down"}, {"Retry-After": "1"})
    voice = make_voice(elevenlabs_server, voice="George")
    with pytest.raises(ProviderError) as caught:
        await voice.synthesize(request(tmp_path))
    assert caught.value.transient
    assert caught.value.retry_after == 1.0

    speech = await voice.synthesize(request(tmp_path))
    assert speech.path.stat().st_size > 0
    assert len(elevenlabs_server.calls("/v1/voices")) == 2


@pytest.mark.anyio
async def test_check_reports_missing_key_unreachable_server_bad_key_and_success(
    elevenlabs_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check() says what is wrong in each case, and names model and voice id when all is well."""
    good = await make_voice(elevenlabs_server, voice="Rachel").check()
    assert good.ok
    assert "21m00Tcm4TlvDq8ikWAM" in good.detail

    unknown_model = await make_voice(elevenlabs_server, model="eleven_nonexistent").check()
    assert not unknown_model.ok
    assert "eleven_nonexistent" in unknown_model.detail

    unreachable = await configured(
        ElevenLabsVoice(), {"base_url": f"http://127.0.0.1:{closed_port()}"}
    ).check()
    assert not unreachable.ok
    assert "could not talk to" in unreachable.detail.lower()

    monkeypatch.setenv("ELEVENLABS_API_KEY", "sk_" + "ab" * 24)
    refused = await make_voice(elevenlabs_server).check()
    assert not refused.ok
    assert "ELEVENLABS_API_KEY" in refused.detail
    assert "ab" * 24 not in refused.detail

    monkeypatch.delenv("ELEVENLABS_API_KEY")
    missing = await make_voice(elevenlabs_server).check()
    assert missing == type(missing)(False, "ELEVENLABS_API_KEY is not set")


@pytest.mark.anyio
@pytest.mark.parametrize("audio", [b"\x13\x37garbled" * 64, b""], ids=["garbled", "empty"])
async def test_garbled_or_empty_audio_is_one_permanent_line_and_no_file(
    elevenlabs_server: Any, tmp_path: Path, audio: bytes
) -> None:
    """A 200 whose audio does not decode as the format asked for (garbled, or nothing) is a permanent
    ProviderError of one line naming the format, with no traceback chained and no file left."""
    alignment = {"characters": [], "character_start_times_seconds": [], "character_end_times_seconds": []}
    answer = {"audio_base64": base64.b64encode(audio).decode(), "alignment": alignment}
    elevenlabs_server.fail(TTS, 200, answer)
    with pytest.raises(ProviderError) as caught:
        await make_voice(elevenlabs_server, output_format="mp3_44100_128").synthesize(request(tmp_path))
    error = caught.value
    assert error.transient is False
    assert error.message.startswith("ElevenLabs returned audio that is not mp3_44100_128: the audio")
    assert "\n" not in error.message and error.__cause__ is None and error.__suppress_context__
    assert list(tmp_path.iterdir()) == []
