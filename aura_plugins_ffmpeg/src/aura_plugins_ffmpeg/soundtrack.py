"""The soundtrack: narration laid at its scene starts, music ducked under it, levelled to the
target loudness under the true-peak ceiling, encoded for the video's container (AAC in M4A, or
Opus in WebM for VP9). Made on its own (``FfmpegComposer.mix_soundtrack``, while the segments still
render) or by the assembly when it was not made before."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import ffmpeg
from loguru import logger

from aura_core import Narration, ProviderError, Soundtrack, SoundtrackRequest, UserError
from aura_plugins_ffmpeg import audio, binary
from aura_plugins_ffmpeg.probe import probe

#: The audio encoder per container.
AAC: Mapping[str, Any] = {"c:a": "aac", "b:a": "192k", "f": "mp4", "movflags": "+faststart"}
OPUS: Mapping[str, Any] = {"c:a": "libopus", "b:a": "160k", "f": "webm"}


def is_webm(path: Path) -> bool:
    """Whether ``path`` names a WebM (or Matroska) file, which carries Opus rather than AAC."""
    return path.suffix.lower() in (".webm", ".mkv")


async def mix(
    request: SoundtrackRequest,
    *,
    exe: str,
    threads: int,
    levelled: Mapping[Path, audio.Levelling | None] | None = None,
) -> Soundtrack:
    """Write the soundtrack of ``request`` to ``request.out_path`` and return it as probed: each
    scene's narration levelled on its own, then the whole mix to the target. ``levelled``: how the
    speeches are levelled (``audio.speech_levelling``) where that is known already, by their file."""
    render = request.render
    music = request.music if request.music is not None else render.music
    if music is not None and not music.is_file():
        raise UserError(f"render.music: no such file {music}")
    if request.duration <= 0:
        raise ProviderError("the soundtrack needs a timeline longer than 0 s", transient=False)
    out = request.out_path
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".aura-soundtrack-", dir=out.parent) as tmp:
        # Pass one: mix the soundtrack once to a WAV and measure its loudness on the way.
        mix_wav = Path(tmp) / "mix.wav"
        # The timeline is one track piped on stdin: one input however many scenes there are.
        graph = audio.measure_graph(audio.soundtrack(music, render.music_volume), mix_wav)
        levellings = await narration_levellings(request.narration, render.loudness, levelled or {})
        bed = audio.with_music(music, render.music_volume)
        track = audio.Track.of(request.narration, request.duration, bed, levellings)
        stderr = await binary.run(
            binary.command(exe, graph.compile(), loglevel="info", threads=threads),
            what="mix the soundtrack",
            feed=track.chunks(),
        )
        levelling = await levelling_of(exe, mix_wav, audio.parse_measurement(stderr), render.loudness)
        # Pass two: level and encode.
        sound = audio.level(ffmpeg.input(str(mix_wav)).audio, levelling)
        codec = OPUS if is_webm(out) else AAC
        encode = ffmpeg.output(sound, str(out), t=f"{request.duration:.6f}", **codec)
        await binary.run(
            binary.command(exe, encode.compile(), threads=threads),
            what="encode the soundtrack",
            partial=[out],
        )
    found = await anyio.to_thread.run_sync(probe, out)
    if found.audio_codec is None:
        out.unlink(missing_ok=True)
        raise ProviderError(f"the soundtrack {out.name} has no audio stream", transient=False)
    return Soundtrack(path=out, duration=found.duration)


#: How many speeches are measured at once (each in a worker thread: decoding and ``ebur128``).
MEASURING = 2


async def narration_levellings(
    narration: Sequence[Narration], target: float, known: Mapping[Path, audio.Levelling | None]
) -> dict[Path, audio.Levelling | None]:
    """How each speech (by its file) is levelled to ``target`` on its own (``audio.speech_levelling``);
    the speeches not in ``known`` are measured now."""
    levellings = dict(known)
    limiter = anyio.CapacityLimiter(MEASURING)

    async def measure(path: Path) -> None:
        levellings[path] = await anyio.to_thread.run_sync(
            audio.speech_levelling, path, target, limiter=limiter
        )

    missing = sorted({n.speech.path for n in narration} - set(levellings))
    await binary.together(*(functools.partial(measure, path) for path in missing))
    return levellings


#: How close to the target the limited soundtrack must measure, in LU, and how many measuring
#: passes may bring it there (each pass costs about 1/200 of the soundtrack's duration).
LIMITED_TOLERANCE = audio.LIMITED_TOLERANCE
LIMITED_TRIALS = audio.LIMITED_TRIALS


async def levelling_of(
    exe: str, wav: Path, measured: audio.Loudness | None, target: float
) -> audio.Levelling | None:
    """How to bring the mix in ``wav`` (measured as ``measured``) to ``target`` LUFS under the
    true-peak ceiling. When the limiter is needed, it takes some loudness away: a cheap pass
    measures how much and the gain gives it back, until the result is within ``LIMITED_TOLERANCE``."""
    if measured is None:
        return None
    levelling = audio.Levelling.of(measured, target)
    for _ in range(LIMITED_TRIALS if levelling.limit else 0):
        trial = audio.limiter_trial_graph(wav, levelling)
        stderr = await binary.run(
            binary.command(exe, trial.compile(), loglevel="info"), what="measure the limited soundtrack"
        )
        limited = audio.parse_integrated(stderr)
        if limited is None or abs(target - limited) <= LIMITED_TOLERANCE:
            break
        levelling = levelling.corrected(limited, target)
    logger.debug(
        "ffmpeg: soundtrack measures {} LUFS, true peak {} dBTP; gain {:+.2f} dB{}",
        measured.integrated,
        measured.true_peak,
        levelling.gain,
        " with the limiter" if levelling.limit else "",
    )
    return levelling
