"""Validators the core applies to every provider of a kind: a bad result is a failed call.

Each returns None for a good result or one line saying what is wrong.
"""

from __future__ import annotations

import array
import sys
import wave
from pathlib import Path

from aura_core.contract import (
    Clip,
    ImageRequest,
    Picture,
    SceneDraft,
    Segment,
    SegmentRequest,
    Soundtrack,
    SoundtrackRequest,
    Speech,
    SpeechRequest,
    Video,
    Visual,
)
from aura_core.wordcount import WORDS_PER_MINUTE, count_words, speaking_rate, word_unit

#: Nobody speaks faster than this many words per minute: audio shorter than the text needs is truncated.
#: Languages counted in characters get the same multiple of their own conversational rate.
MAX_WORDS_PER_MINUTE = 400.0


def _file_problem(path: Path) -> str | None:
    if not path.is_file():
        return f"no file at {path}"
    if path.stat().st_size == 0:
        return f"empty file {path.name}"
    return None


def check_draft(draft: SceneDraft) -> str | None:
    """A scene needs narration to voice."""
    if not draft.narration.strip():
        return f"scene {draft.heading!r} has no narration"
    return None


def check_script(
    drafts: list[SceneDraft], scene_count: int, word_target: int, follows_plan: bool, language: str
) -> str | None:
    """The whole script: at least one scene; a planned script near its word target and scene count.

    Words are counted in ``language``'s unit (characters in Chinese, Japanese, Korean and Thai)."""
    if not drafts:
        return "the script has no scenes"
    if not follows_plan:
        return None
    if len(drafts) < max(1, scene_count // 2):
        return f"the script has {len(drafts)} scenes, far fewer than the {scene_count} asked for"
    words = sum(count_words(d.narration, language) for d in drafts)
    if not 0.5 * word_target <= words <= 2.0 * word_target:
        return f"the script has {words} {word_unit(language)}s, far off the target of {word_target}"
    return None


def _wav_peak(path: Path) -> float | None:
    """Peak amplitude (0..1) of a 16-bit PCM WAV, or None when the file is not one."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                return None
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, OSError):
        return None
    samples = array.array("h", frames)
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return 0.0
    # Silence is silence anywhere: 4,096 evenly spread samples tell it apart from speech.
    sampled = samples[:: max(1, len(samples) // 4096)]
    return max(max(sampled), -min(sampled)) / 32768.0


def check_speech(speech: Speech, request: SpeechRequest) -> str | None:
    """Audio that exists, is not silent, and is not far shorter than its text needs."""
    problem = _file_problem(speech.path)
    if problem:
        return problem
    if speech.duration <= 0:
        return f"speech duration is {speech.duration:g} s"
    words = count_words(request.text, request.language)
    fastest = MAX_WORDS_PER_MINUTE * speaking_rate(request.language) / WORDS_PER_MINUTE
    if speech.duration < words / fastest * 60.0:
        return f"speech lasts {speech.duration:.2f} s, too short for {words} {word_unit(request.language)}s"
    peak = _wav_peak(speech.path)
    if peak is not None and peak < 0.001:
        return "speech is silent"
    return None


def check_picture(picture: Picture, request: ImageRequest) -> str | None:
    """A picture of the requested size that is not one flat colour."""
    problem = _file_problem(picture.path)
    if problem:
        return problem
    if (picture.width, picture.height) != (request.width, request.height):
        return f"picture is {picture.width}x{picture.height}, asked for {request.width}x{request.height}"
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - every image plugin brings Pillow
        return None
    with Image.open(picture.path) as img:
        if img.size != (request.width, request.height):
            return f"picture file is {img.size[0]}x{img.size[1]}, asked for {request.width}x{request.height}"
        extrema = img.convert("L").getextrema()
    if extrema[1] - extrema[0] < 2:
        return "picture is blank (one flat colour)"
    return None


def check_clip(clip: Clip, request: ImageRequest) -> str | None:
    """A clip only for a request that takes clips, its file there and not empty, its facts possible."""
    if not request.clips:
        return "returned a Clip for a request that takes only pictures (clips=False)"
    problem = _file_problem(clip.path)
    if problem:
        return problem
    if clip.width <= 0 or clip.height <= 0:
        return f"clip is {clip.width}x{clip.height} pixels"
    if not clip.duration > 0:
        return f"clip lasts {clip.duration:g} s"
    if not clip.fps > 0:
        return f"clip's frame rate is {clip.fps:g} fps"
    if not 0 <= clip.start < clip.duration:
        return f"clip starts at {clip.start:g} s, outside its {clip.duration:g} s"
    return None


def check_visual(visual: Visual, request: ImageRequest) -> str | None:
    """What an illustrator returns: a ``Picture`` (``check_picture``) or a ``Clip`` (``check_clip``)."""
    if isinstance(visual, Clip):
        return check_clip(visual, request)
    if isinstance(visual, Picture):
        return check_picture(visual, request)
    return f"returned {type(visual).__name__}, expected a Picture or a Clip"


def check_segment(segment: Segment, request: SegmentRequest) -> str | None:
    """A segment file as long as its scene slot (within one frame)."""
    problem = _file_problem(segment.path)
    if problem:
        return problem
    if abs(segment.duration - request.scene.duration) > 1.5 / request.render.fps:
        return f"segment lasts {segment.duration:.3f} s, its scene {request.scene.duration:.3f} s"
    return None


def check_soundtrack(soundtrack: Soundtrack, request: SoundtrackRequest) -> str | None:
    """A soundtrack file as long as the timeline (within 0.1 s)."""
    problem = _file_problem(soundtrack.path)
    if problem:
        return problem
    if abs(soundtrack.duration - request.duration) > 0.1:
        return f"soundtrack lasts {soundtrack.duration:.3f} s, the timeline {request.duration:.3f} s"
    return None


def check_video(video: Video) -> str | None:
    """A video file that exists and has a duration."""
    problem = _file_problem(video.path)
    if problem:
        return problem
    if video.duration <= 0:
        return "video has no duration"
    return None
