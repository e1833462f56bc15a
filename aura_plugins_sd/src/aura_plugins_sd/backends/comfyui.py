"""The ComfyUI backend: queue a workflow on ``POST /prompt``, poll ``/history``, fetch from ``/view``."""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import httpx

from aura_core import Availability, ProviderError
from aura_plugins_sd.backends import Job
from aura_plugins_sd.http_errors import (
    client,
    is_out_of_memory,
    out_of_memory,
    status_error,
    transport_errors,
)
from aura_plugins_sd.settings import COMFYUI_SAMPLER, ComfyUISettings
from aura_plugins_sd.workflow import Workflow, default_workflow, fill_workflow, output_images

WHERE = "ComfyUI"


def _combo_options(spec: Any) -> list[str]:
    """The choices of a COMBO input in ``/object_info``, in its old and new (``"COMBO"``) shapes."""
    if isinstance(spec, list) and spec:
        if isinstance(spec[0], list):
            return [str(x) for x in spec[0]]
        if len(spec) > 1 and isinstance(spec[1], dict):
            return [str(x) for x in spec[1].get("options") or []]
    return []


def _node_errors(data: Any) -> str:
    """One line per failing node of a rejected prompt."""
    if not isinstance(data, dict):
        return ""
    lines = []
    for node_id, node in (data.get("node_errors") or {}).items():
        for error in node.get("errors") or []:
            lines.append(
                f"node {node_id} ({node.get('class_type', '?')}): {error.get('message', '')}"
                + (f": {error.get('details')}" if error.get("details") else "")
            )
    if not lines and isinstance(data.get("error"), dict):
        error = data["error"]
        lines.append(f"{error.get('message', '')} {error.get('details', '')}".strip())
    return "; ".join(lines)


