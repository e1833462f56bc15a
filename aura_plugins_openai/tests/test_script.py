"""The ``openai`` script writer against a local server speaking the chat-completions wire format."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from aura_core import ProviderError, SceneDraft, ScriptRequest
from aura_core.testing import collect_usage
from aura_plugins_openai.llm import OpenAIScriptWriter
from aura_plugins_openai.settings import OpenAISettings

CHAT = "/v1/chat/completions"
Settings = Callable[..., OpenAISettings]
Requests = Callable[..., ScriptRequest]


def expected(fake: Any) -> list[SceneDraft]:
    """The scenes the server's script holds."""
    return [SceneDraft(**scene) for scene in json.loads(fake.script)["scenes"]]


async def collect(writer: OpenAIScriptWriter, request: ScriptRequest) -> list[SceneDraft]:
    """Every scene the writer yields for ``request``."""
    return [scene async for scene in writer.write_script(request)]


async def failure(writer: OpenAIScriptWriter, request: ScriptRequest) -> ProviderError:
    """The ProviderError the writer ends with for ``request``."""
    with pytest.raises(ProviderError) as caught:
        await collect(writer, request)
    return caught.value


@pytest.mark.anyio
async def test_streamed_script_yields_first_scene_before_the_stream_ends(
    fake_openai: Any, make_settings: Settings, script_request: Requests
) -> None:
    """The server holds the stream open right after scene 1's object; the writer must hand scene 1 out then."""
    fake_openai.gate = threading.Event()
    writer = OpenAIScriptWriter(make_settings())
    scenes = writer.write_script(script_request())
    first = await anext(scenes)
    finished_before_first = fake_openai.stream_finished.is_set()
    fake_openai.gate.set()
    rest = [scene async for scene in scenes]
    assert not finished_before_first, "scene 1 came only after the whole stream had been sent"
    assert [first, *rest] == expected(fake_openai)
    assert fake_openai.stream_finished.is_set()
    body = fake_openai.asked(CHAT)[0].json
    assert body["stream"] is True
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True


@pytest.mark.anyio
async def test_prompt_carries_the_brief_and_aspect_rules(
    fake_openai: Any, make_settings: Settings, script_request: Requests
) -> None:
    """Topic, goal, tone, scene count, word target, language and the vertical-video rule reach the model."""
    writer = OpenAIScriptWriter(make_settings())
    await collect(writer, script_request(aspect="9:16", scenes=3))
    text = "\n".join(m["content"] for m in fake_openai.asked(CHAT)[0].json["messages"])
    for needle in (
        "How honeybees share where flowers are",
        "explain the dance",
        "informative",
        "exactly 3 scenes",
    ):
        assert needle in text
    assert "about 75 words" in text
    assert "code 'en'" in text
    assert "vertical (9:16)" in text and "short, punchy lines" in text
    assert "brisk" in text  # pacing = fast


@pytest.mark.anyio
async def test_unstreamed_script_and_usage_with_cost(
    fake_openai: Any, make_settings: Settings, script_request: Requests
) -> None:
    """With stream = false the whole answer is read at once; tokens and the priced cost are recorded."""
    prices = {"test-llm": {"input": 1.0, "output": 2.0}}
    writer = OpenAIScriptWriter(make_settings(stream=False, prices=prices))
    with collect_usage() as usage:
        scenes = await collect(writer, script_request())
    assert scenes == expected(fake_openai)
    assert fake_openai.asked(CHAT)[0].json.get("stream") in (None, False)
    tokens_in, tokens_out = fake_openai.usage
    assert usage["tokens_in"] == tokens_in
    assert usage["tokens_out"] == tokens_out
    assert usage["cost_usd"] == pytest.approx((tokens_in * 1.0 + tokens_out * 2.0) / 1e6)


