"""Synthesis through the real ElevenLabs SDK against a local server: audio, word timings, voices, usage."""

from __future__ import annotations

import threading
import wave
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest

from aura_core import ProviderError, SpeechRequest, VoiceSpec
from aura_core.testing import collect_usage, configured
from aura_plugins_elevenlabs import ElevenLabsVoice
from aura_plugins_elevenlabs import provider as elevenlabs_provider


def make_voice(server: Any, **settings: Any) -> ElevenLabsVoice:
    """A provider configured like a brief would, pointed at the local server."""
    return configured(ElevenLabsVoice(), {"base_url": server.base_url, **settings})


def request(tmp_path: Path, text: str, name: str = "speech.wav", rate: float = 1.0) -> SpeechRequest:
    """A speech request writing to ``tmp_path/name``."""
    return SpeechRequest(text=text, voice=VoiceSpec(rate=rate), language="en", out_path=tmp_path / name)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """The samples and rate of a 16-bit mono WAV, read back from disk."""
    with wave.open(str(path), "rb") as src:
        assert src.getnchannels() == 1
        assert src.getsampwidth() == 2
        rate = src.getframerate()
        samples = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
    return samples, rate


@pytest.mark.anyio
async def test_pcm_speech_is_a_wav_whose_measured_length_matches_the_alignment(
    elevenlabs_server: Any, tmp_path: Path
) -> None:
    """pcm_24000 audio lands at out_path as a WAV; duration, rate and word times agree with the server's."""
    text = "Bees dance to share the way."
    speech = await make_voice(elevenlabs_server).synthesize(request(tmp_path, text))

    samples, rate = read_wav(speech.path)
    assert speech.path == tmp_path / "speech.wav"
    assert rate == speech.sample_rate == 24000
    assert speech.duration == pytest.approx(len(samples) / rate)
    alignment = elevenlabs_server.last_alignment
    assert speech.duration == pytest.approx(alignment["character_end_times_seconds"][-1] + 0.1, abs=1e-3)
    assert [w.text for w in speech.words] == text.split()
    # Each word spans from its first character's start to its last character's end.
    chars = alignment["characters"]
    first = 0
    for word in speech.words:
        index = text.index(word.text, first)
        last = index + len(word.text) - 1
        assert chars[index] == word.text[0]
        assert word.start == alignment["character_start_times_seconds"][index]
        assert word.end == alignment["character_end_times_seconds"][last]
        first = last + 1
    # The file holds sound during each word, not silence.
    for word in speech.words:
        span = samples[int(word.start * rate) : int(word.end * rate)].astype(float)
        assert np.sqrt(np.mean(span**2)) > 1000


@pytest.mark.anyio
async def test_words_keep_punctuation_skip_extra_spaces_and_handle_non_ascii(
    elevenlabs_server: Any, tmp_path: Path
) -> None:
    """Punctuation stays on its word, a lone dash joins the word before, runs of spaces add no words."""
    text = '  Über café,   naïve — "really?"\tYes...  日本語 ok  '
    speech = await make_voice(elevenlabs_server).synthesize(request(tmp_path, text))

    assert [w.text for w in speech.words] == [
        "Über",
        "café,",
        "naïve —",
        '"really?"',
        "Yes...",
        "日本語",
        "ok",
    ]
    starts = elevenlabs_server.last_alignment["character_start_times_seconds"]
    ends = elevenlabs_server.last_alignment["character_end_times_seconds"]
    assert speech.words[0].start == starts[text.index("Ü")]
    assert speech.words[0].end == ends[text.index("r ")]
    # "naïve —": the dash is appended, the word still ends when "naïve" is said.
    assert speech.words[2].end == ends[text.index("e —")]
    assert speech.words[5].start == starts[text.index("日")]
    assert speech.words[5].end == ends[text.index("語")]
    assert all(a.end <= b.start for a, b in zip(speech.words, speech.words[1:], strict=False))


@pytest.mark.anyio
async def test_mp3_output_is_decoded_into_a_wav_of_the_same_length(
    elevenlabs_server: Any, tmp_path: Path
) -> None:
    """mp3_22050_32 is decoded with PyAV: the file on disk is a WAV at 22.05 kHz as long as the speech."""
    text = "A short line in mp3."
    speech = await make_voice(elevenlabs_server, output_format="mp3_22050_32").synthesize(
        request(tmp_path, text)
    )

    samples, rate = read_wav(speech.path)
    assert rate == speech.sample_rate == 22050
    assert speech.duration == pytest.approx(len(samples) / rate)
    expected = elevenlabs_server.last_alignment["character_end_times_seconds"][-1] + 0.1
    assert abs(speech.duration - expected) < 0.1  # mp3 frames pad the end by up to one frame and the delay
    assert np.abs(samples).max() > 5000
    assert elevenlabs_server.calls("/v1/text-to-speech")[0].args["output_format"] == "mp3_22050_32"


@pytest.mark.anyio
async def test_request_carries_model_format_voice_settings_and_speed_times_rate(
    elevenlabs_server: Any, tmp_path: Path
) -> None:
    """The body holds the model, language and voice settings; speed is the setting times VoiceSpec.rate."""
    voice = make_voice(
        elevenlabs_server,
        model="eleven_flash_v2_5",
        stability=0.4,
        similarity_boost=0.8,
        style=0.1,
        speed=1.1,
        language="de",
    )
    await voice.synthesize(request(tmp_path, "Guten Tag.", rate=1.05))
    await voice.synthesize(request(tmp_path, "Schnell!", name="fast.wav", rate=2.0))

    first, second = elevenlabs_server.calls("/v1/text-to-speech")
    assert first.path == "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb/with-timestamps"
    assert first.args["output_format"] == "pcm_24000"
    assert first.json["model_id"] == "eleven_flash_v2_5"
    assert first.json["language_code"] == "de"
    settings = first.json["voice_settings"]
    assert settings["stability"] == 0.4
    assert settings["similarity_boost"] == 0.8
    assert settings["style"] == 0.1
    assert settings["speed"] == pytest.approx(1.155)
    assert second.json["voice_settings"]["speed"] == 1.2  # 2.2 clamped to the API's range


