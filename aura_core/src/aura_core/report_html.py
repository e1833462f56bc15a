"""``report.html``: a self-contained page to look at a run, written from ``report.json``.

The page has three parts: a timeline (one lane per stage and one per scene and stage, a bar for
every provider call and segment render, coloured by provider, retries and fallbacks marked), a
contact sheet (each scene's picture or clip, heading, narration, duration, providers and credit), the
credits of the visuals, and the totals (wall time per stage, CPU, peak memory, provider usage and
cost, warnings and errors).

It loads nothing from the network: CSS and the SVG timeline are inline, there is no script, and
pictures are small thumbnails embedded as ``data:`` URIs (made with Pillow when it is installed;
without it, pictures are referenced by their path relative to the run directory); a clip's thumbnail
is its first frame, decoded with PyAV when it is installed (without it, the clip is named). A
Content-Security-Policy ``meta`` tag forbids any other source.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aura_core.credits import credit_line
from aura_core.errors import UserError
from aura_core.stages import PER_SCENE, STAGE_NAMES, stage_named
from aura_core.store import atomic_write_text

#: Stage order on the page (lanes and tables).
STAGE_ORDER = STAGE_NAMES
_FIRST_PER_SCENE = STAGE_ORDER.index(PER_SCENE[0])
#: Provider colours, given in order of the chains in ``report.json`` (colour-blind friendly, Okabe-Ito + extras).
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#8C6D31",
    "#7F7F7F",
    "#332288",
    "#44AA99",
)
THUMBNAIL_SIZE = (320, 320)
_CSP = "default-src 'none'; img-src data: file: 'self'; style-src 'unsafe-inline'"
_LOG_PROBLEM = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL)\s+\[[^\]]*\] (.*)$")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f} s" if value < 60 else f"{int(value // 60)} min {value % 60:04.1f} s"


def _bytes(value: float | None) -> str:
    if not value:
        return "–"
    if value >= 1024**3:
        return f"{value / 1024**3:.1f} GiB"
    return f"{value / 1024**2:.0f} MiB"


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else f"{int(value)}"


def provider_colours(report: Mapping[str, Any]) -> dict[str, str]:
    """A colour per provider name, in the order the chains list them (then any other name in the timeline)."""
    names: list[str] = []
    for chain in report.get("providers", {}).values():
        names.extend(p["name"] for p in chain if p["name"] not in names)
    names.extend(e["provider"] for e in report.get("timeline", []) if e["provider"] not in names)
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(dict.fromkeys(names))}


def picture_source(picture: str | None, run_dir: Path, *, clip: bool = False) -> str | None:
    """The ``src`` of a scene's picture (or ``clip``'s first frame): a small embedded thumbnail, or, for a
    picture without Pillow, a relative path; None when there is none (a clip without PyAV or Pillow)."""
    if not picture:
        return None
    path = Path(picture)
    if not path.is_absolute():
        path = run_dir / path
    if not path.is_file():
        return None
    try:
        from PIL import Image
    except ImportError:  # Pillow is optional: the page then refers to the file next to it
        if clip:
            return None
        try:
            return Path(os.path.relpath(path, run_dir)).as_posix()
        except ValueError:
            return path.as_uri()
    if clip:
        frame = _first_frame(path)
        if frame is None:
            return None
        image = frame
    else:
        with Image.open(path) as opened:
            opened.load()
            image = opened.copy()
    image.thumbnail(THUMBNAIL_SIZE)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=82)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _first_frame(path: Path) -> Any:
    """A clip's first frame as a Pillow image, or None without PyAV or when it does not decode."""
    try:
        import av
    except ImportError:  # PyAV is optional: the card then names the clip
        return None
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0), None)
            # PyAV's stubs leave to_image untyped
            return None if frame is None else frame.to_image()  # type: ignore[no-untyped-call]
    except (av.error.FFmpegError, IndexError):
        return None


