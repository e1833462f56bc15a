"""The ``[providers.sd]`` table: one declared settings class per backend, read by the core's settings mechanism.

``backend`` picks the class, so a backend's defaults (address, sampler, concurrency) are its class's own, and a
key that only another backend reads is refused naming the backend that does. Every problem is one line,
``providers.sd.<key>: …``, in the core's wording.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
from attrs import frozen

from aura_core import BriefError, ProviderSettings, Secret, secret, setting, settings_keys, structure_settings
from aura_plugins_sd.prompts import DEFAULT_NEGATIVE, STYLE_PRESETS
from aura_plugins_sd.sizing import NATIVE_SIZES

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
_SIZE = re.compile(r"\s*(\d+)\s*[xX]\s*(\d+)\s*")


def parse_sizes(sizes: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """``("768x512", …)`` as ``(width, height)`` pairs; ``ValueError`` unless each is a multiple of 8 from 64
    to 4096 and there is at least one."""
    pairs = []
    for text in sizes:
        match = _SIZE.fullmatch(text)
        pair = (int(match[1]), int(match[2])) if match else (0, 0)
        if not all(64 <= side <= 4096 and side % 8 == 0 for side in pair):
            raise ValueError(f'expected sizes like "768x512", multiples of 8 from 64 to 4096, got {text!r}')
        pairs.append(pair)
    if not pairs:
        raise ValueError('expected at least one size, like ["768x512", "512x768"]')
    return tuple(pairs)


def read_workflow(path: Path) -> str:
    """The text of the ComfyUI API-format workflow at ``path``; ``ValueError`` saying what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise ValueError(f"{path} is not JSON: {error}") from None
    if isinstance(data, dict) and "nodes" in data and "links" in data:
        raise ValueError(
            f"{path} is a ComfyUI editor workflow; "
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
        raise ValueError(
            f'{path} is not a ComfyUI API-format workflow (an object of node id → {{"class_type": ..., '
            '"inputs": {...}})'
        )
    return text


def _stability_model(model: str) -> None:
    if model not in ("core", "ultra") and not model.startswith("sd3"):
        raise ValueError(f"expected core, ultra or an sd3 model like sd3.5-large, got {model!r}")


def _model_folder(path: Path) -> None:
    if not (path / "model_index.json").is_file():
        raise ValueError(f"{path} is not a diffusers model folder (it has no model_index.json)")


@frozen(kw_only=True)
class _Shared:
    """What every backend reads."""

    negative_prompt: str = setting(DEFAULT_NEGATIVE, allow_empty=True, help='"" turns it off')
    styles: Mapping[str, str] = setting(factory=dict, help='style = "words" presets, added or replaced')
    cfg: float | None = setting(None, between=(0, 50), help="guidance scale")
    timeout: float = setting(300.0, between=(1, 3600), help="seconds per request")
    concurrency: int = setting(1, between=(1, 64), help="how many pictures at once")
    license: str | None = setting(None, help="the licence written in Picture.license")

    @property
    def style_presets(self) -> Mapping[str, str]:
        """The shipped style presets with the ``styles`` setting's added or replacing them."""
        return {**STYLE_PRESETS, **{name.strip().lower(): words for name, words in self.styles.items()}}


@frozen(kw_only=True)
class _Drawn(_Shared):
    """What the backends that draw at the model's native sizes read."""

    family: Literal["sd15", "sdxl"] = setting("sd15", help="which native sizes to draw at")
    sizes: tuple[str, ...] | None = setting(None, check=parse_sizes, help='native sizes, like ["768x768"]')

    @property
    def native_sizes(self) -> tuple[tuple[int, int], ...]:
        """The ``sizes`` setting's sizes, else the family's."""
        return parse_sizes(self.sizes) if self.sizes else NATIVE_SIZES[self.family]

    @property
    def picture_license(self) -> str:
        """The ``license`` setting, else the family's licence."""
        return self.license or LICENSES[self.family]


@frozen(kw_only=True)
class WebUISettings(_Drawn):
    """``backend = "webui"``: an AUTOMATIC1111 or Forge server."""

    backend: Literal["webui"] = "webui"
    url: str = setting("http://127.0.0.1:7860", url=True, help="the server's address")
    checkpoint: str | None = setting(None, help="a title, name, file name or hash; default: the loaded one")
    steps: int = setting(25, between=(1, 500))
    sampler: str = "DPM++ 2M"
    scheduler: str = "Karras"


@frozen(kw_only=True)
class ComfyUISettings(_Drawn):
    """``backend = "comfyui"``. The sampler settings left unset (None) keep a user's workflow's own values;
    the shipped workflow gets ``COMFYUI_SAMPLER``'s."""

    backend: Literal["comfyui"] = "comfyui"
    url: str = setting("http://127.0.0.1:8188", url=True, help="the server's address")
    checkpoint: str | None = setting(None, help="the ckpt_name; default: the server's first")
    workflow: Path | None = setting(None, check=read_workflow, help="an API-format workflow file")
    steps: int | None = setting(None, between=(1, 500))
    sampler: str | None = None
    scheduler: str | None = None
    poll_interval: float = setting(0.5, between=(0.001, 60), help="seconds between /history polls")


#: The sampler inputs the shipped ComfyUI workflow gets for settings the brief leaves out.
COMFYUI_SAMPLER: Mapping[str, Any] = {
    "steps": 25,
    "cfg": 7.0,
    "sampler_name": "dpmpp_2m",
    "scheduler": "karras",
}


@frozen(kw_only=True)
class StabilitySettings(_Shared):
    """``backend = "stability"``: the Stability AI API, with the key from ``api_key_env``'s variable."""

    backend: Literal["stability"] = "stability"
    url: str = setting("https://api.stability.ai", url=True, help="the API's address")
    model: str = setting("core", check=_stability_model, help="core, ultra or an sd3 model")
    price_usd: float | None = setting(None, between=(0, 100), help="USD per picture; default: the model's")
    api_key: Secret = secret("STABILITY_API_KEY", key="api_key_env")
    concurrency: int = setting(4, between=(1, 64), help="how many pictures at once")

    @property
    def price(self) -> float | None:
        """USD per picture: ``price_usd``, else the model's list price when known."""
        return self.price_usd if self.price_usd is not None else STABILITY_PRICES.get(self.model)

    @property
    def picture_license(self) -> str:
        """The ``license`` setting, else Stability AI's terms."""
        return self.license or LICENSES["stability"]


@frozen(kw_only=True)
class DiffusersSettings(_Drawn):
    """``backend = "diffusers"``: a local pipeline loaded from ``model_path``."""

    backend: Literal["diffusers"] = "diffusers"
    model_path: Path = setting(
        check=_model_folder,
        help="the folder of a diffusers model (with model_index.json), relative to the brief",
    )
    steps: int = setting(25, between=(1, 500))
    device: str | None = setting(None, help="the torch device; default cuda, else mps, else cpu")


SDSettings = WebUISettings | ComfyUISettings | StabilitySettings | DiffusersSettings
Backend = Literal["webui", "comfyui", "stability", "diffusers"]
SETTINGS: Mapping[str, type[SDSettings]] = {
    "webui": WebUISettings,
    "comfyui": ComfyUISettings,
    "stability": StabilitySettings,
    "diffusers": DiffusersSettings,
}


@frozen
class _Choice:
    backend: Backend = setting("webui", help="webui, comfyui, stability or diffusers")


def read_settings(settings: ProviderSettings) -> SDSettings:
    """The ``[providers.sd]`` table read into its backend's class; a ``BriefError`` listing every problem."""
    name, values = settings.provider or "sd", settings.values
    chosen = {k: v for k, v in values.items() if k == "backend"}
    backend = structure_settings(_Choice, chosen, provider=name, base_dir=settings.base_dir).backend
    cls, own = SETTINGS[backend], settings_keys(SETTINGS[backend])
    readers = {
        key: [b for b, c in SETTINGS.items() if key in settings_keys(c)] for key in values if key not in own
    }
    problems = [
        f"providers.{name}.{key}: not read by backend {backend}, only by {', '.join(backends)}"
        for key, backends in sorted(readers.items())
        if backends
    ]
    kept = {key: value for key, value in values.items() if not readers.get(key)}
    try:
        result = structure_settings(cls, kept, provider=name, base_dir=settings.base_dir)
    except BriefError as error:
        raise BriefError([*problems, *error.problems]) from None
    if problems:
        raise BriefError(problems)
    return result


#: Settings that do not change the picture: where the server is, how long to wait, what it costs.
_NOT_DRAWN = frozenset(
    {
        "url",
        "timeout",
        "poll_interval",
        "concurrency",
        "price_usd",
        "license",
        "api_key",
        "device",
        "model_path",
    }
)


def fingerprint_data(settings: SDSettings, workflow: str | None = None) -> dict[str, Any]:
    """The settings that change the picture, as plain JSON data; ``workflow`` is the ComfyUI workflow's text."""
    data = {k: v for k, v in attrs.asdict(settings, recurse=False).items() if k not in _NOT_DRAWN}
    data["styles"] = dict(sorted(settings.style_presets.items()))
    if isinstance(settings, _Drawn):
        data["sizes"] = settings.native_sizes
    if isinstance(settings, ComfyUISettings):
        data["workflow"] = hashlib.sha256(workflow.encode()).hexdigest() if workflow else "default"
    if isinstance(settings, DiffusersSettings):
        index = settings.model_path / "model_index.json"
        data["model"] = settings.model_path.name
        data["model_index"] = hashlib.sha256(index.read_bytes()).hexdigest() if index.is_file() else "missing"
    return data
