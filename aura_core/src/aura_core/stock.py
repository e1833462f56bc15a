"""Stock media for a scene: what to search for, which result to take, which rendition to fetch, and fetching it.

A stock provider (Pexels, Pixabay, a third party's library) only speaks its vendor's wire format: it turns
a search answer into ``StockItem`` values. The rest is the same for every vendor and lives here, once:

- ``search_words``: a short keyword query from a scene's visual prompt;
- ``orientation_of``: landscape, portrait or square from the output size;
- ``pick_rendition``: the smallest rendition at or above the output size, else the largest;
- ``StockPicker``: which result a scene gets, deterministically from its seed, never one another scene of
  the same video already has;
- ``find_stock``: the search (the vendor's, given as a function) and the choice, videos first when the
  composer takes clips, photos otherwise or when no video is left; no result is a permanent error, so the
  chain's next provider takes the scene;
- ``fetch_stock``: the download (``aura_core.download``) and the result: a ``Picture`` fitted to the
  output size exactly, or a ``Clip`` as measured.

``fetch_stock`` needs Pillow and PyAV, imported on first use: depend on ``aura-core[stock]``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread
from attrs import frozen

from aura_core.contract import Availability, Clip, ImageRequest, Picture, ProviderSettings
from aura_core.download import DownloadTooLarge, download
from aura_core.errors import ProviderError
from aura_core.filework import write_in_thread
from aura_core.media import probe_clip
from aura_core.settings import Secret
from aura_core.usage import record_usage

if TYPE_CHECKING:
    import httpx

Orientation = Literal["landscape", "portrait", "square"]
MediaKind = Literal["photo", "video"]

#: Words that say nothing a stock library can search for: function words ...
_FUNCTION_WORDS = """
a an the and or but of in on at to for from with without by as into onto over under near its it is are be
being been this that these those their there here very some any each every one two three which who whose
what when where while than then so such not no all both few more most other own same just also about
"""
#: ... and words about how a picture looks rather than what it shows (style, light, mood, framing).
_LOOK_WORDS = """
showing shows show depicting depicts featuring features seen view views close closeup close-up up shot
image picture photo photograph photography photographic illustration render rendering style styled
documentary realistic photorealistic cinematic dramatic detailed highly high quality resolution hd 4k 8k
sharp focus lighting light natural soft warm cool real textures texture beautiful stunning vivid vibrant
wide angle aerial macro background foreground scene establishing eye-catching overview clear calm
closing opening mood moody informative framing frame composition text no-text room breathe easy see
"""
_NOISE = frozenset((_FUNCTION_WORDS + _LOOK_WORDS).split())
#: Clauses of a prompt: a style prefix ends with a colon, details are separated by commas.
_CLAUSE = re.compile(r"[,;:.()\[\]|]+")
_WORD = re.compile(r"[^\W\d_][\w'-]*", re.UNICODE)
#: An output whose sides differ by less than this fraction is square.
_SQUARE_TOLERANCE = 0.05


def search_words(prompt: str, *, max_words: int = 5) -> str:
    """A short keyword query from a visual prompt: the words of its subject, without function words or
    words about how the picture looks (``"documentary photograph, natural light: a calm view of honeybees
    and flowers, wide framing"`` → ``"honeybees flowers"``); empty when the prompt has none.

    The subject is looked for after a style prefix ending in a colon first, then clause by clause (commas
    separate them); words are taken until a clause ends with at least two, or ``max_words`` are found.
    """
    head, colon, tail = prompt.partition(":")
    clauses = _CLAUSE.split(f"{tail},{head}" if colon else prompt)
    words: list[str] = []
    for clause in clauses:
        for match in _WORD.finditer(clause.casefold()):
            word = match.group().strip("'-").removesuffix("'s")
            if len(word) < 2 or word in _NOISE or word in words:
                continue
            words.append(word)
            if len(words) == max_words:
                return " ".join(words)
        if len(words) >= 2:
            break
    return " ".join(words)


def orientation_of(width: int, height: int) -> Orientation:
    """``"landscape"``, ``"portrait"`` or ``"square"`` (sides within 5 % of each other) for a frame."""
    if height <= 0 or width <= 0 or abs(width - height) <= _SQUARE_TOLERANCE * max(width, height):
        return "square"
    return "landscape" if width > height else "portrait"


@frozen
class Rendition:
    """One file of a stock item: its address, its size in pixels and, when the vendor says, in bytes."""

    url: str
    width: int
    height: int
    bytes: int = 0

    def covers(self, width: int, height: int) -> bool:
        """Whether it fills a ``width`` x ``height`` frame without being enlarged."""
        return self.width >= width and self.height >= height


@frozen
class StockItem:
    """One search result of a stock library: a photo or a video, its renditions, and its credits.

    ``key`` is unique within the library (its id); ``width`` and ``height`` are the original's;
    ``duration`` is a video's length in seconds (0 for a photo); ``author`` and ``link`` (the item's page)
    credit it.
    """

    key: str
    kind: MediaKind
    width: int
    height: int
    renditions: tuple[Rendition, ...]
    author: str = ""
    link: str = ""
    duration: float = 0.0


def pick_rendition(renditions: Iterable[Rendition], width: int, height: int) -> Rendition | None:
    """The smallest rendition that fills a ``width`` x ``height`` frame without enlarging, else the largest;
    None when there is none. Of two the same size, the one listed first."""
    usable = [(n, r) for n, r in enumerate(renditions) if r.url and r.width > 0 and r.height > 0]
    covering = [(n, r) for n, r in usable if r.covers(width, height)]
    if covering:
        return min(covering, key=lambda nr: (nr[1].width * nr[1].height, nr[1].bytes, nr[0]))[1]
    largest = max(usable, key=lambda nr: (nr[1].width * nr[1].height, -nr[1].bytes, -nr[0]), default=None)
    return largest[1] if largest else None


#: A vendor's search: the items of one kind for a keyword query (and the request, for its frame).
StockSearch = Callable[[MediaKind, str, ImageRequest], Awaitable[Sequence[StockItem]]]


class StockPicker:
    """Which search result each scene of one video gets, and the answers of the video's searches.

    Results are ranked by a hash of the scene's seed and the item's key, so the same scene asking the same
    question gets the same item, whatever order the library answered in. A scene prefers items of its
    frame's orientation, then, for a clip, items at least ``min_duration`` seconds long. An item taken by
    one scene is never given to another (a scene asking again, a retry, gets its own back). The same
    question is put to the library once (``ask``), however many scenes ask it at once: stock libraries
    ask for answers to be cached, and their allowances are small. One picker per configured provider: the
    core configures a provider afresh for each run, so each video starts with nothing taken or asked.
    """

    def __init__(self) -> None:
        self._taken: dict[str, int] = {}
        self._answers: dict[tuple[str, str, int, int], Sequence[StockItem]] = {}
        self._asking: dict[tuple[str, str, int, int], anyio.Lock] = {}

    async def ask(
        self, search: StockSearch, kind: MediaKind, query: str, request: ImageRequest
    ) -> Sequence[StockItem]:
        """``search``'s answer for ``kind``, ``query`` and the request's frame, asked once: a scene asking
        while another waits for the same answer waits too. A failed search is asked again next time."""
        question = (kind, query, request.width, request.height)
        lock = self._asking.setdefault(question, anyio.Lock())
        async with lock:
            if question not in self._answers:
                self._answers[question] = await search(kind, query, request)
        return self._answers[question]

    def choose(
        self, items: Sequence[StockItem], request: ImageRequest, *, min_duration: float = 0.0
    ) -> StockItem | None:
        """The item for ``request`` among ``items`` (None when every one is another scene's), now its."""
        wanted = orientation_of(request.width, request.height)

        def order(item: StockItem) -> tuple[bool, bool, str]:
            rank = hashlib.sha256(f"{request.seed}:{item.kind}:{item.key}".encode()).hexdigest()
            too_short = item.kind == "video" and item.duration < min_duration
            # A clip of the wrong orientation loses most of itself to the crop: worse than a slowed one.
            return orientation_of(item.width, item.height) != wanted, too_short, rank

        for item in sorted(items, key=order):
            owner = self._taken.setdefault(f"{item.kind}:{item.key}", request.seed)
            if owner == request.seed:
                return item
        return None

    def taken(self) -> int:
        """How many items scenes have taken so far."""
        return len(self._taken)


async def find_stock(
    request: ImageRequest, search: StockSearch, picker: StockPicker, *, vendor: str
) -> StockItem:
    """The stock item for ``request``: ``search`` asked with the keywords of its prompt (of its heading when
    the prompt has none), for videos first when ``request.clips`` (preferring clips at least
    ``request.duration`` long), then for photos; ``picker`` asks each question once and chooses among
    the results.

    A permanent ``ProviderError`` naming ``vendor`` and the query when there is nothing to search for,
    nothing found, or every result already shown by another scene: the chain's next provider takes over.
    """
    if request.width < 1 or request.height < 1:
        raise ProviderError(
            f"{vendor}: {request.width}x{request.height} is too small: a picture needs at least 1x1 pixels",
            transient=False,
        )
    query = search_words(request.prompt) or search_words(request.heading)
    if not query:
        raise ProviderError(
            f"{vendor}: nothing to search for in the visual prompt {request.prompt[:80]!r}", transient=False
        )
    kinds: tuple[MediaKind, ...] = ("video", "photo") if request.clips else ("photo",)
    found = 0
    for kind in kinds:
        items = await picker.ask(search, kind, query, request)
        found += len(items)
        item = picker.choose(items, request, min_duration=request.duration if kind == "video" else 0.0)
        if item is not None:
            return item
    what = " or ".join(f"{kind}s" for kind in kinds)
    if not found:
        raise ProviderError(f"{vendor}: no {what} found for {query!r}", transient=False)
    raise ProviderError(
        f"{vendor}: every one of the {found} {what} found for {query!r} is already shown by another scene",
        transient=False,
    )


async def fetch_stock(
    item: StockItem,
    request: ImageRequest,
    *,
    source: str,
    license: str,
    max_bytes: int,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
    client: httpx.AsyncClient | None = None,
    secrets: Iterable[str | None] = (),
) -> Picture | Clip:
    """Download ``item``'s rendition for ``request`` (``pick_rendition``) and describe it.

    A photo becomes a PNG of exactly ``request.width`` x ``request.height`` at ``request.out_path``
    (scaled to cover the frame, then cropped to its centre): a ``Picture``. A video is written beside
    ``out_path`` as ``.mp4`` and measured: a ``Clip`` from its start. Both carry ``source``,
    ``license`` and the item's author and page. The download options are ``download``'s. A file that
    does not decode is a permanent ``ProviderError``; after any failure or a cancellation no file is left.
    """
    rendition = pick_rendition(item.renditions, request.width, request.height)
    if rendition is None:
        raise ProviderError(f"{source}: {item.kind} {item.key} has no file to download", transient=False)
    url = rendition.url

    async def get(path: Path) -> None:
        await download(
            url, path, max_bytes=max_bytes, headers=headers, timeout=timeout, client=client, secrets=secrets
        )

    if item.kind == "video":
        clip_path = request.out_path.with_suffix(".mp4")
        await get(clip_path)
        measure = functools.partial(
            probe_clip, clip_path, source=source, license=license, author=item.author, link=item.link
        )
        try:
            clip = await anyio.to_thread.run_sync(measure)
            await anyio.lowlevel.checkpoint()  # a cancellation during the measuring lands here
        except BaseException:
            clip_path.unlink(missing_ok=True)
            raise
        return clip
    request.out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=request.out_path.parent, prefix=".stock-") as folder:
        original = Path(folder) / "original"
        await get(original)
        await write_in_thread(
            request.out_path, lambda path: _fit_png(original, request.width, request.height, path)
        )
    return Picture(
        path=request.out_path,
        width=request.width,
        height=request.height,
        source=source,
        license=license,
        author=item.author,
        link=item.link,
    )