def _lane_order(entry: Mapping[str, Any]) -> tuple[int, int, int]:
    """Lanes top to bottom: stages of one item before the first per-scene stage (the script), then the
    scenes (each with its stages in order), then the other stages of one item (soundtrack, assembly)."""
    stage = stage_named(str(entry["stage"]))
    rank = STAGE_ORDER.index(stage.name) if stage.name in STAGE_ORDER else len(STAGE_ORDER)
    if not stage.per_scene:
        return (0 if rank < _FIRST_PER_SCENE else 2, rank, 0)
    return (1, int(entry["index"]), rank)


def _lane_label(stage: str, index: int) -> str:
    return stage_named(stage).label(index)


def _tick_step(total: float) -> float:
    raw = max(total, 1e-3) / 8
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def timeline_svg(report: Mapping[str, Any]) -> str:
    """The timeline as an inline SVG: stage windows on top, then one lane per scene and stage."""
    entries = list(report.get("timeline", []))
    stages = report.get("stages", {})
    colours = provider_colours(report)
    stage_rows = [
        (f"stage · {name}", stages[name])
        for name in STAGE_ORDER + tuple(s for s in stages if s not in STAGE_ORDER)
        if name in stages and stages[name].get("started_at") is not None
    ]
    lanes: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for entry in sorted(entries, key=_lane_order):
        lanes.setdefault((str(entry["stage"]), int(entry["index"])), []).append(entry)
    ends = [float(e["end"]) for e in entries] + [
        float(s["started_at"]) + float(s["wall_seconds"] or 0) for _n, s in stage_rows
    ]
    total = max([float(report.get("wall_seconds") or 0.0), *ends, 0.001])
    label_w, plot_w, row_h, top = 170.0, 790.0, 22.0, 24.0
    width = label_w + plot_w + 20
    rows = len(stage_rows) + len(lanes)
    height = top + rows * row_h + 30

    def x(t: float) -> float:
        return label_w + max(0.0, t) / total * plot_w

    out = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" role="img" aria-label="timeline of the run">',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="3" height="6" fill="rgba(255,255,255,0.55)"/></pattern></defs>',
    ]
    step = _tick_step(total)
    tick = 0.0
    while tick <= total + 1e-9:
        out.append(
            f'<line class="tick" x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 4:.0f}" y2="{height - 24:.0f}"/>'
            f'<text class="axis" x="{x(tick):.1f}" y="{top - 8:.0f}" text-anchor="middle">{_number(round(tick, 6))} s</text>'
        )
        tick += step
    y = top
    for label, stage in stage_rows:
        start = float(stage["started_at"])
        wall = float(stage["wall_seconds"] or 0.0)
        out.append(
            f'<text class="lane-label" x="{label_w - 8:.0f}" y="{y + 15:.0f}" text-anchor="end">{_e(label)}</text>'
        )
        out.append(
            f'<rect class="stage-window" x="{x(start):.1f}" y="{y + 4:.0f}" width="{max(2.0, x(start + wall) - x(start)):.1f}" '
            f'height="{row_h - 8:.0f}"><title>{_e(label)}: {start:.2f}–{start + wall:.2f} s</title></rect>'
        )
        y += row_h
    if stage_rows:
        out.append(f'<line class="separator" x1="0" x2="{width:.0f}" y1="{y:.0f}" y2="{y:.0f}"/>')
    for (stage_name, index), lane in lanes.items():
        label = _lane_label(stage_name, index)
        out.append(
            f'<g class="lane" data-stage="{_e(stage_name)}" data-index="{index}">'
            f'<text class="lane-label" x="{label_w - 8:.0f}" y="{y + 15:.0f}" text-anchor="end">{_e(label)}</text>'
        )
        for entry in lane:
            out.append(_bar(entry, x, y, row_h, colours))
        out.append("</g>")
        y += row_h
    out.append("</svg>")
    return "".join(out)


