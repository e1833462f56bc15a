"""The ``[providers.pixabay]`` table, declared: the core reads it and names each bad key on one line."""

from __future__ import annotations

from typing import Literal

from attrs import frozen

from aura_core import Secret, secret, setting

#: The Pixabay API's address: photos are searched at ``<url>/``, videos at ``<url>/videos/``.
DEFAULT_URL = "https://pixabay.com/api"


@frozen
class PixabaySettings:
    """Every setting of the provider, with its default (docs/plugins/pixabay.md says what each does)."""

    url: str = setting(DEFAULT_URL, url=True, help="the API's address (a proxy's, or a test server's)")
    api_key: Secret = secret("PIXABAY_API_KEY", key="api_key_env", help="the variable holding the key")
    per_page: int = setting(20, between=(3, 200), help="results asked per search: the choice a scene has")
    safesearch: bool = setting(True, help="only results suitable for all ages")
    video_type: Literal["all", "film", "animation"] = setting(
        "all", help="which videos: all, film or animation"
    )
    max_download_mb: float = setting(200.0, between=(1, 100_000), help="the largest file downloaded, in MB")
    timeout: float = setting(60.0, between=(1, 3600), help="seconds to wait for a connection or a read")
    # 100 requests a minute by default: four scenes at a time stay well inside it.
    concurrency: int = setting(4, between=(1, 16), help="how many scenes search and download at once")

    @property
    def max_bytes(self) -> int:
        """``max_download_mb`` in bytes."""
        return int(self.max_download_mb * 1_000_000)