def _fit_png(original: Path, width: int, height: int, out_path: Path) -> None:
    """The picture at ``original`` scaled to cover ``width`` x ``height``, cropped to it, saved as PNG."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(original) as picture:
            fitted = ImageOps.fit(picture.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise ProviderError(f"the downloaded photo is not a picture that can be read ({error})") from None
    fitted.save(out_path, format="PNG")


class StockSettings(Protocol):
    """What ``StockProvider`` reads from a stock plugin's declared settings class."""

    @property
    def url(self) -> str: ...
    @property
    def api_key(self) -> Secret: ...
    @property
    def timeout(self) -> float: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def max_bytes(self) -> int: ...


S = TypeVar("S", bound=StockSettings)


class StockProvider(Generic[S]):
    """An ``image`` provider over a stock library: what every stock plugin does but its vendor's search.

    A plugin sets ``name``, ``license`` and ``settings_class`` and writes ``search`` (its API's wire format)
    and, when settings change what a scene gets, ``fingerprint_facts``. Each run's copy (``configure``)
    has its own ``StockPicker``, so no photo or clip is shown twice in one video.
    """

    kind = "image"
    auto = False
    #: Returns a ``Clip`` when the request takes clips.
    clips = True
    name: ClassVar[str]
    license: ClassVar[str]
    settings_class: ClassVar[type[Any]]
    #: Bumped when the query, the search or the choice changes what a scene gets.
    choice_version: ClassVar[int] = 1

    def __init__(self, settings: S | None = None) -> None:
        self.settings: S = settings if settings is not None else self.settings_class()
        self.picker = StockPicker()

    def __getstate__(self) -> dict[str, Any]:
        """Only the settings travel (to a Ray worker, or the contract's fresh process)."""
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"])  # type: ignore[misc]

    @property
    def concurrency(self) -> int:
        """How many scenes search and download at once: the ``concurrency`` setting."""
        return self.settings.concurrency

    def configure(self, settings: ProviderSettings) -> StockProvider[S]:
        """A fresh copy for one run, with ``[providers.<name>]`` read into ``settings_class``.

        Declared settings alone would let the core hand out this very object when the table is empty; a
        copy of its own per run keeps what one video has shown from leaking into the next.
        """
        return type(self)(settings.structure(self.settings_class, current=self.settings))

    def fingerprint_facts(self) -> dict[str, Any]:
        """The settings that change what a scene gets (``per_page`` and the like)."""
        return {}

    def fingerprint(self) -> str:
        """What changes the scene's result: how results are searched and chosen, and among how many."""
        facts = {"choice": self.choice_version, **self.fingerprint_facts()}
        return f"{self.name}:" + json.dumps(facts, sort_keys=True, separators=(",", ":"))

    async def check(self) -> Availability:
        """Whether a key is set (it is tried on the first search: asking costs from the allowance)."""
        key = self.settings.api_key
        if key.get() is None:
            return Availability(False, key.missing)
        return Availability(True, f"key in {key.env}; searches {self.settings.url}")

    async def search(
        self, key: str, kind: MediaKind, query: str, request: ImageRequest
    ) -> Sequence[StockItem]:
        """The vendor's results for ``query``: the plugin's own wire format."""
        raise NotImplementedError

    async def generate(self, request: ImageRequest) -> Picture | Clip:
        """The scene's photo as a PNG of the frame's size, or a clip beside it when the request takes clips."""
        key = self.settings.api_key.value()

        async def search(kind: MediaKind, query: str, request: ImageRequest) -> Sequence[StockItem]:
            return await self.search(key, kind, query, request)

        item = await find_stock(request, search, self.picker, vendor=self.name)
        try:
            visual = await fetch_stock(
                item,
                request,
                source=self.name,
                license=self.license,
                max_bytes=self.settings.max_bytes,
                timeout=self.settings.timeout,
                secrets=[key],
            )
        except DownloadTooLarge as error:
            raise ProviderError(
                f"{self.name}: {error.message}; raise providers.{self.name}.max_download_mb to allow it",
                transient=False,
            ) from None
        record_usage(**{f"{item.kind}s": 1})
        return visual
