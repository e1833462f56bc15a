"""The ``template`` script writer: a rule-based, deterministic script with no model behind it.

It writes a hook, body scenes that each take a distinct angle on the topic, and a close.
Sentences come from phrase banks filled with the brief's topic, audience, goal and tone;
a random generator seeded from the request picks among variants, so the same request gives the same script.
Sentences are added scene by scene until the running word count meets the running target,
which keeps the whole script close to ``word_target`` and spreads the words evenly over the scenes.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import AsyncIterator, Sequence

from attrs import frozen

from aura_core import SceneDraft, ScriptRequest, count_words

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "each",
        "for",
        "from",
        "how",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "other",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "your",
        "you",
        "about",
        "between",
        "tell",
        "each",
        "other",
        "make",
        "makes",
        "made",
        "work",
        "works",
        "really",
        "actually",
    ]
)

#: Picture wording per style; unknown styles use their own name as the medium.
_STYLE_LOOKS: dict[str, str] = {
    "documentary": "documentary photograph, natural light, real textures",
    "cinematic": "cinematic still, dramatic lighting, shallow depth of field, film grain",
    "playful": "bright playful illustration, bold shapes, cheerful colours",
    "corporate": "clean corporate illustration, flat design, calm blue palette",
    "minimal": "minimal graphic, generous negative space, two or three colours",
}

_ASPECT_FRAMING = {"16:9": "wide 16:9 framing", "9:16": "vertical 9:16 framing", "1:1": "square framing"}


@frozen
class _Angle:
    """One body-scene angle: its heading, its lead sentences, its follow-up sentences and its picture."""

    heading: str
    leads: tuple[str, ...]
    more: tuple[str, ...]
    picture: str


_HOOK = _Angle(
    heading="{Title}",
    leads=(
        "Here is something worth a minute of your time: {topic}.",
        "Most of us have heard about {topic}, but few of us could explain it.",
        "Let's talk about {topic}.",
        "Today's subject is {topic}, and it is more interesting than it sounds.",
    ),
    more=(
        "{goal_sentence}",
        "This one is for {audience}.",
        "It looks simple from the outside, and that is exactly why it is worth a closer look.",
        "In the next few moments we will take it apart, one piece at a time.",
        "Stay with me, because the details are where it gets good.",
    ),
    picture="an eye-catching establishing view of {subject}",
)

_CLOSE = _Angle(
    heading="The takeaway",
    leads=(
        "So, what should you remember about {topic}?",
        "Let's bring it all together.",
        "That, in short, is {topic}.",
    ),
    more=(
        "It starts with a simple idea and grows into something surprisingly rich.",
        "{goal_close}",
        "Next time it comes up, you will see more than most people do.",
        "If one thing stays with you, let it be this: the details are what make it work.",
        "Thanks for watching, and stay curious.",
    ),
    picture="a calm closing view of {subject}, room to breathe",
)

_BODY: tuple[_Angle, ...] = (
    _Angle(
        heading="The basics",
        leads=(
            "First, the basics.",
            "Let's start with the essentials, the parts everything else is built on.",
        ),
        more=(
            "At its core, it comes down to a few simple parts working together.",
            "Once you can name those parts, the rest starts to make sense.",
            "None of it needs special knowledge, just a little attention.",
        ),
        picture="a clear overview of {subject}, every part easy to see",
    ),
    _Angle(
        heading="How it works",
        leads=("So how does it work?", "Here is how it works, step by step."),
        more=(
            "One thing leads to the next, and each step depends on the one before it.",
            "When a step goes wrong, you can see the effect further down the line.",
            "Seen in order, the whole process is easier to follow than it first appears.",
        ),
        picture="a step-by-step view of {subject} in action",
    ),
    _Angle(
        heading="Why it matters",
        leads=("Why should you care?", "This matters more than you might think."),
        more=(
            "It shapes things we rely on every day, usually without noticing.",
            "Change one small part, and the effects reach much further than expected.",
            "For {audience}, it is a useful lens for understanding the world.",
        ),
        picture="{subject} shown alongside its effect on everyday life",
    ),
    _Angle(
        heading="An example",
        leads=("Let's make it concrete with an example.", "Picture a simple, everyday case."),
        more=(
            "Follow it from beginning to end, and every idea so far shows up in it.",
            "What looked abstract a moment ago suddenly becomes easy to picture.",
            "Small examples like this one are how most people really learn.",
        ),
        picture="a concrete, close-up example of {subject}",
    ),
    _Angle(
        heading="A common myth",
        leads=("There is a common misunderstanding here.", "Now, a myth worth clearing up."),
        more=(
            "Many people assume it is random, but there is a clear pattern underneath.",
            "The truth is more precise, and frankly more interesting.",
            "Once you see the pattern, the myth is hard to believe again.",
        ),
        picture="a before-and-after contrast of {subject}",
    ),
    _Angle(
        heading="Where it comes from",
        leads=("It helps to know where this comes from.", "Let's look back for a moment."),
        more=(
            "What we see today grew out of a long series of small changes.",
            "Each of those changes solved a problem, and together they built the whole.",
            "Knowing the history makes the present design far less surprising.",
        ),
        picture="a historical scene suggesting the origins of {subject}",
    ),
    _Angle(
        heading="A surprising detail",
        leads=("Here is a detail that surprises almost everyone.", "This next part is the surprise."),
        more=(
            "It is small, easy to miss, and yet everything else depends on it.",
            "Experts still find it remarkable, even after years of study.",
            "It is a good reminder that simple things can hide clever solutions.",
        ),
        picture="a striking macro detail of {subject}",
    ),
    _Angle(
        heading="The bigger picture",
        leads=("Now step back and look at the bigger picture.", "Zoom out for a moment."),
        more=(
            "Each piece on its own is modest, but together they form a system.",
            "That system is sturdy, flexible, and able to adapt when conditions change.",
            "Seen from a distance, the pattern becomes hard to miss.",
        ),
        picture="a sweeping wide view of {subject} as a whole system",
    ),
    _Angle(
        heading="Try it yourself",
        leads=("Here is something you can try yourself.", "You can see this for yourself."),
        more=(
            "Next time you get the chance, watch closely and look for the pattern.",
            "Once you know what to look for, you will notice it everywhere.",
            "It takes a minute, and it turns an idea into something you have seen.",
        ),
        picture="a person observing {subject} up close, curious and engaged",
    ),
    _Angle(
        heading="What comes next",
        leads=("So what comes next?", "There is still a lot we do not know."),
        more=(
            "Researchers keep finding new layers, and each answer raises a new question.",
            "The next few years are likely to change how we think about it.",
            "That open question is part of what keeps it exciting.",
        ),
        picture="a forward-looking view of {subject}, soft light on the horizon",
    ),
)

#: Sentences that fit any body scene, used when an angle runs out of its own material.
_GENERAL: tuple[str, ...] = (
    "It is worth pausing on that for a second.",
    "That is the key idea here.",
    "Keep that in mind, because it comes back later.",
    "This is where it starts to click.",
    "It sounds small, but it changes a lot.",
    "Think about what that means in practice.",
    "The pattern is the same every time.",
    "And that is only part of the story.",
    "Here, the details really do matter.",
    "It is simpler than it looks, once you see it.",
    "Notice how each part supports the others.",
    "That is no accident.",
)

#: Short sentences used to land a scene on its word budget.
_SHORT: tuple[str, ...] = (
    "Really.",
    "Think about that.",
    "That matters.",
    "Here is why.",
    "Look closely.",
    "Simple, right?",
)

_TONE_OPENERS: dict[str, tuple[str, ...]] = {
    "playful": ("Okay, ", "Right, ", "Now, "),
    "humorous": ("Okay, ", "Right, ", "Now, "),
    "energetic": ("Now, ", "Right, ", "Okay, "),
    "calm": ("Now, ", "And "),
    "serious": ("Now, ",),
}

_TONE_MOOD: dict[str, str] = {
    "playful": "cheerful and lively mood",
    "humorous": "light-hearted mood",
    "energetic": "dynamic, energetic mood",
    "calm": "calm, quiet mood",
    "serious": "sober, serious mood",
    "inspiring": "uplifting, hopeful mood",
}


def _phrase(text: str) -> str:
    """The topic as a phrase that can sit inside a sentence: no end punctuation, lower-cased first word."""
    text = " ".join(text.strip().split()).rstrip(".!?")
    first, _, rest = text.partition(" ")
    if first.lower() in _STOPWORDS and not first.isupper():
        first = first.lower()
    return f"{first} {rest}".strip()


def _title(text: str) -> str:
    """A short title for the hook heading: the topic's first words, capitalised."""
    words = " ".join(text.split()).rstrip(".!?").split()
    short = words if len(words) <= 10 else words[:8]
    title = " ".join(short) + ("…" if len(short) < len(words) else "")
    return title[:1].upper() + title[1:]