class ComfyUIBackend:
    """Generates by queueing an API-format workflow on a ComfyUI server."""

    def __init__(self, settings: ComfyUISettings, workflow: str | None = None) -> None:
        """``workflow``: the text of the ``workflow`` setting's file; None: the shipped workflow."""
        self.settings = settings
        self.own_workflow = workflow is not None
        self.template: Workflow = json.loads(workflow) if workflow is not None else default_workflow()
        self._default_checkpoint: str | None = None
        self._lock = anyio.Lock()
        # Fill once with sample values so that a workflow without a place for the prompt or seed fails now.
        fill_workflow(
            self.template,
            prompt="p",
            negative_prompt="n",
            seed=1,
            width=512,
            height=512,
            checkpoint=settings.checkpoint,
            sampler_inputs=self._sampler_inputs(),
        )

    @property
    def label(self) -> str:
        """``comfyui:<checkpoint or workflow file>``."""
        name = self.settings.checkpoint or (self.settings.workflow.name if self.settings.workflow else "")
        return f"comfyui:{name}" if name else "comfyui"

    def _client(self) -> httpx.AsyncClient:
        return client(self.settings.url, self.settings.timeout, local=True)

    def _sampler_inputs(self) -> dict[str, Any]:
        """Sampler values to write: only those set for a user's workflow, all of them for the shipped one."""
        s = self.settings
        values = {"steps": s.steps, "cfg": s.cfg, "sampler_name": s.sampler, "scheduler": s.scheduler}
        if self.own_workflow:
            return {name: value for name, value in values.items() if value is not None}
        return {name: COMFYUI_SAMPLER[name] if value is None else value for name, value in values.items()}

    async def _checkpoint(self, http: httpx.AsyncClient) -> str | None:
        """The checkpoint to use: the configured one, else for the shipped workflow the server's first."""
        if self.settings.checkpoint or self.own_workflow:
            return self.settings.checkpoint
        async with self._lock:
            if self._default_checkpoint is None:
                response = await http.get("/object_info/CheckpointLoaderSimple")
                if response.status_code != 200:
                    raise status_error(WHERE, response)
                info = response.json().get("CheckpointLoaderSimple", {})
                options = _combo_options(info.get("input", {}).get("required", {}).get("ckpt_name"))
                if not options:
                    raise ProviderError(
                        f"{WHERE} at {self.settings.url} has no checkpoints: "
                        "put one in its models/checkpoints folder, or set providers.sd.checkpoint",
                        transient=False,
                    )
                self._default_checkpoint = options[0]
            return self._default_checkpoint

    async def _queue(self, http: httpx.AsyncClient, workflow: Workflow) -> str:
        response = await http.post("/prompt", json={"prompt": workflow, "client_id": uuid.uuid4().hex})
        if response.status_code == 400:
            try:
                detail = _node_errors(response.json())
            except ValueError:
                detail = response.text[:300]
            hint = " (is providers.sd.checkpoint right?)" if "ckpt_name" in detail else ""
            raise ProviderError(f"{WHERE} rejected the workflow: {detail}{hint}", transient=False)
        if response.status_code != 200:
            raise status_error(WHERE, response)
        prompt_id = response.json().get("prompt_id")
        if not prompt_id:
            raise ProviderError(
                f"{WHERE} queued the workflow without a prompt_id: {response.text[:200]}", transient=True
            )
        return str(prompt_id)

    async def _wait(self, http: httpx.AsyncClient, prompt_id: str) -> dict[str, Any]:
        """Poll ``/history/<id>`` until the prompt finished; its history entry."""
        with anyio.move_on_after(self.settings.timeout):
            while True:
                response = await http.get(f"/history/{prompt_id}")
                if response.status_code != 200:
                    raise status_error(WHERE, response)
                entry = response.json().get(prompt_id)
                if isinstance(entry, dict):
                    status = entry.get("status") or {}
                    if status.get("status_str") == "error":
                        raise self._execution_error(status)
                    if status.get("completed", True) and entry.get("outputs"):
                        return entry
                await anyio.sleep(self.settings.poll_interval)
        raise ProviderError(
            f"{WHERE} did not finish prompt {prompt_id} in {self.settings.timeout:g} s; "
            "raise providers.sd.timeout if the server is busy",
            transient=True,
        )

    def _execution_error(self, status: dict[str, Any]) -> ProviderError:
        for message in status.get("messages") or []:
            if isinstance(message, list) and len(message) == 2 and message[0] == "execution_error":
                info = message[1] if isinstance(message[1], dict) else {}
                text = f"{info.get('exception_type', '')}: {info.get('exception_message', '')}".strip(": ")
                text = " ".join(text.split())[:300]
                if is_out_of_memory(text):
                    return out_of_memory(WHERE, text)
                node = f"node {info.get('node_id')} ({info.get('node_type')})"
                return ProviderError(
                    f"{WHERE} failed running the workflow at {node}: {text}", transient=False
                )
        return ProviderError(f"{WHERE} failed running the workflow: {status}", transient=False)

    async def _cancel(self, prompt_id: str) -> None:
        """Best effort: drop the prompt from the queue and stop it if it is running."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            try:
                async with client(self.settings.url, 5, local=True) as http:
                    await http.post("/queue", json={"delete": [prompt_id]})
                    await http.post("/interrupt", json={"prompt_id": prompt_id})
            except httpx.HTTPError:
                pass  # the server is gone: nothing left to stop

    async def generate(self, job: Job) -> bytes:
        """Queue the filled workflow, wait for it, download its first saved image."""
        async with transport_errors(WHERE, self.settings.url), self._client() as http:
            workflow = fill_workflow(
                self.template,
                prompt=job.prompt,
                negative_prompt=job.negative_prompt,
                seed=job.seed,
                width=job.width,
                height=job.height,
                checkpoint=await self._checkpoint(http),
                sampler_inputs=self._sampler_inputs(),
            )
            prompt_id = await self._queue(http, workflow)
            try:
                entry = await self._wait(http, prompt_id)
            except anyio.get_cancelled_exc_class():
                await self._cancel(prompt_id)
                raise
            images = output_images(entry.get("outputs") or {})
            if not images:
                raise ProviderError(
                    f"{WHERE} finished prompt {prompt_id} without saving an image: "
                    "does the workflow end in a SaveImage node?",
                    transient=False,
                )
            image = images[0]
            params = {
                "filename": image["filename"],
                "subfolder": image.get("subfolder", ""),
                "type": image.get("type", "output"),
            }
            response = await http.get("/view", params=params)
        if response.status_code != 200:
            raise status_error(WHERE, response)
        return response.content

    async def check(self) -> Availability:
        """Reachable (``GET /system_stats``); names the server's first device."""
        try:
            async with transport_errors(WHERE, self.settings.url), self._client() as http:
                response = await http.get("/system_stats")
            if response.status_code != 200:
                raise status_error(WHERE, response)
            devices = response.json().get("devices") or [{}]
        except ProviderError as error:
            return Availability(False, error.message)
        except ValueError:
            return Availability(
                False, f"{self.settings.url} answered /system_stats with something not ComfyUI's"
            )
        device = (
            devices[0].get("name", "unknown device") if isinstance(devices[0], dict) else "unknown device"
        )
        return Availability(True, f"{WHERE} at {self.settings.url} on {device}")
