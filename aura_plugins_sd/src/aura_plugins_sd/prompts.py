"""Style presets that add to a scene's prompt, and the default negative prompt."""

from __future__ import annotations

from collections.abc import Mapping

#: Words added to the prompt for each ``plan.style``; a brief can add or replace entries with ``styles``.
STYLE_PRESETS: Mapping[str, str] = {
    "documentary": "documentary photograph, natural light, realistic detail, editorial composition",
    "cinematic": "cinematic film still, dramatic lighting, shallow depth of field, color graded, 35mm",
    "playful": "playful colorful illustration, whimsical shapes, bright cheerful palette",
    "minimal": "minimalist composition, clean simple shapes, generous negative space, muted palette",
    "corporate": "clean professional photography, bright modern setting, polished, business style",
    "illustration": "detailed digital illustration, clean line art, soft shading",
    "watercolor": "watercolor painting, soft washes, paper texture",
    "photographic": "professional photograph, sharp focus, natural colors",
}

#: Added after the request's own negative prompt unless the ``negative_prompt`` setting replaces it.
DEFAULT_NEGATIVE = (
    "lowres, blurry, out of focus, jpeg artifacts, watermark, signature, text, letters, logo, "
    "deformed, disfigured, extra limbs, extra fingers, bad anatomy, cropped, worst quality"
)


def style_words(style: str, presets: Mapping[str, str]) -> str:
    """The words a style adds: its preset, or ``"<style> style"`` for a style without one."""
    key = style.strip().lower()
    if not key:
        return ""
    return presets.get(key, f"{style.strip()} style")


def full_prompt(prompt: str, style: str, presets: Mapping[str, str]) -> str:
    """The scene's prompt followed by its style's words."""
    words = style_words(style, presets)
    return ", ".join(part for part in (prompt.strip(), words) if part)


def full_negative(negative: str, default: str) -> str:
    """The request's negative prompt followed by the default one, each term once."""
    terms: list[str] = []
    for part in (negative, default):
        for term in part.split(","):
            term = term.strip()
            if term and term.lower() not in {t.lower() for t in terms}:
                terms.append(term)
    return ", ".join(terms)
