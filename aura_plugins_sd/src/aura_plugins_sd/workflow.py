"""Filling a ComfyUI API-format workflow with a scene's prompt, negative prompt, seed, size and model.

How the places are found, in order:

1. Placeholders win: a string input that is exactly ``"{{seed}}"``, ``"{{width}}"`` or ``"{{height}}"``
   becomes that number; ``"{{prompt}}"`` and ``"{{negative_prompt}}"`` are replaced inside any string.
2. Without a prompt placeholder, every sampler node (a node whose ``positive`` and ``negative`` inputs are
   links) is followed upstream along ``positive`` (and ``negative``) to the first node with a string ``text``
   (or ``text_g``/``text_l``) input, which gets the prompt (negative prompt).
3. Without a ``{{seed}}`` placeholder, every literal ``seed`` or ``noise_seed`` input gets the seed.
4. Without size placeholders, every node with literal ``width``, ``height`` and ``batch_size`` inputs
   (an empty latent image) gets the size.
5. A configured checkpoint goes into every literal ``ckpt_name`` input; steps, cfg, sampler and scheduler
   given in settings go into the sampler nodes' literal inputs of those names.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from aura_core import UserError

Workflow = dict[str, dict[str, Any]]

_NUMBERS = {"{{seed}}": "seed", "{{width}}": "width", "{{height}}": "height"}
_TEXT_INPUTS = ("text", "text_g", "text_l")


def default_workflow() -> Workflow:
    """The text-to-image workflow shipped with the plugin (checkpoint → prompts → KSampler → SaveImage)."""
    text = resources.files("aura_plugins_sd").joinpath("workflows/txt2img.json").read_text(encoding="utf-8")
    data: Workflow = json.loads(text)
    return data


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int)


def _literal_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text_node(workflow: Workflow, start: Any) -> dict[str, Any] | None:
    """The first node upstream of the link ``start`` with a string text input (breadth first)."""
    queue = [start]
    seen: set[str] = set()
    while queue:
        link = queue.pop(0)
        node_id = str(link[0])
        node = workflow.get(node_id)
        if node is None or node_id in seen:
            continue
        seen.add(node_id)
        inputs = node.get("inputs", {})
        if any(isinstance(inputs.get(name), str) for name in _TEXT_INPUTS):
            return node
        queue.extend(value for value in inputs.values() if _is_link(value))
    return None


def _set_text(node: dict[str, Any], text: str) -> None:
    for name in _TEXT_INPUTS:
        if isinstance(node["inputs"].get(name), str):
            node["inputs"][name] = text


def fill_workflow(
    template: Mapping[str, Any],
    *,
    prompt: str,
    negative_prompt: str,
    seed: int,
    width: int,
    height: int,
    checkpoint: str | None = None,
    sampler_inputs: Mapping[str, Any] | None = None,
) -> Workflow:
    """A copy of ``template`` with the scene's values in place (see the module docstring for how)."""
    workflow: Workflow = copy.deepcopy(dict(template))
    numbers = {"seed": seed, "width": width, "height": height}
    found: set[str] = set()
    for node in workflow.values():
        inputs = node.setdefault("inputs", {})
        for name, value in list(inputs.items()):
            if not isinstance(value, str):
                continue
            if value.strip() in _NUMBERS:
                key = _NUMBERS[value.strip()]
                inputs[name] = numbers[key]
                found.add(key)
                continue
            if "{{negative_prompt}}" in value:
                value = value.replace("{{negative_prompt}}", negative_prompt)
                found.add("negative_prompt")
            if "{{prompt}}" in value:
                value = value.replace("{{prompt}}", prompt)
                found.add("prompt")
            inputs[name] = value

    samplers = [
        node
        for node in workflow.values()
        if _is_link(node["inputs"].get("positive")) and _is_link(node["inputs"].get("negative"))
    ]
    for role, text in (("prompt", prompt), ("negative_prompt", negative_prompt)):
        if role in found:
            continue
        link_name = "positive" if role == "prompt" else "negative"
        targets = [_text_node(workflow, node["inputs"][link_name]) for node in samplers]
        for target in targets:
            if target is not None:
                _set_text(target, text)
                found.add(role)
    if "prompt" not in found:
        raise UserError(
            'providers.sd.workflow: no place for the prompt; put "{{prompt}}" in a text input '
            "or connect a CLIPTextEncode node to a sampler's positive input"
        )

    sampler_inputs = dict(sampler_inputs or {})
    for node in workflow.values():
        inputs = node["inputs"]
        if "seed" not in found:
            for name in ("seed", "noise_seed"):
                if _literal_int(inputs.get(name)):
                    inputs[name] = seed
                    found.add("seed_literal")
        if (
            "width" not in found
            and "height" not in found
            and all(_literal_int(inputs.get(name)) for name in ("width", "height", "batch_size"))
        ):
            inputs["width"], inputs["height"], inputs["batch_size"] = width, height, 1
        if checkpoint is not None and isinstance(inputs.get("ckpt_name"), str):
            inputs["ckpt_name"] = checkpoint
            found.add("checkpoint")
    for node in samplers:
        for name, value in sampler_inputs.items():
            if name in node["inputs"] and not _is_link(node["inputs"][name]):
                node["inputs"][name] = value
    if "seed" not in found and "seed_literal" not in found:
        raise UserError(
            'providers.sd.workflow: no place for the seed; put "{{seed}}" in an input '
            "or use a sampler with a seed (or noise_seed) number"
        )
    if checkpoint is not None and "checkpoint" not in found:
        raise UserError("providers.sd.checkpoint is set but the workflow has no ckpt_name input to put it in")
    return workflow


def output_images(outputs: Mapping[str, Any]) -> list[dict[str, str]]:
    """The images a finished prompt saved (``type`` ``output`` first, previews last), in node order."""
    images: list[dict[str, str]] = []
    for node_output in outputs.values():
        if isinstance(node_output, dict):
            images.extend(
                {k: str(v) for k, v in image.items()}
                for image in node_output.get("images") or []
                if isinstance(image, dict) and image.get("filename")
            )
    return sorted(images, key=lambda image: image.get("type") != "output")
