"""The provider contract suite (``aura_core.testing.check_provider``) on real providers, on the core's
fakes, and on broken providers it must catch.

The real providers come from the repository's own plugins (piper, cards, template, ffmpeg): they are
what a third party's provider is measured against. The suite runs on asyncio only here: the ffmpeg
composer and Piper are tested on asyncio by their own packages.
"""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest
from attrs import define, evolve

from aura_core import (
    AssemblyRequest,
    ImageRequest,
    Picture,
    Soundtrack,
    SoundtrackRequest,
    Speech,
    SpeechRequest,
    Video,
)
from aura_core.testing import (
    CHECKS,
    ContractReport,
    ContractViolation,
    FakeClipIllustrator,
    FakeComposer,
    FakeIllustrator,
    FakeMixingComposer,
    FakeScriptWriter,
    FakeVoice,
    check_provider,
    write_gradient_png,
    write_tone_wav,
)


@pytest.fixture
def anyio_backend() -> str:
    """Piper and the ffmpeg composer are asyncio providers."""
    return "asyncio"


def _statuses(report: ContractReport) -> dict[str, str]:
    return {r.name: r.status for r in report.results}


@pytest.mark.anyio
async def test_the_template_writer_keeps_the_contract(tmp_path: Path) -> None:
    """template: scenes stream, a cancelled stream stops at once, the fingerprint holds across processes."""
    from aura_plugins_local.template import TemplateWriter

    report = await check_provider(TemplateWriter(), tmp_path)
    assert _statuses(report) == {
        "identity": "passed",
        "result": "passed",
        "decode": "skipped",  # a script is text
        "refusal": "skipped",  # no request every writer must refuse
        "cancellation": "passed",
        "fingerprint": "passed",
    }
    assert "fresh process" in next(r.detail for r in report.results if r.name == "fingerprint")


@pytest.mark.anyio
async def test_the_cards_illustrator_keeps_the_contract(tmp_path: Path) -> None:
    """cards: a decoded PNG of the requested size, a 0x0 request refused, nothing left when cancelled."""
    from aura_plugins_local.cards import CardsIllustrator

    report = await check_provider(CardsIllustrator(), tmp_path)
    assert set(_statuses(report).values()) == {"passed"}
    assert "96x54 decoded" in str(report)
    assert "ProviderError: cards: 0x0 is too small" in str(report)


@pytest.mark.anyio
async def test_the_ffmpeg_composer_keeps_the_contract(tmp_path: Path) -> None:
    """ffmpeg: segments and video decode frame by frame at the asked size and length; an empty
    assembly is refused; a render cancelled midway kills ffmpeg and leaves no segment."""
    from aura_plugins_ffmpeg.composer import FfmpegComposer

    report = await check_provider(FfmpegComposer(), tmp_path)
    assert set(_statuses(report).values()) == {"passed"}
    # two still segments, and a segment of two clips (the composer takes clips)
    assert "3 segments and the video decoded frame by frame" in str(report)


@pytest.mark.anyio
async def test_the_piper_voice_keeps_the_contract_apart_from_cancellation(tmp_path: Path) -> None:
    """piper: a WAV whose measured length is Speech.duration within 50 ms, empty text refused, a
    fingerprint stable across processes."""
    from aura_plugins_local.piper_voice import PiperVoiceProvider

    report = await check_provider(PiperVoiceProvider(), tmp_path, skip=["cancellation"])
    assert _statuses(report) == dict.fromkeys(CHECKS, "passed") | {"cancellation": "skipped"}
    assert "Hz measured" in str(report)


