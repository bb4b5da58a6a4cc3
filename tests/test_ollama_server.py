"""The fake Ollama server speaks the protocol the REAL official client expects.

Why: production code reaches Ollama only through ``ollama.AsyncClient`` / ``ollama.Client``,
and its error handling depends on exactly which exception each failure produces. These
tests pin both sides: the fake's responses parse into the client's types, and every failure
mode ends in a known exception. The exceptions, as measured here (ollama 0.6.3, httpx 0.28):

========================================  =================================================
failure                                   what the client raises
========================================  =================================================
server down, plain call                   builtin ``ConnectionError``
server down, streaming call               ``httpx.ConnectError`` at the first chunk (not a
                                          ``ConnectionError``; creating the stream is silent)
unknown model (plain or stream)           ``ollama.ResponseError``, ``status_code == 404``
scripted HTTP status N                    ``ollama.ResponseError``, ``status_code == N``
error line mid-stream                     ``ollama.ResponseError``, ``status_code == -1``,
                                          after the earlier chunks were yielded
stall, ``AsyncClient(host, timeout=t)``   ``httpx.ReadTimeout`` (stream or not)
connection closed mid-stream              ``httpx.RemoteProtocolError``: "peer closed
                                          connection without sending complete message body
                                          (incomplete chunked read)"
connection closed before any response     ``httpx.RemoteProtocolError``: "Server
                                          disconnected without sending a response."
server killed mid-stream (``down()``)     ``httpx.RemoteProtocolError`` (incomplete chunked
                                          read) as well
========================================  =================================================

``httpx.ConnectError``, ``httpx.ReadTimeout`` and ``httpx.RemoteProtocolError`` all derive
from ``httpx.TransportError``; ``ollama.ResponseError`` and ``ConnectionError`` do not.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import ollama
import pytest

from testing.ollama import (
    FakeOllama,
    Reply,
    fake_ollama_in_thread,
    hash_embedding,
    split_text,
    unused_url,
)

MODEL = "llama3.2"
EMBED_MODEL = "nomic-embed-text"
MESSAGES = [
    {"role": "system", "content": "You write small web pages."},
    {"role": "user", "content": "A lunch menu for Friday, please."},
]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "items": {"type": "array"}},
    "required": ["title", "items"],
}


@pytest.fixture
async def server() -> AsyncIterator[FakeOllama]:
    async with FakeOllama(models=[MODEL]) as fake:
        fake.add_model(EMBED_MODEL, capabilities=("embedding",), family="nomic-bert")
        yield fake


@pytest.fixture
async def client(server: FakeOllama) -> AsyncIterator[ollama.AsyncClient]:
    client = ollama.AsyncClient(host=server.url, timeout=5)
    yield client
    await client.close()


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# --------------------------------------------------------------------------- happy paths


async def test_list_show_version_and_ps(server: FakeOllama, client: ollama.AsyncClient) -> None:
    listed = await client.list()
    assert [m.model for m in listed.models] == ["llama3.2:latest", "nomic-embed-text:latest"]
    first = listed.models[0]
    assert first.size and first.size > 1_000_000
    assert first.digest and len(first.digest) == 64
    assert first.details and first.details.family == "llama"
    assert first.details.quantization_level == "Q4_K_M"
    assert first.modified_at is not None

    shown = await client.show(MODEL)
    assert shown.capabilities == ["completion"]
    assert shown.modelinfo and shown.modelinfo["llama.context_length"] == 131072
    assert (await client.show(EMBED_MODEL)).capabilities == ["embedding"]

    async with httpx.AsyncClient(base_url=server.url) as raw:
        assert (await raw.get("/api/version")).json() == {"version": server.version}
        assert (await raw.get("/")).text == "Ollama is running"
        tags = (await raw.get("/api/tags")).json()
        assert tags["models"][0]["name"] == "llama3.2:latest"  # the field the client drops
        assert (await raw.get("/api/nope")).status_code == 404

    assert (await client.ps()).models == []
    server.script(MODEL, "hi")
    await client.chat(MODEL, messages=MESSAGES)
    assert [m.model for m in (await client.ps()).models] == ["llama3.2:latest"]


async def test_chat_non_stream_records_what_was_sent(
    server: FakeOllama, client: ollama.AsyncClient
) -> None:
    text = '{"title": "Friday lunch", "items": ["soup", "bread"]}'
    server.script(MODEL, text)

    reply = await client.chat(
        MODEL,
        messages=MESSAGES,
        format=SCHEMA,
        options={"num_ctx": 8192, "temperature": 0.2},
        keep_alive="10m",
    )

    assert reply.message.role == "assistant"
    assert reply.message.content == text
    assert reply.done is True and reply.done_reason == "stop"
    assert reply.model == MODEL
    assert reply.eval_count == len(split_text(text))
    assert reply.prompt_eval_count == math.ceil(sum(len(m["content"]) for m in MESSAGES) / 4)
    assert reply.total_duration == (
        reply.load_duration + reply.prompt_eval_duration + reply.eval_duration  # type: ignore[operator]
    )
    sent = server.requests_to("/api/chat")[0]
    assert sent["format"] == SCHEMA
    assert sent["options"] == {"num_ctx": 8192, "temperature": 0.2}
    assert sent["messages"] == MESSAGES
    assert sent["stream"] is False and sent["keep_alive"] == "10m"
    assert server.last("/api/chat").outcome == "completed"
    assert server.pending() == 0


async def test_chat_stream_yields_pieces_then_a_final_count(
    server: FakeOllama, client: ollama.AsyncClient
) -> None:
    text = "Here is your lunch menu: soup, bread and an apple."
    server.script(MODEL, text)

    parts = [part async for part in await client.chat(MODEL, messages=MESSAGES, stream=True)]

    assert len(parts) == len(split_text(text)) + 1
    assert all(p.done is False for p in parts[:-1])
    assert "".join(p.message.content or "" for p in parts) == text
    final = parts[-1]
    assert final.done is True and final.done_reason == "stop"
    assert final.message.content == ""
    assert final.eval_count == len(parts) - 1
    assert final.prompt_eval_count and final.prompt_eval_duration and final.eval_duration
    assert final.total_duration and final.load_duration
    assert server.requests_to("/api/chat")[0]["stream"] is True


async def test_explicit_chunks_thinking_and_delay(
    server: FakeOllama, client: ollama.AsyncClient
) -> None:
    server.script(
        MODEL, [{"thinking": "Menus need a title."}, "Fri", "day", " menu"], delay_per_chunk=0.05
    )
    started = time.monotonic()
    parts = [part async for part in await client.chat(MODEL, messages=MESSAGES, stream=True)]
    assert time.monotonic() - started >= 0.15
    assert parts[0].message.thinking == "Menus need a title."
    assert [p.message.content for p in parts] == ["", "Fri", "day", " menu", ""]

    server.script(MODEL, Reply(chunks=[{"thinking": "ok"}, "A", "B"]))
    whole = await client.chat(MODEL, messages=MESSAGES)
    assert (whole.message.content, whole.message.thinking) == ("AB", "ok")


async def test_generate_stream_and_plain(server: FakeOllama, client: ollama.AsyncClient) -> None:
    server.script(MODEL, "print('hello')", chunk_size=2)
    parts = [
        part
        async for part in await client.generate(
            MODEL, prompt="Write hello world", system="Python only", stream=True
        )
    ]
    assert "".join(p.response for p in parts) == "print('hello')"
    assert len(parts) > 3 and parts[-1].done and parts[-1].done_reason == "stop"
    assert parts[-1].context and parts[-1].eval_count == len(parts) - 1
    sent = server.requests_to("/api/generate")[0]
    assert (sent["prompt"], sent["system"], sent["stream"]) == (
        "Write hello world",
        "Python only",
        True,
    )

    server.script(MODEL, '{"ok": true}')
    plain = await client.generate(MODEL, prompt="x", format="json")
    assert plain.response == '{"ok": true}' and plain.done
    assert server.requests_to("/api/generate")[1]["format"] == "json"


async def test_stream_is_the_default_as_in_ollama(server: FakeOllama) -> None:
    server.script(MODEL, "one two three")
    async with httpx.AsyncClient(base_url=server.url) as raw:
        response = await raw.post("/api/chat", json={"model": MODEL, "messages": MESSAGES})
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = response.text.splitlines()
    assert len(lines) > 2 and '"done": true' in lines[-1]


async def test_num_predict_cuts_with_length_and_load_only_requests(
    server: FakeOllama, client: ollama.AsyncClient
) -> None:
    server.script(MODEL, "a b c d e f")
    reply = await client.chat(MODEL, messages=MESSAGES, options={"num_predict": 2})
    assert (reply.message.content, reply.done_reason, reply.eval_count) == ("a b", "length", 2)

    server.script(MODEL, "x")
    big = [{"role": "user", "content": "y" * 100_000}]
    reply = await client.chat(MODEL, messages=big, options={"num_ctx": 2048})
    assert reply.prompt_eval_count == 2048  # Ollama truncates the prompt to the context

    # Warm-up and unload calls consume no script.
    loaded = await client.chat(MODEL, messages=[])
    assert (loaded.done, loaded.done_reason) == (True, "load")
    unloaded = await client.generate(MODEL, prompt="", keep_alive=0)
    assert unloaded.done_reason == "unload"
    assert (await client.ps()).models == []


async def test_responder_answers_by_content(server: FakeOllama, client: ollama.AsyncClient) -> None:
    def respond(body: dict[str, Any]) -> str:
        question = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
        return f"You said: {question}"

    server.responder = respond
    server.script(MODEL, "scripted first")
    first = await client.chat(MODEL, messages=[{"role": "user", "content": "hi"}])
    second = await client.chat(MODEL, messages=[{"role": "user", "content": "hello"}])
    assert (first.message.content, second.message.content) == ("scripted first", "You said: hello")

    async def slow(body: dict[str, Any]) -> Reply:
        await asyncio.sleep(0)
        return Reply(chunks=["async"], done_reason="stop")

    server.responder = slow
    assert (await client.generate(MODEL, prompt="p")).response == "async"

    server.responder = None
    with pytest.raises(ollama.ResponseError, match="nothing scripted") as caught:
        await client.chat(MODEL, messages=MESSAGES)
    assert caught.value.status_code == 500


async def test_embed_string_list_dimensions_and_legacy(
    server: FakeOllama, client: ollama.AsyncClient
) -> None:
    one = await client.embed(EMBED_MODEL, input="Where is the canteen?")
    assert len(one.embeddings) == 1 and len(one.embeddings[0]) == server.embedding_dim
    assert one.model == EMBED_MODEL and one.prompt_eval_count

    passages = ["The canteen is on the ground floor.", "Parking is behind building B."]
    many = await client.embed(EMBED_MODEL, input=passages)
    assert len(many.embeddings) == 2
    query = list(one.embeddings[0])
    canteen, parking = (list(v) for v in many.embeddings)
    assert cosine(query, canteen) > cosine(query, parking)  # shared words rank first
    assert query == hash_embedding("Where is the canteen?", server.embedding_dim)
    assert math.isclose(cosine(query, query), 1.0)

    short = await client.embed(EMBED_MODEL, input="x", dimensions=8)
    assert len(short.embeddings[0]) == 8
    assert server.requests_to("/api/embed")[1]["input"] == passages

    legacy = await client.embeddings(EMBED_MODEL, prompt="Where is the canteen?")
    assert list(legacy.embedding) == query

    server.embedder = lambda texts: [[float(len(t)), 0.0] for t in texts]
    assert (await client.embed(EMBED_MODEL, input=["abc"])).embeddings == [[3.0, 0.0]]

    server.fail_next("/api/embed", status=503, error="server busy")
    with pytest.raises(ollama.ResponseError, match="server busy") as caught:
        await client.embed(EMBED_MODEL, input="x")
    assert caught.value.status_code == 503


# --------------------------------------------------------------------------- failures


async def test_unknown_model_is_a_404_response_error(client: ollama.AsyncClient) -> None:
    with pytest.raises(ollama.ResponseError) as plain:
        await client.chat("mistral", messages=MESSAGES)
    assert plain.value.status_code == 404
    assert plain.value.error == 'model "mistral" not found, try pulling it first'

    stream = await client.chat("mistral", messages=MESSAGES, stream=True)
    with pytest.raises(ollama.ResponseError) as streamed:
        await anext(stream)
    assert streamed.value.status_code == 404

    for call in (
        client.generate("mistral", prompt="x"),
        client.embed("mistral", input="x"),
        client.show("mistral"),
    ):
        with pytest.raises(ollama.ResponseError) as other:
            await call
        assert other.value.status_code == 404


async def test_embedding_model_cannot_chat(client: ollama.AsyncClient) -> None:
    with pytest.raises(ollama.ResponseError, match="does not support chat") as caught:
        await client.chat(EMBED_MODEL, messages=MESSAGES)
    assert caught.value.status_code == 400


async def test_scripted_status_is_a_response_error(
    server: FakeOllama, client: ollama.AsyncClient
) -> None:
    server.script(MODEL, status=500)
    with pytest.raises(ollama.ResponseError) as plain:
        await client.chat(MODEL, messages=MESSAGES)
    assert plain.value.status_code == 500
    assert "llama runner process has terminated" in plain.value.error

    server.script(MODEL, status=503, error="busy")
    stream = await client.chat(MODEL, messages=MESSAGES, stream=True)
    with pytest.raises(ollama.ResponseError, match="busy") as streamed:
        await anext(stream)
    assert streamed.value.status_code == 503


async def test_error_line_mid_stream(server: FakeOllama, client: ollama.AsyncClient) -> None:
    server.script(MODEL, "one two three four", error_after=2, error="out of memory")
    seen: list[str] = []
    with pytest.raises(ollama.ResponseError) as caught:
        async for part in await client.chat(MODEL, messages=MESSAGES, stream=True):
            seen.append(part.message.content or "")
    assert caught.value.status_code == -1
    assert caught.value.error == "out of memory"
    assert seen == split_text("one two three four")[:2]
    assert server.last("/api/chat").outcome == "error_line"

    # Not streaming, the same failure is an HTTP 500.
    server.script(MODEL, "one two", error_after=1)
    with pytest.raises(ollama.ResponseError) as plain:
        await client.chat(MODEL, messages=MESSAGES)
    assert plain.value.status_code == 500


async def test_hang_gives_read_timeout(server: FakeOllama) -> None:
    client = ollama.AsyncClient(host=server.url, timeout=0.5)
    server.script(MODEL, "one two three", hang_after=2)
    seen = 0
    with pytest.raises(httpx.ReadTimeout):
        async for _part in await client.chat(MODEL, messages=MESSAGES, stream=True):
            seen += 1
    assert seen == 2
    record = server.last("/api/chat")
    await server.wait_until(lambda: record.outcome == "client_disconnected", timeout=2)

    server.script(MODEL, "one", hang_after=0)
    with pytest.raises(httpx.ReadTimeout):
        await client.generate(MODEL, prompt="x")
    await client.close()


async def test_connection_closed_mid_stream(server: FakeOllama, client: ollama.AsyncClient) -> None:
    server.script(MODEL, "one two three four", close_after=2)
    seen = 0
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
        async for _part in await client.chat(MODEL, messages=MESSAGES, stream=True):
            seen += 1
    assert seen == 2
    assert server.last("/api/chat").outcome == "connection_closed"

    server.script(MODEL, "one two", close_after=1)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        await client.chat(MODEL, messages=MESSAGES)

    # The client recovers on a new connection.
    server.script(MODEL, "fine")
    assert (await client.chat(MODEL, messages=MESSAGES)).message.content == "fine"


async def test_server_down_at_start() -> None:
    client = ollama.AsyncClient(host=unused_url(), timeout=2)
    with pytest.raises(ConnectionError, match="Failed to connect to Ollama"):
        await client.list()
    with pytest.raises(ConnectionError):
        await client.chat(MODEL, messages=MESSAGES)

    stream = await client.chat(MODEL, messages=MESSAGES, stream=True)  # no connection yet
    with pytest.raises(httpx.ConnectError) as caught:
        await anext(stream)
    assert not isinstance(caught.value, ConnectionError)
    await client.close()


async def test_down_then_up_on_the_same_port(
    server: FakeOllama, client: ollama.AsyncClient
) -> None:
    url = server.url
    assert (await client.list()).models  # leaves a pooled keep-alive connection

    await server.down()
    assert not server.is_up
    with pytest.raises(ConnectionError):
        await client.list()
    with pytest.raises(httpx.ConnectError):
        await anext(await client.chat(MODEL, messages=MESSAGES, stream=True))

    await server.up()
    assert server.url == url
    server.script(MODEL, "back")
    assert (await client.chat(MODEL, messages=MESSAGES)).message.content == "back"


async def test_server_killed_mid_stream(server: FakeOllama, client: ollama.AsyncClient) -> None:
    server.script(MODEL, "one two three four five six", delay_per_chunk=0.1)
    stream = await client.chat(MODEL, messages=MESSAGES, stream=True)
    first = await anext(stream)
    assert first.message.content == "one"
    await server.down()
    with pytest.raises(httpx.RemoteProtocolError):
        async for _part in stream:
            pass
    assert server.last("/api/chat").outcome == "server_down"


async def test_client_cancelling_a_stream_is_observed(
    server: FakeOllama, client: ollama.AsyncClient
) -> None:
    server.script(MODEL, "word " * 50, delay_per_chunk=0.02)
    stream = await client.chat(MODEL, messages=MESSAGES, stream=True)
    await anext(stream)
    await anext(stream)
    await stream.aclose()  # what cancelling a generation does to the connection
    record = await server.wait_for_request("/api/chat")
    await server.wait_until(lambda: record.outcome == "client_disconnected", timeout=2)
    assert record.chunks_sent < 50


def test_sync_client_against_a_threaded_server() -> None:
    with fake_ollama_in_thread(models=[MODEL]) as server:
        client = ollama.Client(host=server.url, timeout=2)
        assert [m.model for m in client.list().models] == ["llama3.2:latest"]

        server.script(MODEL, "sync reply")
        assert client.chat(MODEL, messages=MESSAGES).message.content == "sync reply"
        server.script(MODEL, "streamed reply")
        parts = list(client.chat(MODEL, messages=MESSAGES, stream=True))
        assert "".join(p.message.content or "" for p in parts) == "streamed reply"
        assert parts[-1].done
        assert len(client.embed(MODEL, input=["a", "b"]).embeddings) == 2

        server.script(MODEL, "one two three", error_after=1)
        with pytest.raises(ollama.ResponseError) as caught:
            list(client.chat(MODEL, messages=MESSAGES, stream=True))
        assert caught.value.status_code == -1

        server.script(MODEL, "one two three", close_after=1)
        with pytest.raises(httpx.RemoteProtocolError):
            list(client.chat(MODEL, messages=MESSAGES, stream=True))

        server.run_blocking(server.down())
        with pytest.raises(ConnectionError):
            client.list()
        with pytest.raises(httpx.ConnectError):
            next(client.chat(MODEL, messages=MESSAGES, stream=True))
        client.close()
