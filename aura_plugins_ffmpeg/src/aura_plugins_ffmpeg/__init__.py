"""aura's composer: scene segments in motion, assembled with narration, music and captions by ffmpeg."""

from aura_plugins_ffmpeg.composer import FfmpegComposer

__all__ = ["FfmpegComposer"]
