"""The ``[providers.sd]`` table, read into typed settings: known keys only, checked per backend."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import frozen

from aura_core import ProviderSettings, UserError
from aura_plugins_sd.prompts import DEFAULT_NEGATIVE, STYLE_PRESETS
from aura_plugins_sd.sizing import NATIVE_SIZES

BACKENDS = ("webui", "comfyui", "stability", "diffusers")

#: Which backends read each setting; any other key, or a key its backend does not read, is an error.
KEYS: Mapping[str, tuple[str, ...]] = {
    "backend": BACKENDS,
    "negative_prompt": BACKENDS,
    "styles": BACKENDS,
    "license": BACKENDS,
    "concurrency": BACKENDS,
    "timeout": BACKENDS,
    "family": ("webui", "comfyui", "diffusers"),
    "sizes": ("webui", "comfyui", "diffusers"),
    "steps": ("webui", "comfyui", "diffusers"),
    "cfg": BACKENDS,
    "url": ("webui", "comfyui", "stability"),
    "checkpoint": ("webui", "comfyui"),
    "sampler": ("webui", "comfyui"),
    "scheduler": ("webui", "comfyui"),
    "workflow": ("comfyui",),
    "poll_interval": ("comfyui",),
    "model": ("stability",),
    "price_usd": ("stability",),
    "model_path": ("diffusers",),
    "device": ("diffusers",),
}

DEFAULT_URLS: Mapping[str, str] = {
    "webui": "http://127.0.0.1:7860",
    "comfyui": "http://127.0.0.1:8188",
    "stability": "https://api.stability.ai",
}
DEFAULT_SAMPLERS: Mapping[str, tuple[str, str]] = {
    "webui": ("DPM++ 2M", "Karras"),
    "comfyui": ("dpmpp_2m", "karras"),
}
#: USD per image of the Stability AI models (credits x $0.01); override with ``price_usd``.
STABILITY_PRICES: Mapping[str, float] = {
    "core": 0.03,
    "ultra": 0.08,
    "sd3.5-large": 0.065,
    "sd3.5-large-turbo": 0.04,
    "sd3.5-medium": 0.035,
}
LICENSES: Mapping[str, str] = {
    "sd15": "CreativeML OpenRAIL-M (Stable Diffusion 1.5); check the checkpoint's own licence",
    "sdxl": "CreativeML OpenRAIL++-M (SDXL); check the checkpoint's own licence",
    "stability": "Stability AI API output: see Stability AI's terms of service",
}


@frozen
class SDSettings:
    """Every setting of the ``sd`` provider, with defaults filled in for the chosen backend."""

    backend: str = "webui"
    url: str = DEFAULT_URLS["webui"]
    checkpoint: str | None = None
    workflow: Path | None = None
    workflow_text: str | None = None
    model: str = "core"
    model_path: Path | None = None
    device: str | None = None
    steps: int = 25
    sampler: str = DEFAULT_SAMPLERS["webui"][0]
    scheduler: str = DEFAULT_SAMPLERS["webui"][1]
    cfg: float | None = None
    family: str = "sd15"
    sizes: tuple[tuple[int, int], ...] = NATIVE_SIZES["sd15"]
    negative_prompt: str = DEFAULT_NEGATIVE
    styles: Mapping[str, str] = STYLE_PRESETS
    timeout: float = 300.0
    poll_interval: float = 0.5
    price_usd: float | None = None
    license: str = LICENSES["sd15"]
    concurrency: int = 1
    explicit: frozenset[str] = frozenset()

    def fingerprint_data(self) -> dict[str, Any]:
        """The settings that change the picture (not where the server runs), as plain JSON data."""
        data: dict[str, Any] = {
            "backend": self.backend,
            "negative_prompt": self.negative_prompt,
            "styles": dict(sorted(self.styles.items())),
        }
        if self.backend in ("webui", "comfyui", "diffusers"):
            data |= {"steps": self.steps, "cfg": self.cfg, "family": self.family, "sizes": self.sizes}
        if self.backend in ("webui", "comfyui"):
            data |= {"checkpoint": self.checkpoint, "sampler": self.sampler, "scheduler": self.scheduler}
        if self.backend == "comfyui":
            text = self.workflow_text or ""
            data["workflow"] = hashlib.sha256(text.encode()).hexdigest() if self.workflow_text else "default"
        if self.backend == "stability":
            data |= {"model": self.model, "cfg": self.cfg}
        if self.backend == "diffusers" and self.model_path is not None:
            index = self.model_path / "model_index.json"
            data["model"] = self.model_path.name
            data["model_index"] = (
                hashlib.sha256(index.read_bytes()).hexdigest() if index.is_file() else "missing"
            )
        return data


def _where(key: str) -> str:
    return f"providers.sd.{key}"


def _str(values: Mapping[str, Any], key: str) -> str | None:
    raw = values.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise UserError(f"{_where(key)}: expected a non-empty string, got {raw!r}")
    return raw.strip()


def _number(values: Mapping[str, Any], key: str, low: float, high: float) -> float | None:
    raw = values.get(key)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not low <= raw <= high:
        raise UserError(f"{_where(key)}: expected a number from {low:g} to {high:g}, got {raw!r}")
    return float(raw)


def _int(values: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    raw = values.get(key)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise UserError(f"{_where(key)}: expected a whole number from {low} to {high}, got {raw!r}")
    return raw


def _sizes(raw: Any) -> tuple[tuple[int, int], ...]:
    items = raw if isinstance(raw, list) else None
    sizes: list[tuple[int, int]] = []
    for item in items or []:
        match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(item))
        if not match:
            break
        width, height = int(match.group(1)), int(match.group(2))
        if not (64 <= width <= 4096 and 64 <= height <= 4096 and width % 8 == 0 and height % 8 == 0):
            break
        sizes.append((width, height))
    else:
        if sizes:
            return tuple(sizes)
    raise UserError(
        f'{_where("sizes")}: expected a list of sizes like ["768x512", "512x768"], multiples of 8 '
        f"from 64 to 4096, got {raw!r}"
    )


def _styles(raw: Any) -> Mapping[str, str]:
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise UserError(f'{_where("styles")}: expected a table of style = "words", got {raw!r}')
    return {**STYLE_PRESETS, **{k.strip().lower(): v for k, v in raw.items()}}


def _workflow(settings: ProviderSettings) -> tuple[Path | None, str | None]:
    path = settings.path("workflow")
    if path is None:
        return None, None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(f"{_where('workflow')}: cannot read {path}: {error.strerror or error}") from error
    try:
        data = json.loads(text)
    except ValueError as error:
        raise UserError(f"{_where('workflow')}: {path} is not JSON: {error}") from error
    if isinstance(data, dict) and "nodes" in data and "links" in data:
        raise UserError(
            f"{_where('workflow')}: {path} is a ComfyUI editor workflow; "
            "export it with 'Export (API)' (Save API Format) and point to that file"
        )
    if (
        not isinstance(data, dict)
        or not data
        or not all(
            isinstance(node, dict) and "class_type" in node and isinstance(node.get("inputs"), dict)
            for node in data.values()
        )
    ):
        raise UserError(
            f"{_where('workflow')}: {path} is not a ComfyUI API-format workflow "
            '(an object of node id → {"class_type": ..., "inputs": {...}})'
        )
    return path, text


def read_settings(settings: ProviderSettings) -> SDSettings:
    """Check the ``[providers.sd]`` table and fill in the defaults of its backend."""
    values = settings.values
    backend = values.get("backend", "webui")
    if backend not in BACKENDS:
        raise UserError(f"{_where('backend')}: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    unknown = sorted(key for key in values if key not in KEYS)
    if unknown:
        raise UserError(
            f"providers.sd: unknown setting(s) {', '.join(unknown)}; expected {', '.join(sorted(KEYS))}"
        )
    unused = sorted(key for key in values if backend not in KEYS[key])
    if unused:
        raise UserError(f"providers.sd: setting(s) {', '.join(unused)} are not used by backend {backend!r}")

    family = values.get("family", "sd15")
    if family not in NATIVE_SIZES:
        raise UserError(f"{_where('family')}: expected one of {', '.join(NATIVE_SIZES)}, got {family!r}")
    sizes = _sizes(values["sizes"]) if "sizes" in values else NATIVE_SIZES[family]
    sampler, scheduler = DEFAULT_SAMPLERS.get(backend, ("", ""))
    model = _str(values, "model") or "core"
    if backend == "stability" and model not in ("core", "ultra") and not model.startswith("sd3"):
        raise UserError(
            f"{_where('model')}: expected core, ultra or an sd3 model like sd3.5-large, got {model!r}"
        )
    price = _number(values, "price_usd", 0, 100)
    if price is None and backend == "stability":
        price = STABILITY_PRICES.get(model)
    url = _str(values, "url") or DEFAULT_URLS.get(backend, "")
    if backend != "diffusers" and not re.match(r"^https?://", url):
        raise UserError(f"{_where('url')}: expected an http:// or https:// address, got {url!r}")
    model_path = settings.path("model_path")
    if backend == "diffusers" and model_path is None:
        raise UserError(
            f"{_where('model_path')}: the diffusers backend needs the folder of a diffusers model"
        )
    workflow, workflow_text = _workflow(settings)
    license_text = _str(values, "license") or LICENSES["stability" if backend == "stability" else family]
    default_concurrency = 4 if backend == "stability" else 1
    return SDSettings(
        backend=backend,
        url=url.rstrip("/"),
        checkpoint=_str(values, "checkpoint"),
        workflow=workflow,
        workflow_text=workflow_text,
        model=model,
        model_path=model_path,
        device=_str(values, "device"),
        steps=_int(values, "steps", 1, 500) or 25,
        sampler=_str(values, "sampler") or sampler,
        scheduler=_str(values, "scheduler") or scheduler,
        cfg=_number(values, "cfg", 0, 50),
        family=family,
        sizes=sizes,
        negative_prompt=(
            DEFAULT_NEGATIVE if "negative_prompt" not in values else str(values["negative_prompt"]).strip()
        ),
        styles=_styles(values["styles"]) if "styles" in values else STYLE_PRESETS,
        timeout=_number(values, "timeout", 1, 3600) or 300.0,
        poll_interval=_number(values, "poll_interval", 0.001, 60) or 0.5,
        price_usd=price,
        license=license_text,
        concurrency=_int(values, "concurrency", 1, 64) or default_concurrency,
        explicit=frozenset(values),
    )