def _bar(entry: Mapping[str, Any], x: Any, y: float, row_h: float, colours: Mapping[str, str]) -> str:
    start, end = float(entry.get("start", entry["end"])), float(entry["end"])
    provider = str(entry["provider"])
    outcome = str(entry.get("outcome") or ("cached" if entry.get("cached") else "done"))
    colour = colours.get(provider, "#999")
    left, right = x(start), x(end)
    bar_w = max(3.0, right - left)
    title = f"{_lane_label(str(entry['stage']), int(entry['index']))} · {provider} · {outcome}"
    title += f" · {start:.2f}–{end:.2f} s ({end - start:.2f} s)"
    retries = [float(t) for t in entry.get("retries", [])]
    if retries:
        title += f" · {len(retries)} retr{'y' if len(retries) == 1 else 'ies'}"
    if entry.get("cause"):
        title += f" · {entry['cause']}"
    parts = [
        f'<g class="bar {outcome}" data-provider="{_e(provider)}" data-outcome="{_e(outcome)}" '
        f'data-start="{start}" data-end="{end}"><title>{_e(title)}</title>'
    ]
    if outcome == "cached":
        parts.append(
            f'<rect x="{left - 1.5:.1f}" y="{y + 5:.0f}" width="{bar_w:.1f}" height="{row_h - 10:.0f}" '
            f'fill="white" stroke="{colour}" stroke-width="1.5" stroke-dasharray="2 1.5"/>'
        )
    else:
        parts.append(
            f'<rect x="{left:.1f}" y="{y + 3:.0f}" width="{bar_w:.1f}" height="{row_h - 6:.0f}" fill="{colour}" rx="2"/>'
        )
    if outcome in ("fallback", "failed", "unfinished"):
        parts.append(
            f'<rect x="{left:.1f}" y="{y + 3:.0f}" width="{bar_w:.1f}" height="{row_h - 6:.0f}" fill="url(#hatch)" '
            f'stroke="#c0392b" stroke-width="1.5" rx="2"/>'
        )
        mark = {"fallback": "↪", "failed": "✕", "unfinished": "…"}[outcome]
        parts.append(f'<text class="mark" x="{left + bar_w + 3:.1f}" y="{y + 15:.0f}">{mark}</text>')
    for at in retries:
        parts.append(
            f'<path class="retry" d="M{x(at):.1f},{y + 2:.0f} l-4,-4 h8 z"><title>retry at {at:.2f} s</title></path>'
        )
    parts.append("</g>")
    return "".join(parts)


def contact_sheet(report: Mapping[str, Any], run_dir: Path) -> str:
    """Each scene's picture, heading, narration, duration, and the providers of its voice and picture."""
    cards = []
    for scene in report.get("scenes", []):
        clip = scene.get("visual") == "clip"
        src = picture_source(scene.get("picture"), run_dir, clip=clip)
        number = int(scene["index"]) + 1
        heading = scene.get("heading") or f"Scene {number}"
        what = "clip" if clip else "picture"
        if src:
            image = f'<img src="{_e(src)}" alt="{what} of scene {number}: {_e(heading)}">'
        elif clip:
            image = f'<div class="no-picture">clip {_e(Path(str(scene.get("picture"))).name)}</div>'
        else:
            image = '<div class="no-picture">no picture</div>'
        facts = f"{_seconds(scene.get('duration'))} · voice {_e(scene.get('voice_provider') or '–')}"
        facts += f" · {what} {_e(scene.get('picture_provider') or '–')}"
        credit = scene.get("credit")
        credited = f'<p class="credit">{_e(_credit_words(credit))}</p>' if credit else ""
        cards.append(
            f'<figure class="scene" data-index="{number - 1}">{image}<figcaption>'
            f"<h3>{number}. {_e(heading)}</h3>"
            f'<p class="narration">{_e(scene.get("narration") or "")}</p>'
            f'<p class="facts">{facts}</p>{credited}</figcaption></figure>'
        )
    if not cards:
        return '<p class="empty">No scene was made.</p>'
    return f'<div class="sheet">{"".join(cards)}</div>'