@pytest.mark.anyio
async def test_streamed_usage_is_recorded(
    fake_openai: Any, make_settings: Settings, script_request: Requests
) -> None:
    """The usage chunk at the end of a stream is recorded (stream_options include_usage is asked for)."""
    writer = OpenAIScriptWriter(make_settings())
    with collect_usage() as usage:
        await collect(writer, script_request())
    assert fake_openai.asked(CHAT)[0].json["stream_options"] == {"include_usage": True}
    assert (usage["tokens_in"], usage["tokens_out"]) == fake_openai.usage


@pytest.mark.anyio
async def test_rate_limit_is_transient_with_retry_after(
    fake_openai: Any, make_settings: Settings, script_request: Requests
) -> None:
    """429 with Retry-After: 7 ends as a transient ProviderError with retry_after 7.0, made in one request."""
    fake_openai.fail(CHAT, status=429, headers={"Retry-After": "7"}, message="Rate limit reached")
    error = await failure(OpenAIScriptWriter(make_settings()), script_request())
    assert error.transient is True
    assert error.retry_after == 7.0
    assert "rate limited (429)" in error.message and "Rate limit reached" in error.message
    assert len(fake_openai.asked(CHAT)) == 1, "the SDK retried on its own: max_retries must be 0"


@pytest.mark.anyio
@pytest.mark.parametrize("status", [409, 425])
async def test_conflict_and_too_early_are_transient(
    fake_openai: Any, make_settings: Settings, script_request: Requests, status: int
) -> None:
    """409 and 425 may pass by sending the request again: transient, with the server's Retry-After."""
    fake_openai.fail(CHAT, status=status, headers={"Retry-After": "3"}, message="Try again later")
    error = await failure(OpenAIScriptWriter(make_settings()), script_request())
    assert error.transient is True
    assert error.retry_after == 3.0
    assert f"({status})" in error.message and "Try again later" in error.message


@pytest.mark.anyio
async def test_insufficient_quota_is_permanent(
    fake_openai: Any, make_settings: Settings, script_request: Requests
) -> None:
    """A 429 whose code is insufficient_quota will not pass by waiting: permanent, pointing at billing."""
    fake_openai.fail(CHAT, status=429, code="insufficient_quota", message="You exceeded your current quota")
    error = await failure(OpenAIScriptWriter(make_settings()), script_request())
    assert error.transient is False
    assert "billing" in error.message


@pytest.mark.anyio
async def test_server_error_is_transient(
    fake_openai: Any, make_settings: Settings, script_request: Requests
) -> None:
    """A 500 ends as a transient ProviderError naming the status, made in a single request."""
    fake_openai.fail(CHAT, status=500, message="The server had an error")
    error = await failure(OpenAIScriptWriter(make_settings()), script_request())
    assert error.transient is True
    assert error.retry_after is None
    assert "server error (500)" in error.message
    assert len(fake_openai.asked(CHAT)) == 1


@pytest.mark.anyio
async def test_dropped_connection_mid_stream_is_transient_after_early_scenes(
    fake_openai: Any, make_settings: Settings, script_request: Requests
) -> None:
    """The server closes the socket part-way: the scenes read so far arrive, then a transient error."""
    fake_openai.fail(CHAT, drop_after_chunks=20)  # 20 x 9 characters: past scene 1, before the end
    writer = OpenAIScriptWriter(make_settings())
    got: list[SceneDraft] = []

    async def read_all() -> None:
        async for scene in writer.write_script(script_request()):
            got.append(scene)

    with pytest.raises(ProviderError) as caught:
        await read_all()
    assert caught.value.transient is True
    assert "connection" in caught.value.message
    assert got == expected(fake_openai)[: len(got)] and 1 <= len(got) < 3


