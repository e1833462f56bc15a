"""Moving clips as scene visuals in the core: what the runner asks for, what it keys, stores and refuses."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from attrs import define, evolve, field, frozen

from aura_core import Clip, Event, Fallback, ImageRequest, Picture, Pipeline, SceneDraft, Visual
from aura_core.artifacts import ArtifactIndex
from aura_core.dryrun import dry_run
from aura_core.media import probe_clip
from aura_core.planning import estimate_speech_seconds, plan_script
from aura_core.runner import VISUAL_TYPE, image_request, image_request_for
from aura_core.store import RunStore
from aura_core.testing import (
    FakeClipIllustrator,
    FakeComposer,
    FakeIllustrator,
    FakeScriptWriter,
    FakeVoice,
    write_gradient_png,
    write_test_clip,
)

from .conftest import make_spec

pytestmark = pytest.mark.anyio


@define
class RecordingClips(FakeClipIllustrator):
    """A clip-making fake that keeps every request it is asked."""

    asked: list[ImageRequest] = field(factory=list)

    async def generate(self, request: ImageRequest) -> Visual:
        self.asked.append(request)
        return await FakeClipIllustrator.generate(self, request)


@define
class RecordingPictures(FakeIllustrator):
    """An illustrator written before clips: it knows nothing of them, and keeps what it is asked."""

    asked: list[ImageRequest] = field(factory=list)

    async def generate(self, request: ImageRequest) -> Picture:
        self.asked.append(request)
        return await FakeIllustrator.generate(self, request)


def stack(image: Any, *, composer_clips: bool = True, voice_latency: float = 0.0) -> list[Any]:
    """Fakes around ``image``; the voice speaks at 100 words a minute, slower than the plan's 150, so a
    scene's voiced slot differs from the one estimated from its words."""
    return [
        FakeScriptWriter(),
        FakeVoice(latency=voice_latency, words_per_minute=100.0),
        image,
        FakeComposer(clips=composer_clips),
    ]


def report_of(run_dir: Path) -> dict[str, Any]:
    return dict(json.loads((run_dir / "report.json").read_text()))


async def test_a_clip_maker_is_offered_clips_and_fills_each_scene_when_every_composer_takes_clips(
    tmp_path: Path,
) -> None:
    """With a composer that takes clips, a clip-making illustrator is asked with clips=True; each scene's
    visual is an MP4 in the store that the segment shows, and the report says it is a clip."""
    image = RecordingClips()
    spec = make_spec()
    await Pipeline(stack(image)).run(spec, run_dir=tmp_path / "run")
    assert image.asked and all(r.clips for r in image.asked)
    artifacts = tmp_path / "run" / "artifacts"
    report = report_of(tmp_path / "run")
    assert [s["visual"] for s in report["scenes"]] == ["clip"] * 5
    for scene, asked in zip(report["scenes"], sorted(image.asked, key=lambda r: r.heading), strict=True):
        path = Path(scene["picture"])
        assert path.parent == artifacts and path.suffix == ".mp4"
        measured = probe_clip(path, source="", license="")  # the real clip, moved into the store
        assert measured.duration == pytest.approx(asked.duration, abs=0.11)
        assert scene["credit"] == {"source": "fake", "author": "aura tests", "link": "", "license": "CC0"}
    assert not list((tmp_path / "run" / "tmp").iterdir())
    video = (tmp_path / "run" / "final.mp4").read_text()
    assert video.count(".mp4") == 5  # every segment stand-in names the clip it shows


async def test_the_slot_is_estimated_from_words_when_asked_early_and_exact_once_voiced(
    tmp_path: Path,
) -> None:
    """Streaming, the visual is asked before the slow voice has spoken: its duration is the slot estimated
    from the words at the plan's pace. Stage by stage it is asked after the voice: the voiced slot."""
    spec = make_spec()
    plan = plan_script(spec)
    fps, pause = spec.render.fps, spec.voice.pause_seconds
    early = RecordingClips()
    await Pipeline(stack(early, voice_latency=0.3)).run(spec, run_dir=tmp_path / "a")
    late = RecordingClips()
    await Pipeline(stack(late)).run(spec, run_dir=tmp_path / "b", streaming=False)
    voiced = [s["duration"] for s in report_of(tmp_path / "b")["scenes"]]
    drafts = [s["narration"] for s in report_of(tmp_path / "a")["scenes"]]
    estimated = [
        math.ceil((estimate_speech_seconds(text, plan.words_per_minute, "en") + pause) * fps - 1e-6) / fps
        for text in drafts
    ]
    assert sorted(r.duration for r in early.asked) == pytest.approx(sorted(estimated))
    assert sorted(r.duration for r in late.asked) == pytest.approx(sorted(voiced))
    assert min(v - e for v, e in zip(sorted(voiced), sorted(estimated), strict=True)) > 0.5