def _credit_words(credit: Mapping[str, Any]) -> str:
    """A scene's credit without its scene numbers: source, author, licence, link."""
    return credit_line({**credit, "scenes": [0]}).split(": ", 1)[1]


def credits_section(report: Mapping[str, Any]) -> str:
    """The visuals' credits (``report.json``'s ``credits``), one line each, links as links."""
    items = []
    for credit in report.get("credits") or []:
        line = _e(credit_line(credit))
        link = str(credit.get("link") or "")
        if link.startswith(("https://", "http://")):
            line = line.replace(_e(link), f'<a href="{_e(link)}">{_e(link)}</a>', 1)
        items.append(f"<li>{line}</li>")
    if not items:
        return '<p class="empty">No visual was made.</p>'
    return f'<ul class="credits">{"".join(items)}</ul>'


def _cost(usage: Mapping[str, float]) -> float | None:
    value = usage.get("cost_usd")
    return None if value is None else float(value)


def totals(report: Mapping[str, Any]) -> str:
    """Run facts, wall/CPU/memory per stage, provider usage and cost."""
    video = report.get("video") or {}
    facts = [
        ("state", report.get("state", "?")),
        ("wall time", _seconds(report.get("wall_seconds"))),
        ("calls saved by the store", report.get("calls_saved", 0)),
    ]
    if video:
        facts.append(
            (
                "video",
                f"{video['width']}×{video['height']} at {_number(video['fps'])} fps, "
                f"{_seconds(video['duration'])}, {video['size_bytes'] / 1024:.0f} KiB",
            )
        )
    system = report.get("system") or {}
    if system:
        facts.append(
            (
                "machine",
                f"{system.get('cores')} cores, {_bytes(system.get('memory_bytes'))}, GPU {system.get('gpu') or 'none'}",
            )
        )
    out = ['<dl class="facts">', *(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts), "</dl>"]
    out.append(
        '<table class="stages"><thead><tr><th>stage</th><th>start</th><th>wall</th><th>CPU</th>'
        "<th>peak memory</th><th>largest child</th><th>done</th><th>cached</th><th>failed</th>"
        "<th>retries</th><th>fallbacks</th></tr></thead><tbody>"
    )
    stages = report.get("stages", {})
    for name in [s for s in STAGE_ORDER if s in stages] + [s for s in stages if s not in STAGE_ORDER]:
        s = stages[name]
        out.append(
            f"<tr><td>{_e(name)}</td><td>{_seconds(s.get('started_at'))}</td><td>{_seconds(s.get('wall_seconds'))}</td>"
            f"<td>{_seconds(s.get('cpu_seconds'))}</td><td>{_bytes(s.get('peak_rss_bytes'))}</td>"
            f"<td>{_bytes(s.get('peak_child_rss_bytes'))}</td><td>{s.get('items_done', 0)}</td>"
            f"<td>{s.get('items_cached', 0)}</td><td>{s.get('items_failed', 0)}</td>"
            f"<td>{s.get('retries', 0)}</td><td>{s.get('fallbacks', 0)}</td></tr>"
        )
    out.append("</tbody></table>")
    colours = provider_colours(report)
    out.append(
        '<table class="providers"><thead><tr><th>kind</th><th>provider</th><th>calls</th><th>cached</th>'
        "<th>failures</th><th>retries</th><th>breaker</th><th>usage</th><th>cost</th></tr></thead><tbody>"
    )
    total_cost = 0.0
    priced = 0
    for kind, chain in report.get("providers", {}).items():
        for p in chain:
            usage = {k: v for k, v in p.get("usage", {}).items() if k != "cost_usd"}
            cost = _cost(p.get("usage", {}))
            if cost is not None:
                total_cost += cost
                priced += 1
            breaker = p.get("breaker", {})
            out.append(
                f'<tr><td>{_e(kind)}</td><td><span class="swatch" style="background:{colours.get(p["name"], "#999")}"></span>'
                f"{_e(p['name'])}</td><td>{p.get('calls', 0)}</td><td>{p.get('cached', 0)}</td>"
                f"<td>{p.get('failures', 0)}</td><td>{p.get('retries', 0)}</td>"
                f"<td>{_e(breaker.get('state', '–'))}{' (opened ' + str(breaker['opened']) + '×)' if breaker.get('opened') else ''}</td>"
                f"<td>{_e(', '.join(f'{k} {_number(float(v))}' for k, v in usage.items()) or '–')}</td>"
                f"<td>{'–' if cost is None else f'${cost:.4f}'}</td></tr>"
            )
    out.append("</tbody></table>")
    if priced:
        out.append(
            f'<p class="cost">Estimated cost: <strong>${total_cost:.4f}</strong> (as reported by the providers).</p>'
        )
    else:
        out.append(
            '<p class="cost">Estimated cost: no provider reported a cost (offline providers cost nothing).</p>'
        )
    return "".join(out)