@pytest.mark.anyio
async def test_malformed_script_is_transient_once_then_permanent(
    fake_openai: Any, make_settings: Settings, script_request: Requests
) -> None:
    """An unreadable answer fails transiently, the retry asks for JSON only, and a second one is permanent."""
    broken = '{"scenes": [{"heading": "A", "narration": "Fine.", "visual_prompt": "x"}, {"heading": oops}]}'
    fake_openai.fail(CHAT, content=broken)
    fake_openai.fail(CHAT, content="Sure! Here is a script about bees.")
    writer = OpenAIScriptWriter(make_settings())
    request = script_request()
    first = await failure(writer, request)
    second = await failure(writer, request)
    assert (first.transient, second.transient) == (True, False)
    assert "scene 2 is not valid JSON" in first.message
    assert "twice" in second.message and "model" in second.message
    first_messages, second_messages = (r.json["messages"] for r in fake_openai.asked(CHAT))
    assert len(second_messages) == len(first_messages) + 1
    assert "could not be read" in second_messages[-1]["content"]
    # After the permanent failure the count starts over: a good answer now succeeds.
    assert await collect(writer, request) == expected(fake_openai)


@pytest.mark.anyio
async def test_one_bad_answer_then_a_good_one_succeeds(
    fake_openai: Any, make_settings: Settings, script_request: Requests
) -> None:
    """The repair attempt that reads well yields the script, and the next bad answer is transient again."""
    fake_openai.fail(CHAT, content='{"scenes": [')
    writer = OpenAIScriptWriter(make_settings())
    request = script_request()
    assert (await failure(writer, request)).transient is True
    assert await collect(writer, request) == expected(fake_openai)
    fake_openai.fail(CHAT, content="not json")
    assert (await failure(writer, request)).transient is True


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [True, False])
async def test_refusal_is_permanent_with_its_text(
    fake_openai: Any, make_settings: Settings, script_request: Requests, stream: bool
) -> None:
    """A refusal (streamed or not) ends as a permanent error that quotes the model's words."""
    fake_openai.fail(CHAT, refusal="I can't help with that request.")
    error = await failure(OpenAIScriptWriter(make_settings(stream=stream)), script_request())
    assert error.transient is False
    assert "refused" in error.message and "I can't help with that request." in error.message


@pytest.mark.anyio
async def test_json_schema_rejection_falls_back_to_json_object(
    fake_openai: Any, make_settings: Settings, script_request: Requests
) -> None:
    """A 400 about response_format makes the writer ask again in json_object mode, and remember it."""
    fake_openai.fail(CHAT, reject_json_schema=True)
    writer = OpenAIScriptWriter(make_settings())
    assert await collect(writer, script_request()) == expected(fake_openai)
    assert await collect(writer, script_request()) == expected(fake_openai)
    formats = [r.json["response_format"]["type"] for r in fake_openai.asked(CHAT)]
    assert formats == ["json_schema", "json_object", "json_object"]


@pytest.mark.anyio
async def test_json_schema_rejection_is_permanent_when_schema_is_required(
    fake_openai: Any, make_settings: Settings, script_request: Requests
) -> None:
    """With structured = "json_schema" there is no fallback: the 400 is a permanent error."""
    fake_openai.fail(CHAT, reject_json_schema=True)
    error = await failure(OpenAIScriptWriter(make_settings(structured="json_schema")), script_request())
    assert error.transient is False
    assert "(400)" in error.message and "response_format" in error.message


@pytest.mark.anyio
async def test_unknown_model_is_permanent_and_names_the_setting(
    fake_openai: Any, make_settings: Settings, script_request: Requests
) -> None:
    """A 404 for the model says which setting to fix."""
    error = await failure(OpenAIScriptWriter(make_settings(model="no-such-model")), script_request())
    assert error.transient is False
    assert "unknown model 'no-such-model' (404)" in error.message
    assert "[providers.openai] model" in error.message


@pytest.mark.anyio
async def test_unreachable_server_is_transient(make_settings: Settings, script_request: Requests) -> None:
    """Nothing listening on the port: a transient connection error."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    writer = OpenAIScriptWriter(make_settings(base_url=f"http://127.0.0.1:{port}/v1"))
    error = await failure(writer, script_request())
    assert error.transient is True
    assert f"127.0.0.1:{port}" in error.message
