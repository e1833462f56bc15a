"""From a codec and a quality level to encoder arguments; hardware encoders when they really work."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import anyio
from attrs import frozen
from loguru import logger

from aura_core import UserError

#: Hardware encoder families tried by ``hwaccel = "auto"``, in order.
HW_FAMILIES: tuple[str, ...] = ("nvenc", "qsv", "vaapi", "amf")
HWACCEL_VALUES: tuple[str, ...] = ("auto", "off", *HW_FAMILIES)

#: ffmpeg's encoder name prefix per codec, for hardware families.
_HW_PREFIX: Mapping[str, str] = {"h264": "h264", "h265": "hevc", "av1": "av1", "vp9": "vp9"}

#: Software encoder settings per codec and quality: (encoder, preset-like args, CRF).
_SOFTWARE: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "h264": {
        "draft": ("-c:v", "libx264", "-preset", "ultrafast", "-crf", "28"),
        "standard": ("-c:v", "libx264", "-preset", "veryfast", "-crf", "23"),
        "high": ("-c:v", "libx264", "-preset", "medium", "-crf", "20"),
        "max": ("-c:v", "libx264", "-preset", "slow", "-crf", "17"),
    },
    "h265": {
        "draft": ("-c:v", "libx265", "-preset", "ultrafast", "-crf", "30"),
        "standard": ("-c:v", "libx265", "-preset", "fast", "-crf", "26"),
        "high": ("-c:v", "libx265", "-preset", "medium", "-crf", "22"),
        "max": ("-c:v", "libx265", "-preset", "slow", "-crf", "19"),
    },
    "vp9": {
        "draft": ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-crf", "40", "-b:v", "0"),
        "standard": ("-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", "5", "-crf", "33", "-b:v", "0"),
        "high": ("-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", "2", "-crf", "28", "-b:v", "0"),
        "max": ("-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", "1", "-crf", "24", "-b:v", "0"),
    },
    "av1": {
        "draft": ("-c:v", "libsvtav1", "-preset", "12", "-crf", "40"),
        "standard": ("-c:v", "libsvtav1", "-preset", "10", "-crf", "35"),
        "high": ("-c:v", "libsvtav1", "-preset", "7", "-crf", "30"),
        "max": ("-c:v", "libsvtav1", "-preset", "5", "-crf", "26"),
    },
}

#: Constant-quality value per quality level for hardware encoders (lower is better).
_HW_QUALITY: Mapping[str, int] = {"draft": 30, "standard": 24, "high": 21, "max": 18}


@frozen
class Encoder:
    """How to encode video: ``args`` go after the inputs, ``global_args`` before them,
    ``filters`` (e.g. ``hwupload``) at the end of the video graph."""

    name: str
    args: tuple[str, ...]
    global_args: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()

    @property
    def hardware(self) -> bool:
        """Whether this is a hardware encoder."""
        return not self.name.startswith("lib")


def software(codec: str, quality: str) -> Encoder:
    """The software encoder for ``codec`` at ``quality``."""
    try:
        args = _SOFTWARE[codec][quality]
    except KeyError as error:
        raise UserError(f"render: no encoder for codec {codec!r} at quality {quality!r}") from error
    extra: tuple[str, ...] = ()
    if codec == "h265":
        extra = ("-tag:v", "hvc1", "-x265-params", "log-level=error")
    elif codec == "vp9":
        extra = ("-row-mt", "1")
    return Encoder(name=args[1], args=args + extra)


def hardware(codec: str, quality: str, family: str) -> Encoder | None:
    """The hardware encoder of ``family`` for ``codec``, or None when the family has none."""
    prefix = _HW_PREFIX[codec]
    name = f"{prefix}_{family}"
    q = str(_HW_QUALITY[quality])
    if family == "nvenc":
        return Encoder(name, ("-c:v", name, "-preset", "p5", "-rc", "vbr", "-cq", q, "-b:v", "0"))
    if family == "qsv":
        return Encoder(name, ("-c:v", name, "-global_quality", q))
    if family == "vaapi":
        return Encoder(
            name,
            ("-c:v", name, "-qp", q),
            global_args=("-vaapi_device", "/dev/dri/renderD128"),
            filters=("format=nv12", "hwupload"),
        )
    if family == "amf":
        return Encoder(name, ("-c:v", name, "-rc", "cqp", "-qp_i", q, "-qp_p", q))
    return None


#: On Linux, the device files each hardware family needs: without them its trial cannot succeed.
_LINUX_DEVICES: Mapping[str, tuple[str, ...]] = {
    "nvenc": ("/dev/nvidiactl", "/dev/nvidia0"),
    "qsv": ("/dev/dri",),
    "vaapi": ("/dev/dri",),
    "amf": ("/dev/dri",),
}


def may_have_device(family: str) -> bool:
    """Whether the hardware of ``family`` may be present: False only on Linux when none of its device
    files exists (then ``hwaccel = "auto"`` skips its trial, which would spawn ffmpeg for nothing)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(Path(device).exists() for device in _LINUX_DEVICES.get(family, ("/",)))


def _listed_encoders(exe: str) -> str:
    done = subprocess.run(
        [exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30, check=False
    )
    return done.stdout


def _trial(exe: str, encoder: Encoder) -> tuple[bool, str]:
    """Encode one frame with ``encoder``: the only proof that the hardware really works."""
    chain = ",".join(("format=yuv420p", *encoder.filters))
    args = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", *encoder.global_args]
    args += ["-f", "lavfi", "-i", "color=c=gray:s=256x144:r=1:d=1", "-vf", chain, "-frames:v", "1"]
    args += [*encoder.args, "-f", "null", "-"]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, str(error)
    return done.returncode == 0, done.stderr.strip()[-300:]


_chosen: dict[tuple[str, str, str, str], Encoder] = {}
_lock = anyio.Lock()


async def choose(exe: str, codec: str, quality: str, hwaccel: str) -> Encoder:
    """The encoder for one run: a working hardware one when asked and present, else software.

    The choice is cached per (binary, codec, quality, hwaccel), so every segment of a run is
    encoded alike and the segments can be joined without re-encoding.
    """
    key = (exe, codec, quality, hwaccel)
    async with _lock:
        if key in _chosen:
            return _chosen[key]
        fallback = software(codec, quality)
        chosen = fallback
        if hwaccel != "off":
            families = (
                tuple(f for f in HW_FAMILIES if may_have_device(f)) if hwaccel == "auto" else (hwaccel,)
            )
            listed = await anyio.to_thread.run_sync(_listed_encoders, exe) if families else ""
            for family in families:
                candidate = hardware(codec, quality, family)
                if candidate is None or f" {candidate.name} " not in listed:
                    if hwaccel != "auto":
                        logger.warning("ffmpeg: no {} encoder for {}; using {}", family, codec, fallback.name)
                    continue
                works, detail = await anyio.to_thread.run_sync(_trial, exe, candidate)
                if works:
                    chosen = candidate
                    break
                if hwaccel != "auto":
                    logger.warning(
                        "ffmpeg: {} failed a one-frame trial ({}); using {}",
                        candidate.name,
                        detail,
                        fallback.name,
                    )
        _chosen[key] = chosen
        return chosen