def problems(report: Mapping[str, Any], log_lines: Sequence[str]) -> list[tuple[str, str]]:
    """Warnings and errors: the run's errors, failed calls, fallbacks, retries, breakers, and the log's warnings."""
    found: list[tuple[str, str]] = []
    if report.get("error"):
        found.append(("error", str(report["error"])))
    found.extend(("error", str(e)) for e in report.get("errors", []) if e != report.get("error"))
    for entry in report.get("timeline", []):
        where = f"{_lane_label(str(entry['stage']), int(entry['index']))}, {entry['provider']}"
        outcome = entry.get("outcome")
        if outcome in ("fallback", "failed"):
            found.append(
                (
                    "error" if outcome == "failed" else "warning",
                    f"{where}: {outcome}: {entry.get('cause', '')}",
                )
            )
        if entry.get("retries"):
            found.append(("warning", f"{where}: retried {len(entry['retries'])}×"))
    for provider, changes in report.get("breakers", {}).items():
        for change in changes:
            if change.get("state") == "open":
                found.append(
                    (
                        "warning",
                        f"breaker of {provider} opened at {change['at']:.2f} s: {change.get('cause', '')}",
                    )
                )
    for line in log_lines:
        match = _LOG_PROBLEM.match(line)
        if match:
            found.append((match.group(1).lower(), match.group(2)))
    return list(dict.fromkeys(found))


def last_run_log(run_dir: Path) -> list[str]:
    """The lines ``run.log`` holds for the latest run of this directory (a run directory's log grows with each run)."""
    path = run_dir / "run.log"
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    starts = [i for i, line in enumerate(lines) if "] run started:" in line]
    return lines[starts[-1] if starts else 0 :]