@pytest.mark.anyio
async def test_the_piper_voice_honours_cancellation(tmp_path: Path) -> None:
    """piper cancelled midway lets the cancellation through and leaves no WAV."""
    from aura_plugins_local.piper_voice import PiperVoiceProvider

    await check_provider(PiperVoiceProvider(), tmp_path, skip=["result", "decode", "refusal", "fingerprint"])


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fake", "skip"),
    [
        (FakeScriptWriter(latency=0.05), ()),
        (FakeVoice(latency=0.2), ()),
        (FakeIllustrator(latency=0.2), ()),
        (FakeClipIllustrator(latency=0.2), ()),
        # the fake composer writes stand-in text files, not video
        (FakeComposer(latency=0.2), ("decode",)),
        (FakeMixingComposer(latency=0.2), ("decode",)),
        (FakeComposer(latency=0.2, clips=True), ("decode",)),
    ],
    ids=lambda v: (getattr(v, "kind", None) and type(v).__name__) or ",".join(v) or "all",
)
async def test_the_core_fakes_keep_the_contract_they_claim(
    tmp_path: Path, fake: Any, skip: tuple[str, ...]
) -> None:
    """Every fake passes every check it does not opt out of; cancellation is really tried midway."""
    report = await check_provider(evolve(fake), tmp_path, skip=skip)
    assert not report.failures
    assert "midway" in next(r.detail for r in report.results if r.name == "cancellation")


@define
class _ShortMixer(FakeMixingComposer):
    """A soundtrack mixer that says its soundtrack is a second shorter than the timeline."""

    async def mix_soundtrack(self, request: SoundtrackRequest) -> Soundtrack:
        made = await FakeMixingComposer.mix_soundtrack(self, request)
        return evolve(made, duration=request.duration - 1.0)


@pytest.mark.anyio
async def test_a_soundtrack_shorter_than_the_timeline_fails_the_result_check(tmp_path: Path) -> None:
    """The suite runs ``mix_soundtrack`` for a composer that has it and names a wrong length."""
    report = await check_provider(
        _ShortMixer(), tmp_path, skip=("decode", "cancellation"), raise_on_failure=False
    )
    result = next(r for r in report.results if r.name == "result")
    assert result.status == "failed"
    assert "soundtrack lasts" in str(report)


@define
class _YesVoice(FakeVoice):
    """A voice that says yes to everything, blank text included."""

    async def synthesize(self, request: SpeechRequest) -> Speech:
        if request.text.strip():
            return await FakeVoice.synthesize(self, request)
        write_tone_wav(request.out_path, 0.5)
        return Speech(path=request.out_path, duration=0.5, sample_rate=16000)


@define
class _YesIllustrator(FakeIllustrator):
    """An illustrator that draws something even for a 0x0 request."""

    async def generate(self, request: ImageRequest) -> Picture:
        write_gradient_png(request.out_path, max(request.width, 1), max(request.height, 1), 1)
        return Picture(
            path=request.out_path, width=request.width, height=request.height, source="yes", license="CC0"
        )


@define
class _YesComposer(FakeComposer):
    """A composer that assembles nothing into a file."""

    async def assemble(self, request: AssemblyRequest) -> Video:
        if request.segments:
            return await FakeComposer.assemble(self, request)
        request.out_path.write_text("")
        return Video(path=request.out_path, duration=0.0, width=1, height=1, fps=1.0, size_bytes=0)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("provider", "finding"),
    [
        (_YesVoice(), "accepted text '   ', which it must refuse with ProviderError"),
        (_YesIllustrator(), "accepted a 0x0 picture, which it must refuse with ProviderError"),
        (_YesComposer(), "accepted an assembly of 0 segments"),
    ],
    ids=["tts", "image", "composer"],
)
async def test_the_suite_reports_a_provider_that_accepts_requests_it_should_refuse(
    tmp_path: Path, provider: Any, finding: str
) -> None:
    """A provider that says yes to everything fails the refusal check, which says what was accepted."""
    with pytest.raises(ContractViolation) as caught:
        await check_provider(provider, tmp_path, skip=["cancellation", "fingerprint", "decode"])
    assert [r.name for r in caught.value.report.failures] == ["refusal"]
    assert finding in str(caught.value)


@define
class _LyingVoice:
    """A voice that claims twice the length it wrote and raises ValueError on empty text."""

    kind = "tts"
    name = "lying"

    async def synthesize(self, request: SpeechRequest) -> Speech:
        if not request.text.strip():
            raise ValueError("empty")
        write_tone_wav(request.out_path, 1.0, 8000)
        return Speech(request.out_path, 2.0, 8000)


