"""The ``openai`` voice against a local server speaking ``/v1/audio/speech``: files on disk, measured durations."""

from __future__ import annotations

import threading
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from aura_core import ProviderError, SpeechRequest, VoiceSpec
from aura_core.testing import collect_usage
from aura_plugins_openai.settings import OpenAISettings
from aura_plugins_openai.tts import OpenAIVoice

SPEECH = "/v1/audio/speech"
RATE = 24_000
Settings = Callable[..., OpenAISettings]
TEXT = "Honeybees dance to say where the flowers are."


def speech_request(out: Path, name: str = "joe", rate: float = 1.0) -> SpeechRequest:
    """A request to voice ``TEXT`` into ``out``."""
    return SpeechRequest(text=TEXT, voice=VoiceSpec(name=name, rate=rate), language="en", out_path=out)


@pytest.mark.anyio
async def test_wav_speech_is_written_and_its_duration_measured(
    fake_openai: Any, make_settings: Settings, tmp_path: Path
) -> None:
    """WAV (the default) lands at out_path; the duration is the server's sample count over 24 kHz."""
    out = tmp_path / "speech" / "scene-1.wav"
    voice = OpenAIVoice(make_settings(prices={"test-tts": {"characters": 15.0}}))
    with collect_usage() as usage:
        speech = await voice.synthesize(speech_request(out))
    assert speech.path == out and out.stat().st_size > 0
    assert speech.sample_rate == RATE
    assert speech.duration == pytest.approx(fake_openai.audio_samples[0] / RATE)
    with wave.open(str(out)) as reader:
        assert reader.getnframes() == fake_openai.audio_samples[0]
    body = fake_openai.asked(SPEECH)[0].json
    assert body["response_format"] == "wav" and body["model"] == "test-tts"
    assert body["voice"] == "alloy"  # "joe" is not an OpenAI voice
    assert usage["characters"] == len(TEXT)
    assert usage["cost_usd"] == pytest.approx(len(TEXT) * 15.0 / 1e6)


@pytest.mark.anyio
async def test_streamed_wav_header_sizes_are_repaired(
    fake_openai: Any, make_settings: Settings, tmp_path: Path
) -> None:
    """A WAV streamed with placeholder sizes (0xFFFFFFFF) is fixed on disk and measured right."""
    fake_openai.streamed_wav_header = True
    out = tmp_path / "s.wav"
    speech = await OpenAIVoice(make_settings()).synthesize(speech_request(out))
    assert speech.duration == pytest.approx(fake_openai.audio_samples[0] / RATE)
    with wave.open(str(out)) as reader:
        assert reader.getnframes() == fake_openai.audio_samples[0]


@pytest.mark.anyio
@pytest.mark.parametrize(("audio_format", "tolerance"), [("flac", 0.0), ("mp3", 0.08), ("pcm", 0.0)])
async def test_other_formats_are_measured_by_decoding(
    fake_openai: Any, make_settings: Settings, tmp_path: Path, audio_format: str, tolerance: float
) -> None:
    """FLAC and MP3 are measured by decoding with PyAV; raw PCM is wrapped into a WAV."""
    out = tmp_path / f"s.{audio_format}"
    speech = await OpenAIVoice(make_settings(audio_format=audio_format)).synthesize(speech_request(out))
    expected = fake_openai.audio_samples[0] / RATE
    assert abs(speech.duration - expected) <= tolerance + 1e-9
    assert fake_openai.asked(SPEECH)[0].json["response_format"] == audio_format


@pytest.mark.anyio
async def test_voice_name_and_rate_reach_the_server(
    fake_openai: Any, make_settings: Settings, tmp_path: Path
) -> None:
    """An OpenAI voice named in the brief is used; speed is the setting times the brief's rate."""
    voice = OpenAIVoice(make_settings(speed=1.2))
    speech = await voice.synthesize(speech_request(tmp_path / "a.wav", name="Nova", rate=1.5))
    body = fake_openai.asked(SPEECH)[0].json
    assert body["voice"] == "nova"
    assert body["speed"] == pytest.approx(1.8)
    assert speech.duration == pytest.approx(fake_openai.audio_samples[0] / RATE)


@pytest.mark.anyio
async def test_speech_rate_limit_and_drop_leave_no_file(
    fake_openai: Any, make_settings: Settings, tmp_path: Path
) -> None:
    """429 gives retry_after; a connection dropped mid-audio is transient; neither leaves a partial file."""
    out = tmp_path / "s.wav"
    voice = OpenAIVoice(make_settings())
    fake_openai.fail(SPEECH, status=429, headers={"Retry-After": "3"})
    with pytest.raises(ProviderError) as limited:
        await voice.synthesize(speech_request(out))
    assert (limited.value.transient, limited.value.retry_after) == (True, 3.0)
    fake_openai.fail(SPEECH, drop_after_chunks=1)
    with pytest.raises(ProviderError) as dropped:
        await voice.synthesize(speech_request(out))
    assert dropped.value.transient is True
    assert not out.exists()


@pytest.mark.anyio
async def test_cancelled_speech_removes_the_partial_file(
    fake_openai: Any, make_settings: Settings, tmp_path: Path
) -> None:
    """Cancelled while the server holds the audio half-sent: no file is left, half-written or whole."""
    fake_openai.stall_audio = threading.Event()
    out = tmp_path / "s.wav"
    voice = OpenAIVoice(make_settings())
    returned: list[Any] = []

    async def speak() -> None:
        returned.append(await voice.synthesize(speech_request(out)))

    async with anyio.create_task_group() as group:
        group.start_soon(speak)
        await anyio.to_thread.run_sync(fake_openai.audio_started.wait, 10)
        await anyio.sleep(0.3)  # the first half arrives while the server holds the rest
        group.cancel_scope.cancel()
    assert returned == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anyio
async def test_the_speech_names_the_voice_that_spoke(
    fake_openai: Any, make_settings: Settings, tmp_path: Path
) -> None:
    """One rule for every voice: an OpenAI voice named in the brief speaks; a name OpenAI lacks gets ``alloy``;
    the ``voice`` setting wins. ``Speech.voice`` says which one spoke, as the server was asked."""
    cases = [({}, "Nova", "nova"), ({}, "joe", "alloy"), ({"voice": "echo"}, "nova", "echo")]
    for i, (settings, asked, spoke) in enumerate(cases):
        speech = await OpenAIVoice(make_settings(**settings)).synthesize(
            speech_request(tmp_path / f"{i}.wav", name=asked)
        )
        assert fake_openai.asked(SPEECH)[i].json["voice"] == spoke
        assert speech.voice == spoke


@pytest.mark.anyio
@pytest.mark.parametrize("audio_format", ["mp3", "wav"])
async def test_garbled_speech_is_one_permanent_line_and_no_file(
    fake_openai: Any, make_settings: Settings, tmp_path: Path, audio_format: str
) -> None:
    """A 200 whose body is not audio of the format asked for is a permanent ProviderError of one line that
    names the format and the setting to check, with no traceback chained, and the streamed file is removed."""
    fake_openai.fail(SPEECH, content="<html>upstream proxy error</html>" * 20)
    out = tmp_path / "s.wav"
    with pytest.raises(ProviderError) as caught:
        await OpenAIVoice(make_settings(audio_format=audio_format)).synthesize(speech_request(out))
    error = caught.value
    assert error.transient is False
    assert f"cannot be read as {audio_format} (the audio cannot be decoded" in error.message
    assert "check [providers.openai] audio_format" in error.message
    assert "\n" not in error.message and error.__cause__ is None
    assert list(tmp_path.iterdir()) == []
