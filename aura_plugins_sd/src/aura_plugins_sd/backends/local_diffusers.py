"""The diffusers backend: a local pipeline loaded from a model folder, never downloading anything.

``torch`` and ``diffusers`` are optional (the ``diffusers`` extra) and imported only here, lazily.
"""

from __future__ import annotations

import importlib.util
import io
import threading
from pathlib import Path
from typing import Any

import anyio

from aura_core import Availability, ProviderError
from aura_plugins_sd.backends import Job
from aura_plugins_sd.http_errors import is_out_of_memory, out_of_memory
from aura_plugins_sd.settings import DiffusersSettings


class _Stopped(Exception):
    """Raised inside the pipeline's step callback to stop a generation whose caller was cancelled."""


def _missing_modules() -> list[str]:
    return [name for name in ("torch", "diffusers", "transformers") if importlib.util.find_spec(name) is None]


class DiffusersBackend:
    """Generates with a diffusers pipeline from ``model_path`` on the GPU when there is one."""

    def __init__(self, settings: DiffusersSettings) -> None:
        self.settings = settings
        self.model_path: Path = settings.model_path
        self._pipeline: Any = None
        self._device = "cpu"
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()  # one pipeline, one generation at a time

    @property
    def label(self) -> str:
        """``diffusers:<model folder name>``."""
        return f"diffusers:{self.model_path.name}"

    def _load(self) -> Any:
        """Load the pipeline once (from local files only) and move it to the best device."""
        with self._load_lock:
            if self._pipeline is not None:
                return self._pipeline
            missing = _missing_modules()
            if missing:
                raise ProviderError(
                    f"the diffusers backend needs {', '.join(missing)}: "
                    "pip install 'aura-plugins-sd[diffusers]'",
                    transient=False,
                )
            if not (self.model_path / "model_index.json").is_file():
                raise ProviderError(f"{self.model_path}/model_index.json has gone", transient=False)
            import torch
            from diffusers import DiffusionPipeline

            device = self.settings.device
            if device is None:
                if torch.cuda.is_available():
                    device = "cuda"
                elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
                    device = "mps"
                else:
                    device = "cpu"
            dtype = torch.float16 if device.startswith("cuda") else torch.float32
            try:
                pipeline = DiffusionPipeline.from_pretrained(
                    str(self.model_path), local_files_only=True, torch_dtype=dtype
                )
            except (OSError, ValueError) as error:
                raise ProviderError(
                    f"cannot load the diffusers model at {self.model_path}: {error}", transient=False
                ) from error
            pipeline = pipeline.to(device)
            if hasattr(pipeline, "set_progress_bar_config"):
                pipeline.set_progress_bar_config(disable=True)
            self._pipeline, self._device = pipeline, device
            return pipeline

    def _run(self, job: Job, stop: threading.Event) -> bytes:
        """Generate in this (worker) thread; stops at the next step once ``stop`` is set."""
        pipeline = self._load()
        import torch

        def on_step(_pipe: Any, _step: int, _timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            if stop.is_set():
                raise _Stopped
            return kwargs

        generator_device = "cpu" if self._device == "mps" else self._device
        generator = torch.Generator(device=generator_device).manual_seed(job.seed)
        arguments: dict[str, Any] = {
            "prompt": job.prompt,
            "negative_prompt": job.negative_prompt or None,
            "width": job.width,
            "height": job.height,
            "num_inference_steps": self.settings.steps,
            "generator": generator,
            "output_type": "pil",
            "callback_on_step_end": on_step,
        }
        if self.settings.cfg is not None:
            arguments["guidance_scale"] = self.settings.cfg
        with self._run_lock:
            try:
                result = pipeline(**arguments)
            except RuntimeError as error:
                if is_out_of_memory(str(error)):
                    raise out_of_memory(f"the {self._device} device", str(error)[:200]) from error
                raise
        buffer = io.BytesIO()
        result.images[0].save(buffer, format="PNG")
        return buffer.getvalue()

    async def generate(self, job: Job) -> bytes:
        """Run the pipeline in a worker thread; a cancelled call stops it at its next step."""
        stop = threading.Event()
        try:
            # On cancellation the thread is abandoned at once; the step callback then stops it.
            return await anyio.to_thread.run_sync(self._run, job, stop, abandon_on_cancel=True)
        finally:
            stop.set()

    async def check(self) -> Availability:
        """torch, diffusers and transformers importable and ``model_path`` a diffusers model folder."""
        missing = _missing_modules()
        if missing:
            return Availability(
                False, f"missing {', '.join(missing)}: pip install 'aura-plugins-sd[diffusers]'"
            )
        if not (self.model_path / "model_index.json").is_file():
            return Availability(
                False, f"{self.model_path} is not a diffusers model folder (no model_index.json)"
            )
        return Availability(True, f"diffusers model {self.model_path.name}")
