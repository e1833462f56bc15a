"""The contract suite and clips: an illustrator that declares ``clips = True`` is asked for one and its clip
measured; an illustrator written before clips is checked exactly as before; a composer that takes clips
renders a segment of them. On asyncio and trio."""

from __future__ import annotations

from pathlib import Path

import pytest
from attrs import define, evolve, field

from aura_core import Clip, ImageRequest, Picture, Visual
from aura_core.testing import (
    FakeClipIllustrator,
    FakeComposer,
    FakeIllustrator,
    FakeVoice,
    check_provider,
)

pytestmark = pytest.mark.anyio


def _statuses(report: object) -> dict[str, str]:
    return {r.name: r.status for r in report.results}  # type: ignore[attr-defined]


async def test_a_clip_making_illustrator_passes_and_its_clip_is_measured(tmp_path: Path) -> None:
    """The fake clip maker passes every check; the suite asked it for a clip and measured the file."""
    report = await check_provider(FakeClipIllustrator(latency=0.2), tmp_path, clip_duration=True)
    assert not report.failures
    result = next(r.detail for r in report.results if r.name == "result")
    decode = next(r.detail for r in report.results if r.name == "decode")
    assert "a 1.50 s 96x54 clip at 10 fps" in result
    assert "the clip measures 96x54, 1.50 s at 10 fps" in decode
    assert (tmp_path / "contract" / "clip.mp4").is_file()


@define
class OldIllustrator(FakeIllustrator):
    """An illustrator written from the docs before clips: ``generate(request) -> Picture``, nothing more."""

    asked: list[ImageRequest] = field(factory=list)

    async def generate(self, request: ImageRequest) -> Picture:
        self.asked.append(request)
        return await FakeIllustrator.generate(self, request)


async def test_an_illustrator_written_before_clips_is_checked_as_before(tmp_path: Path) -> None:
    """No clips member: the suite never asks it for a clip, and it passes as it did."""
    old = OldIllustrator(latency=0.1)
    report = await check_provider(old, tmp_path, fresh_process=False)
    assert not report.failures
    assert old.asked and not any(r.clips for r in old.asked)
    assert "clip" not in next(r.detail for r in report.results if r.name == "result")


@define
class LyingClips(FakeClipIllustrator):
    """Its Clip says 30 fps; the file runs at 10."""

    async def generate(self, request: ImageRequest) -> Visual:
        made = await FakeClipIllustrator.generate(self, request)
        return evolve(made, fps=30.0) if isinstance(made, Clip) else made


@define
class ShortClips(FakeClipIllustrator):
    """Its clips last half a second, whatever slot it is asked to fill."""

    async def generate(self, request: ImageRequest) -> Visual:
        return await FakeClipIllustrator.generate(
            self, evolve(request, duration=0.5) if request.clips else request
        )


@define
class ElsewhereClips(FakeClipIllustrator):
    """Writes its clip to a file of another name than ``out_path``'s."""

    async def generate(self, request: ImageRequest) -> Visual:
        if not request.clips:
            return await FakeClipIllustrator.generate(self, request)
        made = await FakeClipIllustrator.generate(self, request)
        moved = made.path.with_name("somewhere-else.mp4")
        made.path.rename(moved)
        return evolve(made, path=moved)


@define
class ClipsForAll(FakeClipIllustrator):
    """Films even when the request takes only pictures."""

    async def generate(self, request: ImageRequest) -> Visual:
        return await FakeClipIllustrator.generate(self, evolve(request, clips=True))


@define
class ClipVoice(FakeVoice):
    """A voice that says it takes clips: the member means nothing for a voice."""

    clips: bool = True


@pytest.mark.parametrize(
    ("provider", "check", "finding"),
    [
        (LyingClips(), "decode", "the clip runs at 10 fps, Clip says 30"),
        (ElsewhereClips(), "result", "not beside request.out_path"),
        (ClipsForAll(), "result", "returned Clip, expected Picture"),
        (FakeClipIllustrator(clips="yes"), "identity", "clips is 'yes', expected True or False"),  # type: ignore[arg-type]
        (ClipVoice(), "identity", "clips applies only to image and composer providers"),
    ],
    ids=["lying-fps", "elsewhere", "clip-for-pictures", "clips-not-bool", "clips-on-a-voice"],
)
async def test_a_broken_clip_maker_is_caught(
    tmp_path: Path, provider: object, check: str, finding: str
) -> None:
    """A clip whose facts lie, one written elsewhere than beside ``out_path``, a clip where a picture was
    asked, and a ``clips`` member of the wrong type or on the wrong kind each fail their check, saying why."""
    report = await check_provider(provider, tmp_path, raise_on_failure=False, fresh_process=False)
    failed = {r.name: r.detail for r in report.failures}
    assert check in failed, report
    assert finding in failed[check]


async def test_a_clip_shorter_than_its_slot_fails_only_where_the_provider_promises_the_length(
    tmp_path: Path,
) -> None:
    """Clips shorter than asked are fine by default (the composer slows them down); with
    ``clip_duration=True`` the suite holds the provider to the length asked."""
    lenient = await check_provider(
        ShortClips(latency=0.1), tmp_path / "a", raise_on_failure=False, fresh_process=False
    )
    assert not lenient.failures
    strict = await check_provider(
        ShortClips(latency=0.1),
        tmp_path / "b",
        raise_on_failure=False,
        fresh_process=False,
        clip_duration=True,
    )
    assert [r.name for r in strict.failures] == ["result"]
    assert "the clip gives 0.50 s from its start, asked for 1.5 s" in strict.failures[0].detail


async def test_a_composer_that_takes_clips_renders_a_segment_of_clips(tmp_path: Path) -> None:
    """A composer with ``clips = True`` is given a segment whose visual and next visual are clips;
    the fake composer records the clip it showed."""
    report = await check_provider(
        FakeComposer(clips=True, latency=0.1), tmp_path, skip=["decode"], fresh_process=False
    )
    assert not report.failures
    segment = (tmp_path / "contract" / "segment-clip.mp4").read_text()
    assert "input-clip-0.mp4" in segment


async def test_a_composer_that_says_it_takes_clips_but_refuses_them_is_caught(tmp_path: Path) -> None:
    """``clips = True`` on a composer that fails on a Clip: the result check fails, naming the clips."""

    @define
    class Refusing(FakeComposer):
        async def render_scene(self, request: object) -> object:  # type: ignore[override]
            if isinstance(getattr(request, "picture", None), Clip):
                return None
            return await FakeComposer.render_scene(self, request)  # type: ignore[arg-type]

    report = await check_provider(
        Refusing(clips=True, latency=0.1),
        tmp_path,
        skip=["decode"],
        raise_on_failure=False,
        fresh_process=False,
    )
    assert [r.name for r in report.failures] == ["result"]
    assert "render_scene of clips returned NoneType, expected Segment" in report.failures[0].detail
