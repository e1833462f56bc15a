"""Moving clips in a segment: which source frame each output frame shows, and the ffmpeg chain that
decodes only those, conforms them to the video's frame rate and fills the frame with them.

A clip's frames are numbered from its in-point (``Clip.start``) at the video's frame rate: its *chain*.
The transition into a clip's scene shows the chain's frames just before ``lead`` (the transition's
length as asked, ``render.transition_duration``), so the incoming clip already moves while it fades
in; the clip's own segment starts at chain frame ``lead`` and goes on from there. Both segments decode
the clip from the same seek point through the same filters and take their own frames of the chain,
so the frame after the cut is the very next frame of the same motion, and neither waits for the other.

An output frame shows the source frame on screen at its time (sample and hold), looked up a
millisecond late (``LOOKUP``): a 60 fps source into 30 fps takes every second frame whatever the
rounding of a timestamp, a 25 fps source repeats one frame in six, and a variable-rate source holds each
frame until the next one. A clip shorter than its slot is slowed down evenly (see ``Footage.rate``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ffmpeg
from attrs import frozen

from aura_core import Clip, ProviderError

#: Seconds decoded before the in-point: ffmpeg's accurate seek drops every frame that starts before the
#: seek point, the one on screen at the in-point included, which output frame 0 must show.
PRE_ROLL = 0.1
#: How long after an output frame's time its source frame is looked up, in seconds.
LOOKUP = 1e-3
#: Seconds read past the last source frame a segment needs (rounding, a variable-rate source's gaps).
READ_MARGIN = 0.1


def clip_length(clip: Clip, scene: int) -> float:
    """The length of ``clip``'s video in seconds, as measured (blocking, and quick: the container's
    header is read; call it in a worker thread); a permanent ``ProviderError`` naming the clip and
    scene ``scene`` (0-based) when it is not video ffmpeg can read, or starts past its end."""
    import av  # imported here: ``import aura_plugins_ffmpeg.plugin`` stays cheap

    what = f"scene {scene + 1}'s clip {clip.path}"
    try:
        with av.open(str(clip.path)) as container:
            if not container.streams.video:
                raise ProviderError(f"{what} has no video stream", transient=False)
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                length = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                length = container.duration / av.time_base
            else:
                length = clip.duration
    except av.error.FFmpegError as error:
        reason = error.strerror or str(error)
        raise ProviderError(f"{what} is not video ffmpeg can read ({reason})", transient=False) from error
    except OSError as error:
        raise ProviderError(f"{what} cannot be read ({error.strerror or error})", transient=False) from error
    if clip.start < 0 or clip.start >= length:
        raise ProviderError(f"{what} starts at {clip.start:g} s but lasts {length:.3f} s", transient=False)
    return length


@frozen
class Footage:
    """The part of ``clip``'s chain one segment shows: ``count`` frames from chain frame ``first``, at
    ``fps``; ``lead`` is the transition into the clip's scene (its first ``lead`` chain frames belong
    to it) and ``length`` the clip's measured length in seconds."""

    clip: Clip
    length: float
    fps: int
    lead: int
    first: int
    count: int

    @classmethod
    def own(cls, clip: Clip, length: float, fps: int, lead: int, frames: int) -> Footage:
        """The clip as its own scene's segment shows it: ``frames`` frames after the ``lead``."""
        return cls(clip, length, fps, lead, lead, frames)

    @classmethod
    def incoming(cls, clip: Clip, length: float, fps: int, lead: int, frames: int) -> Footage:
        """The clip as the transition into its scene shows it: the last ``frames`` of the ``lead``."""
        return cls(clip, length, fps, lead, lead - frames, frames)

    @property
    def available(self) -> float:
        """Seconds of the clip from its in-point to its end."""
        return self.length - self.clip.start

    @property
    def lead_source(self) -> float:
        """Source seconds the lead plays: its own length, or half the clip when the clip is shorter than
        twice the lead (both segments that show the lead know the clip and the lead, not the slot)."""
        return min(self.lead / self.fps, self.available / 2)

    @property
    def rate(self) -> float:
        """The speed after the lead: 1, or the slow-down that makes the rest of the clip fill the slot.

        A clip shorter than its slot is slowed down evenly rather than looped or held: the shot stays one
        continuous movement with no jump inside the scene (a loop's jump reads as a cut that is not on a
        scene boundary), and a clip somewhat short, which is what an illustrator asked for the slot's
        length gives, reads as deliberate slow motion. Source frames then repeat (twice at half speed).
        """
        after = self.first + self.count - self.lead
        if after <= 0:
            return 1.0
        return min(1.0, (self.available - self.lead_source) / (after / self.fps))

    def source_time(self, frame: float) -> float:
        """Seconds after the in-point that chain frame ``frame`` (a frame number, or a fraction of one)
        shows."""
        at, lead = frame / self.fps, self.lead / self.fps
        if at < lead:
            return at * self.lead_source / lead
        return self.lead_source + (at - lead) * self.rate

    def _output_time(self, source: str) -> str:
        """The filter expression of the chain time of ``source`` seconds after the in-point (the inverse
        of ``source_time``)."""
        lead = self.lead / self.fps
        rate = self.rate
        if lead == 0 or self.lead_source == lead:
            if rate == 1.0:
                return source
            late = f"{lead:.9f}+({source}-{lead:.9f})/{rate:.9f}"
            return f"if(lt({source},{lead:.9f}),{source},{late})" if lead else f"{source}/{rate:.9f}"
        slow = f"{source}*{lead / self.lead_source:.9f}"
        late = f"{lead:.9f}+({source}-{self.lead_source:.9f})/{rate:.9f}"
        return f"if(lt({source},{self.lead_source:.9f}),{slow},{late})"

    def stream(self, width: int, height: int, threads: int = 0) -> Any:
        """The ffmpeg-python stream of this footage: ``count`` frames at ``fps``, cover-fitted and
        centre-cropped to ``width`` x ``height`` (a portrait clip in a landscape video too, so there is
        never a black bar; non-square pixels counted), yuv420p, without the clip's sound.

        Only what is shown is decoded: the input seeks (``-ss`` before ``-i``: to the keyframe before,
        decoding from there) to ``PRE_ROLL`` before the in-point and reads only as far as the last frame
        needs (``-t``); the frames are picked before they are scaled."""
        clip = self.clip
        seek = max(0.0, clip.start - PRE_ROLL)
        pre = clip.start - seek
        read = pre + self.source_time(self.first + self.count) + READ_MARGIN
        options: dict[str, Any] = {"ss": f"{seek:.6f}", "t": f"{read:.6f}", "an": None}
        if threads:
            options["threads"] = threads  # the decoder's threads, as many as the encoder's
        source = ffmpeg.input(str(Path(clip.path).resolve()), **options)
        # Frame n of the chain shows the last source frame starting before source_time(n) + LOOKUP: with
        # round=down, fps takes for frame n the last frame whose time is below (n + 1) / fps.
        shift = 1 / self.fps - LOOKUP
        chain_time = self._output_time(f"(T-{pre:.6f})")
        return (
            source.video.filter("settb", "AVTB")
            .filter("setpts", f"({chain_time}+{shift:.9f})/TB")
            .filter("fps", self.fps, start_time=0, round="down")
            .filter("trim", start_frame=self.first, end_frame=self.first + self.count)
            .filter("setpts", "N")
            .filter(
                "scale",
                w=f"max({width},ceil({height}*dar/2)*2)",
                h=f"max({height},ceil({width}/dar/2)*2)",
            )
            .filter("crop", width, height)
            .filter("setsar", 1)
            .filter("format", "yuv420p")
        )
