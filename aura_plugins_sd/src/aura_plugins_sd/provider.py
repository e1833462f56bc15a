"""The image provider ``sd``: one provider, four backends chosen by the ``backend`` setting."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio
import anyio.lowlevel

from aura_core import Availability, ImageRequest, Picture, ProviderError, ProviderSettings, record_usage
from aura_plugins_sd.backends import Backend, Job
from aura_plugins_sd.prompts import full_negative, full_prompt
from aura_plugins_sd.settings import SDSettings, read_settings
from aura_plugins_sd.sizing import fit_png, native_size


def _make_backend(settings: SDSettings) -> Backend:
    # Imported here so that choosing one backend never imports another's dependencies.
    if settings.backend == "webui":
        from aura_plugins_sd.backends.webui import WebUIBackend

        return WebUIBackend(settings)
    if settings.backend == "comfyui":
        from aura_plugins_sd.backends.comfyui import ComfyUIBackend

        return ComfyUIBackend(settings)
    if settings.backend == "stability":
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

    def __init__(self, settings: SDSettings | None = None) -> None:
        self.settings = settings or SDSettings()
        self.concurrency = self.settings.concurrency
        self._backend: Backend | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Only the settings travel (to a Ray worker, say): the backend, its locks and a loaded model are rebuilt there."""
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"])  # type: ignore[misc]

    @property
    def resources(self) -> dict[str, float]:
        """What one call needs on a Ray cluster: a GPU for a local diffusers model set to ``device = "cuda…"``."""
        device = self.settings.device or ""
        if self.settings.backend == "diffusers" and device.startswith("cuda"):
            return {"num_gpus": 1}
        return {}

    @property
    def backend(self) -> Backend:
        """The backend object of the configured ``backend`` setting (made on first use)."""
        if self._backend is None:
            self._backend = _make_backend(self.settings)
        return self._backend

    def configure(self, settings: ProviderSettings) -> SDProvider:
        """A copy set up from the brief's ``[providers.sd]`` table; ``UserError`` for bad settings."""
        provider = SDProvider(read_settings(settings))
        _ = provider.backend  # builds the backend now, so a bad workflow or model folder fails early
        return provider

    def fingerprint(self) -> str:
        """Backend, model, workflow hash, steps, sampler, cfg, family, sizes and style presets, hashed."""
        data = self.settings.fingerprint_data()
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
        width, height = native_size(request.width, request.height, settings.sizes)
        job = Job(
            prompt=full_prompt(request.prompt, request.style, settings.styles),
            negative_prompt=full_negative(request.negative_prompt, settings.negative_prompt),
            seed=request.seed % 4294967295,
            width=width,
            height=height,
            want_width=request.width,
            want_height=request.height,
        )
        data = await self.backend.generate(job)
        try:
            await anyio.to_thread.run_sync(fit_png, data, request.width, request.height, request.out_path)
            # A cancellation that arrived while the thread wrote the PNG lands here, before the result
            # is returned, so the file is removed below instead of outliving a cancelled call.
            await anyio.lowlevel.checkpoint()
        except ValueError as error:
            request.out_path.unlink(missing_ok=True)
            raise ProviderError(f"{self.backend.label}: {error}", transient=True) from error
        except BaseException:
            request.out_path.unlink(missing_ok=True)
            raise
        usage: dict[str, float] = {"images": 1}
        if settings.backend == "stability" and settings.price_usd is not None:
            usage["cost_usd"] = settings.price_usd
        record_usage(**usage)
        return Picture(
            path=request.out_path,
            width=request.width,
            height=request.height,
            source=f"sd/{self.backend.label}",
            license=settings.license,
        )
