"""The ``elevenlabs`` voice keeps the contract aura offers third parties (``check_provider``), over the
local ElevenLabs server on 127.0.0.1 and the real SDK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aura_core.testing import check_provider, configured
from aura_plugins_elevenlabs import ElevenLabsVoice


@pytest.mark.anyio
@pytest.mark.parametrize("output_format", ["pcm_24000", "mp3_44100_128"])
async def test_the_elevenlabs_voice_keeps_the_contract(
    elevenlabs_server: Any, tmp_path: Path, output_format: str
) -> None:
    """A WAV whose measured length is Speech.duration, blank text refused with no file, nothing left when
    cancelled, a fingerprint the same in a fresh process."""
    voice = configured(
        ElevenLabsVoice(), {"base_url": elevenlabs_server.base_url, "output_format": output_format}
    )
    report = await check_provider(voice, tmp_path)
    statuses = {r.name: r.status for r in report.results}
    assert statuses["result"] == statuses["decode"] == statuses["refusal"] == "passed", report
    assert statuses["fingerprint"] == "passed", report


@pytest.mark.anyio
async def test_blank_text_is_refused_before_any_request(elevenlabs_server: Any, tmp_path: Path) -> None:
    """Blank text raises a permanent ProviderError and leaves no WAV (it was spoken and the file kept)."""
    voice = configured(ElevenLabsVoice(), {"base_url": elevenlabs_server.base_url})
    report = await check_provider(voice, tmp_path, skip=["result", "decode", "cancellation", "fingerprint"])
    assert report.status("refusal") == "passed", report
    assert "no text to speak" in str(report)
    assert not (tmp_path / "contract" / "refused.wav").exists()
    assert elevenlabs_server.calls("/v1/text-to-speech") == []
