"""A real ffmpeg render with its segment renders and assembly sent to a local Ray cluster.

The composer is the real ``aura-plugins-ffmpeg`` one (the ffmpeg binary, 160x90 at 10 fps); voices,
pictures and the script come from ``aura_core.testing`` fakes, so both runs get identical inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from aura_core import InProcess, Pipeline, parse_brief
from aura_core.testing import FakeIllustrator, FakeScriptWriter, FakeVoice
from aura_plugins_ffmpeg.composer import FfmpegComposer

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'aura-core[ray]')")

from aura_core.ray_executor import RayExecutor  # noqa: E402 - only importable once Ray is known present

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: the Ray executor's backends are covered in aura_core's tests."""
    return "asyncio"


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A local Ray cluster with 2 CPUs, or a skip saying why it would not start."""
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as exc:  # noqa: BLE001 - any failure to start means: skip with the reason
        pytest.skip(f"a local Ray cluster would not start here: {exc}")
    try:
        yield
    finally:
        ray.shutdown()


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


async def test_an_ffmpeg_render_on_ray_decodes_to_the_same_frames(tmp_path: Path, cluster: None) -> None:
    """Segments rendered and assembled by Ray workers decode to exactly the frames of an in-process render."""
    spec = parse_brief(
        {
            "brief": {"topic": "Lichen"},
            "plan": {"duration": "4s", "scenes": 2},
            "render": {"resolution": "160x90", "fps": 10, "captions": "off"},
        },
        None,
    )

    def providers() -> list[object]:
        return [FakeScriptWriter(), FakeVoice(), FakeIllustrator(), FfmpegComposer()]

    local = await Pipeline(providers(), executor=InProcess()).run(spec, run_dir=tmp_path / "local")
    remote = await Pipeline(providers(), executor=RayExecutor()).run(spec, run_dir=tmp_path / "ray")
    ours, theirs = _frames(remote.path), _frames(local.path)
    assert len(ours) == len(theirs) == round(local.duration * 10)
    assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))
    assert remote.duration == pytest.approx(local.duration)
    assert float(np.std(ours[0])) > 1.0  # a real picture, not a blank frame