_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin:0 0 12px}
.timeline{background:#fff;border:1px solid #ddd;border-radius:6px}
.timeline .axis{font-size:10px;fill:#777}.timeline .tick{stroke:#eee}.timeline .separator{stroke:#ccc}
.timeline .lane-label{font-size:11px;fill:#333}.timeline .stage-window{fill:#b8c4d6}
.timeline .mark{font-size:12px;fill:#c0392b}.timeline .retry{fill:#c0392b}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:8px 0;font-size:12px;color:#444}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-2px}
.swatch.cached{background:#fff;border:1.5px dashed #555;width:9px;height:9px}
.sheet{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:14px}
.scene{margin:0;background:#fff;border:1px solid #ddd;border-radius:6px;overflow:hidden}
.scene img,.scene .no-picture{display:block;width:100%;aspect-ratio:16/9;object-fit:contain;background:#222}
.scene .no-picture{color:#aaa;display:flex;align-items:center;justify-content:center}
.scene figcaption{padding:8px 10px}.scene h3{font-size:14px;margin:0 0 4px}
.scene .narration{margin:0 0 6px}.scene .facts,.scene .credit{margin:0;color:#666;font-size:12px}
table{border-collapse:collapse;margin:10px 0;background:#fff;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left}th{background:#f0f0f0}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:0}dl.facts dt{color:#666}dl.facts dd{margin:0}
.problems li.error{color:#a61b1b}.problems li.warning{color:#8a5a00}
"""


def render_report_html(report: Mapping[str, Any], run_dir: Path, log_lines: Sequence[str] = ()) -> str:
    """The page for ``report`` (the content of ``report.json``) of the run in ``run_dir``."""
    colours = provider_colours(report)
    legend = "".join(
        f'<span><span class="swatch" style="background:{c}"></span>{_e(n)}</span>' for n, c in colours.items()
    )
    legend += (
        '<span><span class="swatch cached"></span>cached (no call)</span>'
        '<span style="color:#c0392b">▼ retry</span><span style="color:#c0392b">↪ fell back to the next provider</span>'
        '<span style="color:#c0392b">✕ failed</span>'
    )
    found = problems(report, log_lines)
    problem_list = (
        '<ul class="problems">'
        + "".join(f'<li class="{k}">{_e(k)}: {_e(m)}</li>' for k, m in found)
        + "</ul>"
        if found
        else '<p class="problems">No warnings or errors.</p>'
    )
    run_id = report.get("run_id", run_dir.name)
    plan = report.get("plan") or {}
    subtitle = f"state {report.get('state', '?')} · {len(report.get('scenes', []))} scenes"
    if plan:
        subtitle += f" (plan {plan.get('scene_count')}, {plan.get('word_target')} words)"
    subtitle += f" · {_seconds(report.get('wall_seconds'))}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>aura run {_e(run_id)}</title><style>{_STYLE}</style></head><body>"
        f'<h1>aura run {_e(run_id)}</h1><p class="sub">{_e(subtitle)}</p>'
        f'<section id="timeline"><h2>Timeline</h2><div class="legend">{legend}</div>{timeline_svg(report)}</section>'
        f'<section id="contact-sheet"><h2>Scenes</h2>{contact_sheet(report, run_dir)}</section>'
        f'<section id="credits"><h2>Credits</h2>{credits_section(report)}</section>'
        f'<section id="totals"><h2>Totals</h2>{totals(report)}</section>'
        f'<section id="problems"><h2>Warnings and errors</h2>{problem_list}</section>'
        "</body></html>\n"
    )


def write_report_html(run_dir: Path, report: Mapping[str, Any] | None = None) -> Path:
    """Write ``report.html`` into ``run_dir`` from ``report`` (default: the run's ``report.json``); returns its path."""
    run_dir = Path(run_dir)
    from_disk = report is None
    report = read_report(run_dir) if report is None else report
    try:
        page = render_report_html(report, run_dir.resolve(), last_run_log(run_dir))
    except (LookupError, TypeError, AttributeError, ValueError) as exc:
        if not from_disk:  # a report the run just built is well formed: this is a bug, shown as one
            raise
        # A report.json edited or damaged by hand parses but has the wrong shape somewhere.
        raise UserError(
            f"{run_dir / 'report.json'}: not a report aura wrote ({type(exc).__name__}: {exc});"
            f" aura resume {run_dir} writes it again"
        ) from None
    target = run_dir / "report.html"
    atomic_write_text(target, page)
    return target


def read_report(run_dir: Path) -> Mapping[str, Any]:
    """The run's ``report.json``; ``UserError`` naming the file when it is missing, unreadable or not a report."""
    path = Path(run_dir) / "report.json"
    try:
        report = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise UserError(
            f"{run_dir}: no report.json (not a run directory, or its run never finished)"
        ) from None
    except (OSError, ValueError) as exc:  # unreadable, not UTF-8 or not JSON
        detail = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise UserError(
            f"{path}: not a report aura wrote ({detail}); aura resume {run_dir} writes it again"
        ) from None
    if not isinstance(report, dict) or not isinstance(report.get("run_id"), str):
        raise UserError(
            f"{path}: not a report aura wrote (expected an object with a run_id); aura resume {run_dir} writes it again"
        )
    return report
