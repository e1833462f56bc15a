"""The streaming runner and the run store, on fake providers (the core's own unit tests)."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from attrs import define, evolve

from aura_core import Event, ItemDone, Pipeline, SceneDraft, ScriptRequest, UserError
from aura_core.store import RunStore
from aura_core.testing import FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

from .conftest import make_spec

pytestmark = pytest.mark.anyio


@define
class ScriptedWriter(FakeScriptWriter):
    """An LLM fake that writes the given narrations, one scene per entry."""

    narrations: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        """Like a script file's provider: the script's text is part of the fingerprint."""
        return "scripted:" + "|".join(self.narrations)

    async def write_script(self, request: ScriptRequest) -> AsyncIterator[SceneDraft]:
        self.calls += 1
        for index, text in enumerate(self.narrations):
            if self.latency:
                await anyio.sleep(self.latency)
            yield SceneDraft(heading=f"Scene {index + 1}", narration=text, visual_prompt=f"picture {index}")


NARRATIONS = tuple(f"Scene {i} says a few plain words about honeybees and flowers." for i in range(5))


def providers(latency: float = 0.0, narrations: tuple[str, ...] = NARRATIONS) -> list[Any]:
    return [
        ScriptedWriter(latency=latency, narrations=narrations),
        FakeVoice(latency=latency),
        FakeIllustrator(latency=latency),
        FakeComposer(latency=latency / 2),
    ]


def by_kind(items: list[Any]) -> dict[str, Any]:
    return {p.kind: p for p in items}


@define
class HeldWriter(ScriptedWriter):
    """Writes the first two scenes, then holds the rest of the script until ``release`` is set."""

    release: anyio.Event | None = None

    async def write_script(self, request: ScriptRequest) -> AsyncIterator[SceneDraft]:
        assert self.release is not None
        written = 0
        async for draft in super().write_script(request):
            if written == 2:
                with anyio.fail_after(20):  # a runner that waits for the whole script never releases it
                    await self.release.wait()
            written += 1
            yield draft


async def test_scenes_stream_while_the_script_is_still_being_written(tmp_path: Path) -> None:
    """Scene 1's voice, picture and segment are done before the LLM has written scene 3.

    The script writer holds scene 3 until scene 1's segment (which ends in scene 2's picture) is done: a
    runner that waited for the whole script would never see it done (the writer gives up after 20 s), and
    no timing of the machine matters."""
    release = anyio.Event()
    events: list[Event] = []

    def seen(event: Event) -> None:
        events.append(event)
        if isinstance(event, ItemDone) and event.stage == "segments" and event.index == 0:
            release.set()

    stack = providers()
    stack[0] = HeldWriter(narrations=NARRATIONS, release=release)
    await Pipeline(stack).run(make_spec(), run_dir=tmp_path / "run", on_event=seen)
    done = [e for e in events if isinstance(e, ItemDone)]
    script_done = next(i for i, e in enumerate(done) if e.stage == "script")
    first = {e.stage: i for i, e in reversed(list(enumerate(done))) if e.index == 0}
    assert first["voice"] < script_done
    assert first["visuals"] < script_done
    assert first["segments"] < script_done


async def test_stage_by_stage_baseline_makes_the_same_video(tmp_path: Path) -> None:
    """The non-streaming baseline waits for the script, then gives the same output as streaming."""
    events: list[Event] = []
    streamed = await Pipeline(providers()).run(make_spec(), run_dir=tmp_path / "a")
    staged = await Pipeline(providers()).run(
        make_spec(), run_dir=tmp_path / "b", streaming=False, on_event=events.append
    )
    assert streamed.path.read_bytes() == staged.path.read_bytes()
    done = [e.stage for e in events if isinstance(e, ItemDone)]
    assert done.index("script") < done.index("voice")


async def test_scenes_are_timed_from_measured_speech_on_whole_frames(tmp_path: Path) -> None:
    """Each scene lasts its speech plus the pause, rounded up to whole frames; starts add up."""
    spec = make_spec()
    await Pipeline(providers()).run(spec, run_dir=tmp_path / "run")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    fps, pause = spec.render.fps, spec.voice.pause_seconds
    start = 0.0
    for scene in report["scenes"]:
        frames = math.ceil((scene["speech_seconds"] + pause) * fps - 1e-6)
        assert scene["duration"] == pytest.approx(frames / fps)
        assert scene["start"] == pytest.approx(start)
        start += scene["duration"]
    assert report["video"]["duration"] == pytest.approx(start)


async def test_a_second_run_makes_no_provider_call(tmp_path: Path) -> None:
    """Running the same brief again finds every result in the store."""
    first = providers()
    video = await Pipeline(first).run(make_spec(), run_dir=tmp_path / "run")
    second = providers()
    again = await Pipeline(second).run(make_spec(), run_dir=tmp_path / "run")
    assert [p.calls for p in second] == [0, 0, 0, 0]
    assert again.path.read_bytes() == video.path.read_bytes()
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["calls_saved"] == 1 + 5 + 5 + 5 + 1


async def test_editing_one_scene_remakes_only_what_depends_on_it(tmp_path: Path) -> None:
    """Scene 3's new narration re-voices scene 3 and re-renders its segment; nothing else but assembly."""
    await Pipeline(providers()).run(make_spec(), run_dir=tmp_path / "run")
    edited = list(NARRATIONS)
    edited[2] = "Scene 2 now says something rather different and a good deal longer than it did before."
    again = by_kind(providers(narrations=tuple(edited)))
    await Pipeline(list(again.values())).run(make_spec(), run_dir=tmp_path / "run")
    assert again["tts"].calls == 1
    assert again["image"].calls == 0
    assert again["composer"].calls == 2  # scene 3's segment, then the assembly