@pytest.mark.anyio
async def test_voice_name_is_resolved_once_per_process_for_many_syntheses(
    elevenlabs_server: Any, tmp_path: Path
) -> None:
    """Six parallel calls and a second provider instance with the voice "rachel" make one GET /v1/voices."""
    voice = make_voice(elevenlabs_server, voice="rachel")
    async with anyio.create_task_group() as group:
        for i in range(6):
            group.start_soon(voice.synthesize, request(tmp_path, f"Line number {i}.", name=f"{i}.wav"))
    again = make_voice(elevenlabs_server, voice="Rachel")
    await again.synthesize(request(tmp_path, "Once more.", name="again.wav"))

    assert len(elevenlabs_server.calls("/v1/voices")) == 1
    paths = {call.path for call in elevenlabs_server.calls("/v1/text-to-speech")}
    assert paths == {"/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/with-timestamps"}
    assert len(elevenlabs_server.calls("/v1/text-to-speech")) == 7
    assert all((tmp_path / f"{i}.wav").stat().st_size > 1000 for i in range(6))


@pytest.mark.anyio
async def test_library_name_before_the_dash_finds_the_voice(elevenlabs_server: Any, tmp_path: Path) -> None:
    """A voice listed as "Adam - Dominant, Firm" is found by "Adam"."""
    await make_voice(elevenlabs_server, voice="Adam").synthesize(request(tmp_path, "Hello."))
    assert elevenlabs_server.calls("/v1/text-to-speech")[0].path.split("/")[3] == "pNInz6obpgDQGcFmaJgB"


@pytest.mark.anyio
async def test_the_briefs_voice_name_picks_an_account_voice_else_the_default_and_the_setting_wins(
    elevenlabs_server: Any, tmp_path: Path
) -> None:
    """One rule for every voice: ``[voice] name = "rachel"`` speaks with the account's Rachel (it used to be
    ignored: always George); a name the account lacks ("joe") gets the default, George; ``voice = "Adam"`` in
    ``[providers.elevenlabs]`` wins over the brief. ``Speech.voice`` names the voice that spoke."""
    cases = [({}, "rachel", "Rachel"), ({}, "joe", "George"), ({"voice": "Adam"}, "rachel", "Adam")]
    for i, (settings, asked, spoke) in enumerate(cases):
        out = tmp_path / f"{i}.wav"
        ask = SpeechRequest(text="Hello there.", voice=VoiceSpec(name=asked), language="en", out_path=out)
        speech = await make_voice(elevenlabs_server, **settings).synthesize(ask)
        assert speech.voice == spoke
        assert read_wav(out)[1] == 24000
    ids = [call.path.split("/")[3] for call in elevenlabs_server.calls("/v1/text-to-speech")]
    assert ids == ["21m00Tcm4TlvDq8ikWAM", "JBFqnCBsd6RMkjVDRZzb", "pNInz6obpgDQGcFmaJgB"]
    assert len(elevenlabs_server.calls("/v1/voices")) == 1  # the account's voices are read once


@pytest.mark.anyio
async def test_unknown_voice_name_is_permanent_and_lists_the_account_voices(
    elevenlabs_server: Any, tmp_path: Path
) -> None:
    """A name not in the account fails before any synthesis, naming the setting and the voices there are."""
    with pytest.raises(ProviderError) as caught:
        await make_voice(elevenlabs_server, voice="Brunhilde").synthesize(request(tmp_path, "Hi."))
    assert not caught.value.transient
    assert "providers.elevenlabs.voice" in caught.value.message
    assert "rachel" in caught.value.message
    assert elevenlabs_server.calls("/v1/text-to-speech") == []
    assert not (tmp_path / "speech.wav").exists()


@pytest.mark.anyio
async def test_characters_and_estimated_cost_are_recorded(elevenlabs_server: Any, tmp_path: Path) -> None:
    """Each call reports its characters and a cost from the price per 1,000 characters."""
    text = "Count these characters, please."
    with collect_usage() as usage:
        await make_voice(elevenlabs_server, price_per_1k_characters=0.5).synthesize(request(tmp_path, text))
    assert usage["characters"] == len(text)
    assert usage["cost_usd"] == pytest.approx(len(text) / 1000 * 0.5)


@pytest.mark.anyio
async def test_a_call_cancelled_while_its_wav_is_written_leaves_no_file(
    elevenlabs_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled while the worker thread writes the WAV, the call lets the cancellation through and leaves no
    file, at the speech's path or beside it (it returned its Speech, or kept the file)."""
    written, release = threading.Event(), threading.Event()
    write_audio = elevenlabs_provider.write_audio

    def write_then_wait(*args: Any) -> Any:
        measured = write_audio(*args)
        written.set()
        release.wait(30)
        return measured

    monkeypatch.setattr(elevenlabs_provider, "write_audio", write_then_wait)
    voice = make_voice(elevenlabs_server)
    returned: list[Any] = []

    async def call() -> None:
        returned.append(await voice.synthesize(request(tmp_path, "Bees dance.")))

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await anyio.to_thread.run_sync(written.wait, 30)
        assert [p.suffix for p in tmp_path.iterdir() if "speech" in p.name] == [".wav"]  # being written
        group.cancel_scope.cancel()
        release.set()
    assert returned == []
    assert [p.name for p in tmp_path.iterdir() if "speech" in p.name] == []