@define
class _SloppyPictures:
    """An illustrator that draws 10 px short, and leaves its half-written file when cancelled."""

    kind = "image"
    name = "sloppy"

    async def generate(self, request: ImageRequest) -> Picture:
        request.out_path.write_bytes(b"\x89PNG partial")
        await anyio.sleep(0.2)
        write_gradient_png(request.out_path, request.width, request.height - 10, request.seed)
        return Picture(request.out_path, request.width, request.height, "sloppy", "CC0")


@pytest.mark.anyio
async def test_a_voice_that_lies_about_its_length_and_raises_valueerror_is_caught(tmp_path: Path) -> None:
    """The decode check measures the WAV (1.000 s, not the 2.000 s claimed); refusal names ValueError."""
    with pytest.raises(ContractViolation) as caught:
        await check_provider(_LyingVoice(), tmp_path)
    report = caught.value.report
    assert {r.name for r in report.failures} == {"decode", "refusal"}
    assert "the file lasts 1.000 s, Speech.duration says 2.000 s" in str(report)
    assert "raised ValueError: empty (expected ProviderError)" in str(report)


@pytest.mark.anyio
async def test_wrong_sizes_and_partial_files_left_by_a_cancelled_call_are_caught(tmp_path: Path) -> None:
    """The result check reads the PNG (96x44 for 96x54); a call cancelled midway left its partial file."""
    report = await check_provider(_SloppyPictures(), tmp_path, raise_on_failure=False)
    failed = {r.name: r.detail for r in report.failures}
    assert "picture file is 96x44, asked for 96x54" in failed["result"]
    assert "left a file at out_path" in failed["cancellation"]
    assert "refusal" in failed  # it drew a 0x0 request without complaint


@pytest.mark.anyio
async def test_a_fingerprint_that_changes_between_processes_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fingerprint built from the process id is the same twice here but not in a fresh process."""
    (tmp_path / "pid_voice.py").write_text(
        textwrap.dedent(
            """
            import os
            from aura_core.testing import FakeVoice

            class PidVoice(FakeVoice):
                def fingerprint(self):
                    return f"pid:{os.getpid()}"
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("pid_voice")
    report = await check_provider(
        module.PidVoice(), tmp_path, skip=["refusal", "cancellation"], raise_on_failure=False
    )
    assert [r.name for r in report.failures] == ["fingerprint"]
    assert "differs in a fresh process" in report.failures[0].detail


@pytest.mark.anyio
async def test_an_object_of_no_known_kind_fails_identity_and_nothing_else_runs(tmp_path: Path) -> None:
    """A provider without a known kind stops at the identity check; the other checks are skipped."""
    report = await check_provider(FakeVoice(kind="speech"), tmp_path, raise_on_failure=False)
    assert _statuses(report) == {"identity": "failed"} | dict.fromkeys(CHECKS[1:], "skipped")
    assert "kind is 'speech'" in report.failures[0].detail
    assert not list(tmp_path.rglob("*.wav"))


@pytest.mark.anyio
async def test_an_unknown_check_name_in_skip_is_an_error(tmp_path: Path) -> None:
    """A misspelled check in skip= is refused rather than silently running the check."""
    with pytest.raises(ValueError, match="unknown check"):
        await check_provider(FakeVoice(), tmp_path, skip=["refusals"])


@define
class RejectingComposer(FakeComposer):
    """A composer whose ``check_render`` refuses every render, even the suite's sample."""

    def check_render(self, render: Any) -> list[str]:
        """One problem, whatever ``render`` holds."""
        return ["render.transition: nothing renders here"]


@define
class AsyncCheckRenderComposer(FakeComposer):
    """A composer whose ``check_render`` is async: the core calls it in a worker thread, where it would never run."""

    async def check_render(self, render: Any) -> list[str]:
        """Nothing found, but too late: a coroutine instead of a list."""
        return []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("composer", "finding"),
    [
        (RejectingComposer(), "rejects the sample render"),
        (AsyncCheckRenderComposer(), "must be a plain method"),
    ],
)
async def test_a_check_render_that_rejects_the_sample_or_is_async_fails_identity(
    tmp_path: Path, composer: Any, finding: str
) -> None:
    """``check_render`` must return a list of lines and find nothing wrong with the sample's render."""
    report = await check_provider(composer, tmp_path, raise_on_failure=False)
    assert _statuses(report)["identity"] == "failed"
    assert finding in report.failures[0].detail