async def test_a_resumed_run_finds_its_clips_whether_they_were_asked_early_or_late(tmp_path: Path) -> None:
    """The slot's length is not in the cache key: clips asked with estimated slots (streaming, slow voice)
    are found by a run that asks with the voiced slots (stage by stage), with no call."""
    spec = make_spec()
    await Pipeline(stack(RecordingClips(), voice_latency=0.3)).run(spec, run_dir=tmp_path / "run")
    again = RecordingClips()
    await Pipeline(stack(again)).run(spec, run_dir=tmp_path / "run", streaming=False)
    assert again.calls == 0
    assert report_of(tmp_path / "run")["calls_saved"] == 1 + 5 + 5 + 5 + 1


async def test_an_illustrator_without_clips_is_asked_and_keyed_as_before_clips(tmp_path: Path) -> None:
    """A composer that takes clips changes nothing for an illustrator that does not declare clips: it is
    asked clips=False, and a run with a composer that takes none finds all its pictures."""
    spec = make_spec()
    old = RecordingPictures()
    await Pipeline(stack(old, composer_clips=True)).run(spec, run_dir=tmp_path / "run")
    assert old.asked and not any(r.clips for r in old.asked)
    again = RecordingPictures()
    await Pipeline(stack(again, composer_clips=False)).run(spec, run_dir=tmp_path / "run")
    assert again.calls == 0


async def test_a_clip_maker_is_asked_for_pictures_when_a_composer_takes_no_clips(tmp_path: Path) -> None:
    """One composer of the chain without clips: the illustrator is asked clips=False and gives pictures;
    the run after it, with a composer that takes clips, asks again (a clip is another result)."""
    spec = make_spec()
    image = RecordingClips()
    await Pipeline(stack(image, composer_clips=False)).run(spec, run_dir=tmp_path / "run")
    assert not any(r.clips for r in image.asked)
    assert [s["visual"] for s in report_of(tmp_path / "run")["scenes"]] == ["picture"] * 5
    again = RecordingClips()
    await Pipeline(stack(again, composer_clips=True)).run(spec, run_dir=tmp_path / "run")
    assert again.calls == 5 and all(r.clips for r in again.asked)


# -- keys: an old provider's keys are those made before clips existed ------------------------------


def _old_picture(path: Path, width: int, height: int, source: str, license: str) -> Any:
    """A ``Picture`` as it was before clips (no author, no link)."""

    @frozen
    class Picture:  # the key hashes the class name
        path: Path
        width: int
        height: int
        source: str
        license: str

    return Picture(path, width, height, source, license)


def _old_request(request: ImageRequest) -> Any:
    """``request`` as an ``ImageRequest`` of the contract before clips (no duration, no clips)."""

    @frozen
    class ImageRequest:  # the key hashes the class name
        prompt: str
        negative_prompt: str
        width: int
        height: int
        style: str
        seed: int
        out_path: Path
        heading: str = ""

    return ImageRequest(
        request.prompt,
        request.negative_prompt,
        request.width,
        request.height,
        request.style,
        request.seed,
        request.out_path,
        request.heading,
    )


def test_keys_of_still_requests_and_of_pictures_are_those_made_before_clips(tmp_path: Path) -> None:
    """The key of an image request as an illustrator without clips is asked it (any slot length, clips
    offered or not) equals the key of the same request in the contract before clips; a picture without
    credits keys a segment as it did before ``author`` and ``link`` existed, one with credits does not."""
    store = RunStore(tmp_path / "run")
    try:
        draft = SceneDraft(heading="Bees", narration="Bees dance.", visual_prompt="a bee")
        asked = image_request(make_spec(), 0, draft, duration=4.2, clips=True)
        for_old = image_request_for(FakeIllustrator(), asked)
        assert not for_old.clips
        assert store.key("fake", "fp", for_old) == store.key("fake", "fp", _old_request(asked))
        for_clips = image_request_for(FakeClipIllustrator(), asked)
        assert for_clips.clips
        assert store.key("fake", "fp", for_clips) != store.key("fake", "fp", for_old)
        assert store.key("fake", "fp", for_old) == store.key(
            "fake",
            "fp",
            image_request_for(FakeIllustrator(), image_request(make_spec(), 0, draft, duration=9.9)),
        )
        png = tmp_path / "p.png"
        write_gradient_png(png, 8, 8, 1)
        picture = Picture(png, 8, 8, "cards", "CC0")
        assert store.key("x", "y", picture) == store.key("x", "y", _old_picture(png, 8, 8, "cards", "CC0"))
        credited = Picture(png, 8, 8, "cards", "CC0", author="Ann")
        assert store.key("x", "y", credited) != store.key("x", "y", picture)
    finally:
        store.close()


# -- stored results --------------------------------------------------------------------------------


