"""The ``[providers.pexels]`` table, declared: the core reads it and names each bad key on one line."""

from __future__ import annotations

from attrs import frozen

from aura_core import Secret, secret, setting

#: The Pexels API's address; photos are searched under ``/v1/``, videos under ``/videos/``.
DEFAULT_URL = "https://api.pexels.com"


@frozen
class PexelsSettings:
    """Every setting of the provider, with its default (docs/plugins/pexels.md says what each does)."""

    url: str = setting(DEFAULT_URL, url=True, help="the API's address (a proxy's, or a test server's)")
    api_key: Secret = secret("PEXELS_API_KEY", key="api_key_env", help="the variable holding the key")
    per_page: int = setting(15, between=(1, 80), help="results asked per search: the choice a scene has")
    max_download_mb: float = setting(200.0, between=(1, 100_000), help="the largest file downloaded, in MB")
    timeout: float = setting(60.0, between=(1, 3600), help="seconds to wait for a connection or a read")
    # 200 requests an hour by default: two scenes at a time keeps a short video well inside it.
    concurrency: int = setting(2, between=(1, 16), help="how many scenes search and download at once")

    @property
    def max_bytes(self) -> int:
        """``max_download_mb`` in bytes."""
        return int(self.max_download_mb * 1_000_000)