async def test_changing_the_voice_revoices_every_scene_but_reuses_every_picture(tmp_path: Path) -> None:
    """Another voice changes every speech request, and no image request."""
    await Pipeline(providers()).run(make_spec(), run_dir=tmp_path / "run")
    again = by_kind(providers())
    await Pipeline(list(again.values())).run(make_spec(voice={"name": "amy"}), run_dir=tmp_path / "run")
    assert again["tts"].calls == 5
    assert again["image"].calls == 0


async def test_a_corrupt_artifact_is_detected_and_made_again(tmp_path: Path) -> None:
    """A truncated file fails its checksum: the one call that made it is made again."""
    await Pipeline(providers()).run(make_spec(), run_dir=tmp_path / "run")
    wav = sorted((tmp_path / "run" / "artifacts").glob("*.wav"))[0]
    wav.write_bytes(wav.read_bytes()[:100])
    again = by_kind(providers())
    await Pipeline(list(again.values())).run(make_spec(), run_dir=tmp_path / "run")
    assert again["tts"].calls == 1
    assert again["image"].calls == 0


async def test_cancelling_a_run_cleans_temporary_files_and_records_it(tmp_path: Path) -> None:
    """Cancellation stops every task, empties tmp/, and report.json says cancelled; finished work stays."""
    slow = providers(latency=0.2)
    with anyio.move_on_after(0.7):
        await Pipeline(slow).run(make_spec(), run_dir=tmp_path / "run")
    run = tmp_path / "run"
    assert list((run / "tmp").iterdir()) == []
    assert json.loads((run / "report.json").read_text())["state"] == "cancelled"
    assert any((run / "artifacts").iterdir())


async def test_a_second_process_on_the_same_run_directory_is_refused(tmp_path: Path) -> None:
    """The run directory is locked while a run holds it."""
    store = RunStore(tmp_path / "run")
    try:
        with pytest.raises(UserError, match="in use by another aura process"):
            await Pipeline(providers()).run(make_spec(), run_dir=tmp_path / "run")
    finally:
        store.close()


async def test_provider_objects_from_an_app_need_no_entry_points(tmp_path: Path) -> None:
    """Pipeline(providers=[...]) runs with the app's own objects, and rejects one that breaks the contract."""
    with pytest.raises(UserError, match="kind must be one of"):
        Pipeline([evolve(FakeVoice(), kind="speech")])
    video = await Pipeline(providers()).run(make_spec(), run_dir=tmp_path / "run", out=tmp_path / "v.mp4")
    assert video.path == tmp_path / "v.mp4"
    assert video.path.read_bytes() == (tmp_path / "run" / "final.mp4").read_bytes()