async def test_stored_visuals_read_back_as_the_picture_or_clip_they_were(tmp_path: Path) -> None:
    """A clip and a picture committed to the store come back as a Clip and a Picture with their files in
    artifacts/ (stored relative to it); a picture row written before credits reads as a Picture."""
    store = RunStore(tmp_path / "run")
    try:
        clip_file = store.temp_path(".mp4")
        write_test_clip(clip_file, 32, 18, 1.0, 10, 1)
        clip = Clip(
            clip_file, 32, 18, 1.0, 10.0, "stock", "CC BY 4.0", start=0.2, author="Ann", link="https://x"
        )
        png = store.temp_path(".png")
        write_gradient_png(png, 8, 8, 1)
        committed_clip = store.commit("k1", "image", "fake", clip)
        committed_picture = store.commit("k2", "image", "fake", Picture(png, 8, 8, "cards", "CC0"))
        assert committed_clip.path == store.artifacts / "k1.mp4"
        assert store.lookup("k1", VISUAL_TYPE) == committed_clip
        assert store.lookup("k2", VISUAL_TYPE) == committed_picture
        row = store._sql("SELECT result FROM artifacts WHERE key = 'k1'").fetchone()[0]
        assert json.loads(row)["path"] == {"__artifact__": "k1.mp4"}
        old = json.dumps(
            {"path": {"__artifact__": "k2.png"}, "width": 8, "height": 8, "source": "s", "license": "l"}
        )
        store._sql("UPDATE artifacts SET result = ? WHERE key = 'k2'", (old,))
        found = store.lookup("k2", VISUAL_TYPE)
        assert isinstance(found, Picture) and found.author == "" and found.path == committed_picture.path
    finally:
        store.close()


# -- refusal: a clip where none was asked ----------------------------------------------------------


@define
class AlwaysClips(FakeClipIllustrator):
    """An illustrator that films whatever it is asked, clips or not (the same clip each time: a bad one
    is not retried, so each scene falls back at once)."""

    name: str = "always-clips"
    deterministic: bool = True

    async def generate(self, request: ImageRequest) -> Visual:
        return await FakeClipIllustrator.generate(self, evolve(request, clips=True))


async def test_a_clip_for_a_request_without_clips_fails_and_the_next_illustrator_takes_over(
    tmp_path: Path,
) -> None:
    """A composer that takes no clips: a clip returned anyway fails the call, naming why, and every
    scene's picture comes from the next illustrator of the chain."""
    events: list[Event] = []
    spec = make_spec(providers={"image": ["always-clips", "fake"]})
    providers = [FakeScriptWriter(), FakeVoice(), AlwaysClips(), FakeIllustrator(), FakeComposer()]
    await Pipeline(providers).run(spec, run_dir=tmp_path / "run", on_event=events.append)
    fallbacks = [e for e in events if isinstance(e, Fallback) and e.kind == "image"]
    assert len(fallbacks) == 5
    assert all("returned a Clip for a request that takes only pictures" in e.cause for e in fallbacks)
    report = report_of(tmp_path / "run")
    assert [s["picture_provider"] for s in report["scenes"]] == ["fake"] * 5
    assert [s["visual"] for s in report["scenes"]] == ["picture"] * 5


# -- the dry run keys as the run does -------------------------------------------------------------


async def test_the_dry_run_finds_the_clips_a_run_made(tmp_path: Path) -> None:
    """After a run of clips, ``--dry-run`` predicts every visual reused: it asks and keys as the runner."""
    spec = make_spec()
    await Pipeline(stack(RecordingClips())).run(spec, run_dir=tmp_path / "run")
    planned = await dry_run(Pipeline(stack(RecordingClips())).registry, spec, tmp_path / "run")
    assert planned.cached["image"] == 5
    assert {p.kind: p.calls for p in planned.providers}["image"] == 0


def test_the_index_reads_a_clip_back_read_only(tmp_path: Path) -> None:
    """``ArtifactIndex.snapshot`` (the dry run's view) reads a stored clip as a Clip too."""
    store = RunStore(tmp_path / "run")
    clip_file = store.temp_path(".mp4")
    write_test_clip(clip_file, 32, 18, 1.0, 10, 1)
    store.commit("k", "image", "fake", Clip(clip_file, 32, 18, 1.0, 10.0, "s", "l"))
    store.close()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    index = ArtifactIndex.snapshot(tmp_path / "run", scratch)
    try:
        assert isinstance(index.lookup("k", VISUAL_TYPE), Clip)
    finally:
        index.close()


@define
class StillsAnyway(RecordingClips):
    """Declares clips, yet answers with pictures (a stock library with no footage for the prompt)."""

    async def generate(self, request: ImageRequest) -> Visual:
        self.asked.append(request)
        return await FakeIllustrator.generate(FakeIllustrator(), evolve(request, clips=False))


async def test_a_clip_maker_may_answer_a_request_that_takes_clips_with_a_picture(tmp_path: Path) -> None:
    """Taking clips is a permission, not an order: a picture returned for a request with clips=True is
    checked as any picture and shown."""
    image = StillsAnyway()
    await Pipeline(stack(image)).run(make_spec(), run_dir=tmp_path / "run")
    assert len(image.asked) == 5 and all(r.clips for r in image.asked)
    assert [s["visual"] for s in report_of(tmp_path / "run")["scenes"]] == ["picture"] * 5
