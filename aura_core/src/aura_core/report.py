"""``report.json`` and ``report.html``: what a run did, assembled at its end (succeeded, failed or cancelled).

The report is put together from the run's context (plan, scenes, video, errors, notes), its calls (the
chains with their counts), its metrics (stages, breakers, timeline; ``aura_core.metrics``) and its store
(results reused). ``report.html`` is a view of it (``aura_core.report_html``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loguru import logger

from aura_core.artifacts import ArtifactIndex
from aura_core.calls import ProviderCalls
from aura_core.context import PipelineContext
from aura_core.credits import credit_of, credits_of, visual_kind
from aura_core.logs import redact
from aura_core.metrics import MetricsCollector
from aura_core.report_html import write_report_html


def build_report(
    ctx: PipelineContext, calls: ProviderCalls, metrics: MetricsCollector, store: ArtifactIndex
) -> dict[str, Any]:
    """The content of ``report.json``."""
    providers: dict[str, list[dict[str, Any]]] = {}
    for kind, links in calls.chains.items():
        providers[kind] = [
            {
                "name": link.name,
                "fingerprint": link.fingerprint,
                "calls": link.calls,
                "failures": link.failures,
                "cached": link.cached,
                "retries": link.guard.retries,
                "breaker": {"state": link.guard.breaker.state, "opened": link.guard.breaker.opened_count},
                "usage": dict(link.usage),
            }
            for link in links
        ]
    scenes = [
        {
            "index": i,
            "heading": out.scene.heading,
            "narration": out.scene.narration,
            "start": out.scene.start,
            "duration": out.scene.duration,
            "speech_seconds": out.speech.duration if out.speech else None,
            "voice_provider": out.voice_provider,
            "picture_provider": out.picture_provider,
            "picture": str(out.picture.path) if out.picture else None,
            "visual": visual_kind(out.picture),
            "credit": credit_of(out.picture),
        }
        for i, out in sorted(ctx.scenes.items())
    ]
    video = ctx.video
    return {
        "run_id": ctx.run_id,
        **metrics.to_dict(),
        "plan": {
            "scene_count": ctx.plan.scene_count,
            "word_target": ctx.plan.word_target,
            "words_per_minute": ctx.plan.words_per_minute,
        },
        "providers": providers,
        "calls_saved": store.calls_saved,
        "scenes": scenes,
        "credits": credits_of({i: out.picture for i, out in ctx.scenes.items()}),
        "video": None
        if video is None
        else {
            "path": str(video.path),
            "duration": video.duration,
            "width": video.width,
            "height": video.height,
            "fps": video.fps,
            "size_bytes": video.size_bytes,
        },
        "system": {
            "cores": ctx.system.cores,
            "memory_bytes": ctx.system.memory_bytes,
            "gpu": ctx.system.gpu,
            "ffmpeg": ctx.system.ffmpeg,
        },
        "errors": ctx.errors,
        "notes": ctx.notes,
    }


def report_text(report: Mapping[str, Any]) -> str:
    """The text of ``report.json``: indented JSON, secrets from the environment replaced by ``***``."""
    return redact(json.dumps(report, indent=2, default=str))


def write_report_page(run_dir: Path, text: str, run_id: str) -> None:
    """Write ``report.html`` from the text of ``report.json``; a page that cannot be written is a warning."""
    try:
        write_report_html(run_dir, json.loads(text))
    except Exception as exc:  # noqa: BLE001 - the page is a view of report.json: never fail the run for it
        logger.bind(run_id=run_id).warning("report.html not written: {}: {}", type(exc).__name__, exc)