def keywords(text: str) -> list[str]:
    """The content words of ``text`` in order, lower-cased, without stopwords or repeats."""
    seen: list[str] = []
    for word in re.findall(r"[A-Za-z][A-Za-z'-]+", text.lower()):
        if word not in _STOPWORDS and len(word) > 2 and word not in seen:
            seen.append(word)
    return seen


def _sentence_case(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


class TemplateWriter:
    """kind ``llm``, name ``template``: a sensible script from phrase banks, offline and deterministic."""

    kind = "llm"
    name = "template"
    auto = True
    deterministic = True  # the same request gives the same script: a bad one is not retried
    concurrency = 4

    def fingerprint(self) -> str:
        """The writer's version: bump it when the phrase banks change so cached scripts are re-made."""
        return "template/1"

    async def write_script(self, request: ScriptRequest) -> AsyncIterator[SceneDraft]:
        """Yield ``request.scene_count`` scenes of about ``request.word_target`` words in all."""
        for draft in compose_script(request):
            yield draft


def _seed(request: ScriptRequest) -> int:
    brief, plan = request.brief, request.plan
    key = "\x1f".join(
        map(
            str,
            (brief.topic, brief.audience, brief.goal, brief.tone, plan.style, plan.pacing, plan.density),
        )
    )
    key += f"\x1f{request.scene_count}\x1f{request.word_target}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


def _angles(count: int, rng: random.Random) -> list[tuple[_Angle, int]]:
    """``count`` body angles, each distinct while the bank lasts; the int is the repeat number."""
    if count <= 0:
        return []
    # the basics and how it works lead, the rest follow in a seeded order
    order = list(_BODY[:2]) + rng.sample(list(_BODY[2:]), len(_BODY) - 2)
    if count <= len(order):
        # keep the bank's order among the chosen ones so the script builds up naturally
        chosen = sorted(order[:count], key=_BODY.index)
        return [(angle, 0) for angle in chosen]
    return [(order[i % len(order)], i // len(order)) for i in range(count)]


def compose_script(request: ScriptRequest) -> list[SceneDraft]:
    """The whole script for ``request``, as a list; ``TemplateWriter.write_script`` yields it."""
    brief, plan = request.brief, request.plan

    def units(text: str) -> int:
        # the core's own count in the brief's language, so the script lands where the check looks
        return count_words(text, request.language)

    count = max(1, request.scene_count)
    target = max(count, request.word_target)
    rng = random.Random(_seed(request))
    topic = _phrase(brief.topic)
    audience = _phrase(brief.audience) or "anyone curious"
    goal = _phrase(brief.goal)
    found = keywords(brief.topic)[:3]
    subject = (", ".join(found[:-1]) + " and " + found[-1] if len(found) > 1 else "".join(found)) or topic
    fields = {
        "topic": topic,
        "Title": _title(brief.topic),
        "audience": audience,
        "subject": subject,
        "goal_sentence": f"By the end, the goal is simple: {goal}." if goal else "",
        "goal_close": f"And that was the goal: {goal}." if goal else "",
    }
    tone = brief.tone.lower().strip()
    openers = next((v for k, v in _TONE_OPENERS.items() if k in tone), ("",))
    mood = next((v for k, v in _TONE_MOOD.items() if k in tone), f"{tone or 'neutral'} mood")
    look = _STYLE_LOOKS.get(plan.style.lower().strip(), f"{plan.style} style")
    framing = _ASPECT_FRAMING.get(brief.aspect, "")
    # fast pacing prefers short sentences first; chill prefers the longer ones
    prefer_short = plan.pacing == "fast"
    prefer_long = plan.pacing == "chill"

    plan_angles = [(_HOOK, 0)] if count == 1 else [(_HOOK, 0), *_angles(count - 2, rng), (_CLOSE, 0)]

    general = list(_GENERAL)
    rng.shuffle(general)
    used_general: set[str] = set()
    drafts: list[SceneDraft] = []
    written = 0
    for index, (angle, repeat) in enumerate(plan_angles):
        goal_words = round(target * (index + 1) / count)
        budget = goal_words - written

        def fill(text: str) -> str:
            return _sentence_case(text.format(**fields)) if text else ""

        leads = [fill(s) for s in angle.leads]
        fitting = [s for s in leads if units(s) <= max(budget, 1)]
        lead = rng.choice(fitting) if fitting else min(leads, key=units)
        if index > 0 and repeat == 0 and rng.random() < 0.4:
            opener = rng.choice(openers)
            if opener and not lead.startswith(opener.strip()):
                lead = opener + lead[:1].lower() + lead[1:] if not lead[:2].isupper() else opener + lead
        more = [fill(s) for s in angle.more if fill(s)]
        if repeat:
            rng.shuffle(more)
        elif prefer_short:
            more.sort(key=units)
        elif prefer_long:
            more.sort(key=units, reverse=True)
        is_close = angle is _CLOSE
        if is_close:
            # the close draws only on closing lines; its sign-off stays last whatever else is added
            pool = [s for s in more if not s.startswith("Thanks")] + ["Remember that.", "Stay curious."]
        else:
            pool = more + [s for s in general if s not in used_general]
        sentences = [lead]
        words = units(lead)
        for sentence in pool:
            if words >= budget:
                break
            n = units(sentence)
            if abs(budget - (words + n)) < abs(budget - words) or words == 0:
                sentences.append(sentence)
                words += n
                used_general.add(sentence)
        # land on the budget with a short sentence when that gets closer
        gap = budget - words
        if gap >= 2 and not is_close:
            best = min(_SHORT, key=lambda s: abs(gap - units(s)))
            if abs(gap - units(best)) < gap:
                sentences.insert(len(sentences) // 2 + 1, best)
                words += units(best)
        # very long scripts: keep adding general sentences (reused) until the budget is met
        cycle = 0
        while budget - words > 6 + (6 if is_close else 0):
            sentence = general[cycle % len(general)]
            sentences.append(sentence)
            words += units(sentence)
            cycle += 1
        if is_close:
            sign_off = "Thanks for watching, and stay curious."
            if budget - words >= units(sign_off) // 2:
                sentences.append(sign_off)
                words += units(sign_off)
        written += words
        heading = fill(angle.heading) if repeat == 0 else f"{fill(angle.heading)}, part {repeat + 1}"
        picture = angle.picture.format(**fields)
        visual = ", ".join(p for p in (f"{look}: {picture}", mood, framing, "no text") if p)
        drafts.append(SceneDraft(heading=heading, narration=" ".join(sentences), visual_prompt=visual))
    return drafts


def word_count(drafts: Sequence[SceneDraft], language: str) -> int:
    """The number of narrated words in ``drafts``, counted in ``language`` (``aura_core.count_words``)."""
    return sum(count_words(d.narration, language) for d in drafts)
