"""The image provider ``sd``: one provider, four backends chosen by the ``backend`` setting."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aura_core import (
    Availability,
    BriefError,
    ImageRequest,
    Picture,
    ProviderError,
    ProviderSettings,
    record_usage,
    write_in_thread,
)
from aura_plugins_sd.backends import Backend, Job
from aura_plugins_sd.prompts import full_negative, full_prompt
from aura_plugins_sd.settings import (
    ComfyUISettings,
    DiffusersSettings,
    SDSettings,
    StabilitySettings,
    WebUISettings,
    fingerprint_data,
    read_settings,
    read_workflow,
)
from aura_plugins_sd.sizing import fit_png, native_size


def _make_backend(settings: SDSettings, workflow: str | None) -> Backend:
    # Imported here so that choosing one backend never imports another's dependencies.
    if isinstance(settings, WebUISettings):
        from aura_plugins_sd.backends.webui import WebUIBackend

        return WebUIBackend(settings)
    if isinstance(settings, ComfyUISettings):
        from aura_plugins_sd.backends.comfyui import ComfyUIBackend

        return ComfyUIBackend(settings, workflow)
    if isinstance(settings, StabilitySettings):
        from aura_plugins_sd.backends.stability import StabilityBackend

        return StabilityBackend(settings)
    from aura_plugins_sd.backends.local_diffusers import DiffusersBackend

    return DiffusersBackend(settings)


def _plugin_version() -> str:
    try:
        return version("aura-plugins-sd")
    except PackageNotFoundError:
        return "0"


class SDProvider:
    """Stable Diffusion pictures from a WebUI, ComfyUI, the Stability AI API or a local diffusers pipeline."""

    kind = "image"
    name = "sd"

    def __init__(self, settings: SDSettings | None = None, workflow: str | None = None) -> None:
        """``settings`` of one backend (default: the WebUI's); ``workflow``: the text of ComfyUI's ``workflow``
        file, read once when the brief is."""
        self.settings: SDSettings = settings or WebUISettings()
        self.workflow = workflow
        self.concurrency = self.settings.concurrency
        self._backend: Backend | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Only the settings and the workflow's text travel (to a Ray worker, say): the backend, its locks
        and a loaded model are rebuilt there."""
        return {"settings": self.settings, "workflow": self.workflow}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"], state["workflow"])  # type: ignore[misc]

    @property
    def resources(self) -> dict[str, float]:
        """What one call needs on a Ray cluster: a GPU for a local diffusers model set to ``device = "cuda…"``."""
        if isinstance(self.settings, DiffusersSettings) and (self.settings.device or "").startswith("cuda"):
            return {"num_gpus": 1}
        return {}

    @property
    def backend(self) -> Backend:
        """The backend object of the configured ``backend`` setting (made on first use)."""
        if self._backend is None:
            self._backend = _make_backend(self.settings, self.workflow)
        return self._backend

    def configure(self, settings: ProviderSettings) -> SDProvider:
        """A copy set up from the brief's ``[providers.sd]`` table (``read_settings``); a ``BriefError``
        lists every problem."""
        declared = read_settings(settings)
        workflow = None
        if isinstance(declared, ComfyUISettings) and declared.workflow is not None:
            try:
                workflow = read_workflow(declared.workflow)
            except ValueError as error:  # changed since it was checked a moment ago
                raise BriefError([f"providers.sd.workflow: {error}"]) from None
        provider = SDProvider(declared, workflow)
        _ = provider.backend  # builds the backend now, so a workflow without a place for the seed fails early
        return provider

    def fingerprint(self) -> str:
        """Backend, model, workflow hash, steps, sampler, cfg, family, sizes and style presets, hashed."""
        data = fingerprint_data(self.settings, self.workflow)
        data["plugin"] = _plugin_version().split(".")[0]
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
        return f"sd-{self.settings.backend}-{digest[:24]}"

    async def check(self) -> Availability:
        """Whether the configured backend can be used now (server reachable, key present, model found)."""
        return await self.backend.check()

    async def generate(self, request: ImageRequest) -> Picture:
        """Generate at the model's native size nearest the request's aspect, then fit it and save a PNG."""
        settings = self.settings
        if request.width < 1 or request.height < 1:
            # Refused before any call: native_size divides by the height, and no backend can draw it.
            raise ProviderError(
                f"{self.backend.label}: {request.width}x{request.height} is too small: "
                "a picture needs at least 1x1 pixels",
                transient=False,
            )
        width, height = request.width, request.height  # the Stability API picks the size by aspect ratio
        if not isinstance(settings, StabilitySettings):
            width, height = native_size(request.width, request.height, settings.native_sizes)
        job = Job(
            prompt=full_prompt(request.prompt, request.style, settings.style_presets),
            negative_prompt=full_negative(request.negative_prompt, settings.negative_prompt),
            seed=request.seed % 4294967295,
            width=width,
            height=height,
            want_width=request.width,
            want_height=request.height,
        )
        data = await self.backend.generate(job)
        try:
            # In a worker thread; a failure or a cancellation while it writes leaves no file.
            await write_in_thread(
                request.out_path, lambda path: fit_png(data, request.width, request.height, path)
            )
        except ValueError as error:
            raise ProviderError(f"{self.backend.label}: {error}", transient=True) from error
        usage: dict[str, float] = {"images": 1}
        if isinstance(settings, StabilitySettings) and settings.price is not None:
            usage["cost_usd"] = settings.price
        record_usage(**usage)
        return Picture(
            path=request.out_path,
            width=request.width,
            height=request.height,
            source=f"sd/{self.backend.label}",
            license=settings.picture_license,
        )
