"""The Stability AI backend: the v2beta stable-image generate endpoints (multipart form, images back)."""

from __future__ import annotations

import math

from aura_core import Availability, ProviderError, redact
from aura_plugins_sd.backends import Job
from aura_plugins_sd.http_errors import body_text, client, status_error, transport_errors
from aura_plugins_sd.settings import StabilitySettings

WHERE = "the Stability AI API"

#: The aspect ratios the generate endpoints accept.
ASPECT_RATIOS = ("21:9", "16:9", "3:2", "5:4", "1:1", "4:5", "2:3", "9:16", "9:21")


def aspect_ratio(width: int, height: int) -> str:
    """The accepted aspect ratio closest to ``width``:``height``."""
    target = math.log(width / height)

    def distance(ratio: str) -> float:
        w, h = (int(x) for x in ratio.split(":"))
        return abs(math.log(w / h) - target)

    return min(ASPECT_RATIOS, key=distance)


class StabilityBackend:
    """Generates through Stability AI's hosted API with the key from ``STABILITY_API_KEY`` (or ``api_key_env``'s)."""

    def __init__(self, settings: StabilitySettings) -> None:
        self.settings = settings
        self.key_variable = settings.api_key.env

    @property
    def label(self) -> str:
        """``stability:<model>``."""
        return f"stability:{self.settings.model}"

    @property
    def endpoint(self) -> str:
        """The path of the generate endpoint of the configured model."""
        model = self.settings.model
        kind = model if model in ("core", "ultra") else "sd3"
        return f"/v2beta/stable-image/generate/{kind}"

    def form(self, job: Job) -> dict[str, str]:
        """The form fields for ``job``."""
        model = self.settings.model
        fields = {
            "prompt": job.prompt[:10000],
            "aspect_ratio": aspect_ratio(job.want_width, job.want_height),
            "seed": str(job.seed % 4294967295),
            "output_format": "png",
        }
        if job.negative_prompt and not model.endswith("turbo"):  # turbo models reject a negative prompt
            fields["negative_prompt"] = job.negative_prompt[:10000]
        if model.startswith("sd3"):
            fields |= {"model": model, "mode": "text-to-image"}
            if self.settings.cfg is not None:
                fields["cfg_scale"] = f"{self.settings.cfg:g}"
        return fields

    async def generate(self, job: Job) -> bytes:
        """POST the form and return the image; refused content and bad keys are permanent errors."""
        key = self.settings.api_key.get()
        if key is None:
            raise ProviderError(
                f"no Stability AI key: set {self.key_variable} in the environment", transient=False
            )
        headers = {"authorization": f"Bearer {key}", "accept": "image/*"}
        async with (
            transport_errors(WHERE, self.settings.url),
            client(self.settings.url, self.settings.timeout, local=False) as http,
        ):
            response = await http.post(
                self.endpoint,
                headers=headers,
                data=self.form(job),
                files={"none": (None, b"")},  # forces multipart/form-data, which the API requires
            )
        status = response.status_code
        if status == 401:
            raise ProviderError(
                f"{WHERE} refused the key (HTTP 401): set {self.key_variable} to a valid key", transient=False
            )
        if status == 402:
            raise ProviderError(f"{WHERE}: the account is out of credits (HTTP 402)", transient=False)
        if status == 403:
            detail = redact(body_text(response), [key])
            raise ProviderError(
                f"{WHERE} refused the prompt (content moderation): {detail}; "
                "reword the scene's visual prompt",
                transient=False,
            )
        if status != 200:
            raise status_error(WHERE, response, [key])
        if response.headers.get("finish-reason", "SUCCESS").upper() == "CONTENT_FILTERED":
            raise ProviderError(
                f"{WHERE} filtered the picture (finish_reason CONTENT_FILTERED); "
                "reword the scene's visual prompt",
                transient=False,
            )
        if not response.headers.get("content-type", "").startswith("image/"):
            raise ProviderError(
                f"{WHERE} answered with {response.headers.get('content-type')!r} instead of an image",
                transient=True,
            )
        return response.content

    async def check(self) -> Availability:
        """The key is present (no request is made, so checking costs no credits)."""
        if self.settings.api_key.get() is not None:
            return Availability(True, f"{self.key_variable} is set; model {self.settings.model}")
        return Availability(False, f"set {self.key_variable} in the environment")
