"""The ``openai`` script writer: chat completions asking for a JSON script, streamed scene by scene."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio.lowlevel

from aura_core import (
    Availability,
    ProviderError,
    ProviderSettings,
    SceneDraft,
    ScriptRequest,
    record_usage,
)
from aura_plugins_openai.client import check_service, fingerprint_of, open_client
from aura_plugins_openai.failures import is_response_format_rejection, to_provider_error
from aura_plugins_openai.prompt import SCRIPT_SCHEMA, script_messages
from aura_plugins_openai.scene_stream import SceneStream, ScriptParseError
from aura_plugins_openai.settings import OpenAISettings

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionChunk
    from openai.types.chat.completion_create_params import ResponseFormat

PROMPT_VERSION = 1
"""Bumped whenever the prompt or schema changes what a model writes (part of the fingerprint)."""


def _response_format(mode: str) -> ResponseFormat:
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "video_script", "strict": True, "schema": dict(SCRIPT_SCHEMA)},
        }
    return {"type": "json_object"}


class OpenAIScriptWriter:
    """kind ``llm``: asks the chat model for ``{"scenes": [...]}``, yields each scene as soon as it is read.

    An answer that cannot be read fails transiently once (the core retries, with a note asking for JSON
    only), and permanently when the next answer to the same request cannot be read either.
    """

    kind = "llm"
    name = "openai"

    def __init__(self, settings: OpenAISettings | None = None) -> None:
        self.settings = settings or OpenAISettings()
        self.concurrency = self.settings.effective_concurrency()
        self._parse_failures: dict[ScriptRequest, int] = {}
        self._schema_rejected = False

    def configure(self, settings: ProviderSettings) -> OpenAIScriptWriter:
        """A copy set up from the brief's ``[providers.openai]`` table, read by the core into
        ``OpenAISettings`` (a key the table leaves out keeps this provider's value)."""
        return OpenAIScriptWriter(settings.structure(OpenAISettings, current=self.settings))

    def fingerprint(self) -> str:
        """Server, model and the settings that change the script."""
        s = self.settings
        return fingerprint_of(
            "llm",
            s,
            model=s.model,
            temperature=s.temperature,
            max_tokens=s.max_tokens,
            prompt=PROMPT_VERSION,
        )

    async def check(self) -> Availability:
        """Key present and server reachable."""
        return await check_service(self.settings, model=self.settings.model, model_key="model")

    def _mode(self) -> str:
        if self.settings.structured == "json_object" or self._schema_rejected:
            return "json_object"
        return "json_schema"

    def _options(self, request: ScriptRequest, mode: str) -> dict[str, Any]:
        s = self.settings
        repair = self._parse_failures.get(request, 0) > 0
        messages = script_messages(request, repair=repair)
        options: dict[str, Any] = {
            "model": s.model,
            "messages": messages,
            "response_format": _response_format(mode),
        }
        if s.temperature is not None:
            options["temperature"] = s.temperature
        if s.max_tokens is not None:
            options["max_completion_tokens" if s.official else "max_tokens"] = s.max_tokens
        return options

    async def write_script(self, request: ScriptRequest) -> AsyncIterator[SceneDraft]:
        """Yield the scenes of the script for ``request`` in order, each as soon as its JSON object closes."""
        import openai

        s = self.settings
        try:
            async with open_client(s) as client:
                mode = self._mode()
                try:
                    async for scene in self._answer(client, request, mode):
                        yield scene
                except openai.APIStatusError as error:
                    fallback = s.structured == "auto" and mode == "json_schema"
                    if not (fallback and is_response_format_rejection(error)):
                        raise
                    # The server has no structured outputs: plain JSON mode, described in the prompt.
                    self._schema_rejected = True
                    async for scene in self._answer(client, request, "json_object"):
                        yield scene
        except openai.OpenAIError as error:
            raise to_provider_error(error, s, model=s.model, model_key="model") from None
        except ScriptParseError as error:
            raise self._unreadable(request, str(error)) from None
        self._parse_failures.pop(request, None)
        # The last scene's bookkeeping and closing the client need not suspend: a cancellation that
        # arrived meanwhile lands here, so a cancelled call never ends as if it had finished.
        await anyio.lowlevel.checkpoint()

    async def _answer(
        self, client: openai.AsyncOpenAI, request: ScriptRequest, mode: str
    ) -> AsyncIterator[SceneDraft]:
        parser = SceneStream()
        options = self._options(request, mode)
        refusal: list[str] = []
        finish_reason: str | None = None
        usage: tuple[int, int] | None = None
        if self.settings.stream:
            stream = await client.chat.completions.create(
                **options, stream=True, stream_options={"include_usage": True}
            )
            async with stream:
                async for chunk in stream:
                    usage = _usage(chunk) or usage
                    for choice in chunk.choices:
                        if choice.delta.refusal:
                            refusal.append(choice.delta.refusal)
                        if choice.delta.content:
                            for scene in parser.feed(choice.delta.content):
                                yield scene
                        finish_reason = choice.finish_reason or finish_reason
        else:
            completion = await client.chat.completions.create(**options, stream=False)
            if completion.usage is not None:
                usage = (completion.usage.prompt_tokens, completion.usage.completion_tokens)
            if completion.choices:
                choice = completion.choices[0]
                finish_reason = choice.finish_reason
                if choice.message.refusal:
                    refusal.append(choice.message.refusal)
                for scene in parser.feed(choice.message.content or ""):
                    yield scene
        self._record(usage)
        if refusal:
            raise ProviderError(f"openai: the model refused to write this script: {''.join(refusal)}")
        if finish_reason is None:
            raise ProviderError(
                f"openai: the answer from {self.settings.base_url} stopped before the model finished",
                transient=True,
            )
        if finish_reason == "content_filter":
            raise ProviderError(
                "openai: the answer was stopped by the content filter; change the brief's topic"
            )
        if finish_reason == "length":
            raise ScriptParseError("the answer was cut off at the token limit (raise max_tokens)")
        parser.finish()

    def _unreadable(self, request: ScriptRequest, reason: str) -> ProviderError:
        failures = self._parse_failures.get(request, 0) + 1
        if failures >= 2:
            self._parse_failures.pop(request, None)
            return ProviderError(
                f"openai: model '{self.settings.model}' twice gave a script that cannot be read ({reason}); "
                "try another [providers.openai] model, "
                'or structured = "json_schema" if the server supports it',
                transient=False,
            )
        self._parse_failures[request] = failures
        return ProviderError(
            f"openai: model '{self.settings.model}' gave a script that cannot be read ({reason}); "
            "asking once more",
            transient=True,
        )

    def _record(self, usage: tuple[int, int] | None) -> None:
        if usage is None:
            return
        tokens_in, tokens_out = usage
        price = self.settings.price(self.settings.model)
        cost = (tokens_in * price.input + tokens_out * price.output) / 1_000_000
        record_usage(tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost)


def _usage(chunk: ChatCompletionChunk) -> tuple[int, int] | None:
    if chunk.usage is None:
        return None
    return chunk.usage.prompt_tokens, chunk.usage.completion_tokens
