"""The AUTOMATIC1111 / Forge WebUI backend: ``POST /sdapi/v1/txt2img`` (server started with ``--api``)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import anyio
import httpx

from aura_core import Availability, ProviderError
from aura_plugins_sd.backends import Job
from aura_plugins_sd.http_errors import client, status_error, transport_errors
from aura_plugins_sd.settings import WebUISettings

WHERE = "the Stable Diffusion WebUI"


def _names(model: dict[str, Any]) -> set[str]:
    """Every name a WebUI checkpoint answers to: title, name, file name and hashes."""
    names = {str(model.get(k)) for k in ("title", "model_name", "hash", "sha256") if model.get(k)}
    filename = str(model.get("filename") or "")
    if filename:
        names.add(filename.replace("\\", "/").rsplit("/", 1)[-1])
    return names


class WebUIBackend:
    """Generates through an AUTOMATIC1111 or Forge server's txt2img API."""

    def __init__(self, settings: WebUISettings) -> None:
        self.settings = settings
        self._checked_checkpoint = False
        self._lock = anyio.Lock()

    @property
    def label(self) -> str:
        """``webui:<checkpoint>``, or ``webui`` when the server's loaded model is used."""
        return f"webui:{self.settings.checkpoint}" if self.settings.checkpoint else "webui"

    def _client(self) -> httpx.AsyncClient:
        return client(self.settings.url, self.settings.timeout, local=True)

    async def _models(self, http: httpx.AsyncClient) -> list[dict[str, Any]]:
        response = await http.get("/sdapi/v1/sd-models")
        if response.status_code != 200:
            raise status_error(WHERE, response)
        data = response.json()
        return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []

    async def _ensure_checkpoint(self, http: httpx.AsyncClient) -> None:
        """Fail clearly when the configured checkpoint is not on the server (asked once per instance)."""
        checkpoint = self.settings.checkpoint
        if checkpoint is None or self._checked_checkpoint:
            return
        async with self._lock:
            if self._checked_checkpoint:
                return
            models = await self._models(http)
            if not any(checkpoint in _names(m) for m in models):
                known = (
                    ", ".join(sorted(str(m.get("model_name") or m.get("title")) for m in models)) or "none"
                )
                raise ProviderError(
                    f"{WHERE} has no checkpoint {checkpoint!r}; "
                    f"set providers.sd.checkpoint to one of: {known}",
                    transient=False,
                )
            self._checked_checkpoint = True

    def payload(self, job: Job) -> dict[str, Any]:
        """The txt2img request body for ``job``."""
        settings = self.settings
        body: dict[str, Any] = {
            "prompt": job.prompt,
            "negative_prompt": job.negative_prompt,
            "steps": settings.steps,
            "sampler_name": settings.sampler,
            "scheduler": settings.scheduler,
            "cfg_scale": settings.cfg if settings.cfg is not None else 7.0,
            "seed": job.seed,
            "width": job.width,
            "height": job.height,
            "batch_size": 1,
            "n_iter": 1,
            "send_images": True,
            "save_images": False,
        }
        if settings.checkpoint:
            body["override_settings"] = {"sd_model_checkpoint": settings.checkpoint}
            body["override_settings_restore_afterwards"] = False  # switching back and forth reloads weights
        return body

    async def generate(self, job: Job) -> bytes:
        """Run txt2img and return the first image the server sends back."""
        async with transport_errors(WHERE, self.settings.url), self._client() as http:
            await self._ensure_checkpoint(http)
            response = await http.post("/sdapi/v1/txt2img", json=self.payload(job))
        if response.status_code != 200:
            error = status_error(WHERE, response)
            if not error.transient or "checkpoint" not in error.message.lower():
                raise error
            raise ProviderError(f"{error.message} (is providers.sd.checkpoint right?)", transient=False)
        try:
            data = response.json()
            images = data.get("images") or []
            encoded = str(images[0])
        except (ValueError, AttributeError, IndexError) as error:
            raise ProviderError(
                f"{WHERE} answered without an image: {response.text[:200]}", transient=True
            ) from error
        if "," in encoded[:100] and encoded.startswith("data:"):
            encoded = encoded.split(",", 1)[1]
        try:
            return base64.b64decode(encoded, validate=False)
        except (binascii.Error, ValueError) as error:
            raise ProviderError(
                f"{WHERE} sent an image that is not base64: {error}", transient=True
            ) from error

    async def check(self) -> Availability:
        """Reachable, and the configured checkpoint is on the server."""
        try:
            async with transport_errors(WHERE, self.settings.url), self._client() as http:
                models = await self._models(http)
        except ProviderError as error:
            return Availability(False, f"{error.message} (start it with --api)")
        checkpoint = self.settings.checkpoint
        if checkpoint is not None and not any(checkpoint in _names(m) for m in models):
            return Availability(False, f"{WHERE} at {self.settings.url} has no checkpoint {checkpoint!r}")
        return Availability(True, f"{WHERE} at {self.settings.url}: {len(models)} checkpoint(s)")
