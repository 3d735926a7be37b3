"""Attacks from outside: a hostile server on 127.0.0.1 that echoes the key in disguise,
sends error bodies as big as any answer, and a ``base_url`` that would corrupt the
request line. Each test failed before the fix it names.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import pickle
import threading
import traceback
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any
from urllib.parse import quote

import pytest

from payi_async import APIError, APIStatusError, AsyncPayi, _boundary, _converter, _resources

KEY = "sk-attack/canary+key=0123456789"
OTHER = "sk-extra/header+key=9876543210"

Script = Callable[[bytes], bytes]


def answer(status: int, body: bytes, headers: tuple[tuple[bytes, bytes], ...] = ()) -> bytes:
    """A complete HTTP/1.1 answer."""
    head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return b"HTTP/1.1 %d X\r\n%sContent-Length: %d\r\n\r\n%s" % (status, head, len(body), body)


class Hostile:
    """A keep-alive server on 127.0.0.1 answering every request with ``script(head)``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.heads: list[bytes] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                self.heads.append(head)
                writer.write(self.script(head))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def hostile() -> AsyncIterator[Callable[[Script], Hostile]]:
    servers: list[Hostile] = []

    def make(script: Script) -> Hostile:
        server = Hostile(script)
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop()


def reachable(error: BaseException, secret: str) -> list[str]:
    """Every place ``secret`` is reachable from ``error``'s graph (SDK frames only)."""
    found: list[str] = []
    seen: set[int] = set()
    node: BaseException | None = error
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        for label, text in (
            ("str", str(node)),
            ("repr", repr(node)),
            ("args", repr(node.args)),
            ("attributes", repr(vars(node))),
        ):
            if secret in text:
                found.append(f"{type(node).__name__}.{label}")
        if secret.encode() in pickle.dumps(node):
            found.append(f"{type(node).__name__}.pickle")
        tb = node.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if "payi_async" in frame.f_code.co_filename:
                for name, value in frame.f_locals.items():
                    if secret in repr(value):
                        found.append(f"{frame.f_code.co_name}.{name}")
            tb = tb.tb_next
        node = node.__cause__ or node.__context__
    return found


async def failing_call(
    url: str, *, extra_headers: Mapping[str, str] | None = None
) -> APIStatusError:
    async with AsyncPayi(api_key=KEY, base_url=url, max_retries=0) as client:
        with pytest.raises(APIStatusError) as caught:
            await client.categories.resources.retrieve(
                resource_id="r", category="c", resource="m", extra_headers=extra_headers
            )
    return caught.value


def json_escapes(secret: str, chars: str) -> bytes:
    """``secret`` as JSON text with ``chars`` written as ``\\uXXXX`` (as .NET's encoder
    writes ``+``) and ``/`` as ``\\/``."""
    out = "".join(f"\\u{ord(c):04X}" if c in chars else c for c in secret)
    return out.replace("/", "\\/").encode()


@pytest.mark.parametrize(
    "echo",
    [
        pytest.param(json_escapes(KEY, "+"), id="dotnet-plus-and-slash"),
        pytest.param(json_escapes(KEY, KEY), id="every-char-escaped"),
        pytest.param(json_escapes(KEY, "s"), id="one-letter-escaped"),
    ],
)
async def test_a_key_echoed_json_escaped_in_an_error_body_is_masked(
    hostile: Callable[[Script], Hostile], echo: bytes
) -> None:
    """Fixed: masking matched only the raw bytes, so an escaped echo decoded to the key."""
    detail = b'{"' + echo + b'": [1, "' + echo + b'"]}'
    body = b'{"message": "bad key ' + echo + b'", "detail": ' + detail + b"}"
    server = hostile(lambda head: answer(401, body))
    await server.start()
    error = await failing_call(server.url)
    assert "bad key ***" in str(error)
    assert reachable(error, KEY) == []


async def test_a_key_echoed_json_escaped_in_a_2xx_body_is_masked(
    hostile: Callable[[Script], Hostile],
) -> None:
    body = b'{"items": [{"note": "' + json_escapes(KEY, "+") + b'"}], "has_more": false}'
    server = hostile(lambda head: answer(200, body))
    await server.start()
    async with AsyncPayi(api_key=KEY, base_url=server.url, max_retries=0) as client:
        response = await client.categories.with_raw_response.list()
        data = await response.json()
    assert data["items"][0]["note"] == "***"


@pytest.mark.parametrize("lower", [False, True], ids=["upper-hex", "lower-hex"])
async def test_a_key_echoed_percent_encoded_in_a_redirect_or_header_is_masked(
    hostile: Callable[[Script], Hostile], lower: bool
) -> None:
    """Fixed: ``%2F``/``%2B`` forms of the key went through in Location and headers."""
    encoded = quote(KEY, safe="")
    if lower:
        encoded = encoded.replace("%2F", "%2f").replace("%2B", "%2b").replace("%3D", "%3d")
    location = b"http://127.0.0.2/login?key=" + encoded.encode()
    server = hostile(
        lambda head: answer(302, b"", ((b"Location", location), (b"Set-Cookie", b"k=" + location)))
    )
    await server.start()
    error = await failing_call(server.url)
    assert "login?key=***" in str(error)
    for secret in (KEY, encoded):
        assert reachable(error, secret) == []
    assert encoded not in str(error.headers)


async def test_an_extra_headers_key_echoed_escaped_is_masked(
    hostile: Callable[[Script], Hostile],
) -> None:
    body = b'{"message": "who is ' + json_escapes(OTHER, "+") + b'"}'
    server = hostile(lambda head: answer(403, body))
    await server.start()
    error = await failing_call(server.url, extra_headers={"XPROXY-API-KEY": OTHER})
    assert b"XPROXY-API-KEY: " + OTHER.encode() in server.heads[0]
    assert KEY.encode() not in server.heads[0]
    assert "who is ***" in str(error)
    # The caller's own argument (README: "of course, in the arguments of your own call").
    assert [p for p in reachable(error, OTHER) if not p.endswith(".extra_headers")] == []


async def test_a_large_error_body_is_decoded_off_the_event_loop(
    hostile: Callable[[Script], Hostile], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fixed: a non-2xx body (up to ``max_response_bytes``) was decoded on the loop: a
    10 MB one stalled it ~1.5 s, where a 2xx body of that size goes to a worker thread."""
    threads: list[threading.Thread] = []
    decode = _converter.decode_json

    def spy(raw: bytes, *, yielding: bool = False) -> object:
        threads.append(threading.current_thread())
        return decode(raw, yielding=yielding)

    monkeypatch.setattr(_boundary, "decode_json", spy)
    body = json.dumps({"message": "overloaded", "trace": [[1.5] * 8] * 40_000}).encode()
    assert len(body) > 1024 * 1024
    server = hostile(lambda head: answer(503, body))
    await server.start()
    error = await failing_call(server.url)
    assert "overloaded" in str(error)
    assert threads and threading.main_thread() not in threads
    threads.clear()
    small = hostile(lambda head: answer(409, b'{"message": "exists", "request_id": "r-1"}'))
    await small.start()
    error = await failing_call(small.url)
    assert "exists" in str(error)
    assert error.request_id == "r-1"
    assert threads == [threading.main_thread()]  # a small one stays on the loop: cheap


@pytest.mark.parametrize(
    "suffix",
    [
        "/p\r\nX-Injected: 1",
        "/ p",
        "/p\t",
        "/p\x00",
        "/\u00e9",
        "/a\\b",
        "/../api",
        "/v1/.",
    ],
)
async def test_a_base_url_that_would_corrupt_the_request_line_is_refused(suffix: str) -> None:
    """Fixed: these were accepted and sent as-is (``GET / p/api/...``, a CRLF silently
    dropped into another path, a NUL failing only at send time)."""
    with pytest.raises(ValueError, match="base_url"):
        AsyncPayi(api_key=KEY, base_url="http://127.0.0.1:9" + suffix)


def test_masking_covers_each_echo_form_and_leaves_other_text_alone() -> None:
    secrets = _boundary.Secrets()
    secrets.add(KEY)
    for form in (KEY, quote(KEY, safe=""), quote(KEY), json.dumps(KEY)[1:-1].replace("/", "\\/")):
        assert secrets.text(f"<{form}>") == "<***>"
        assert secrets.body(f"<{form}>".encode()) == b"<***>"
    assert secrets.text("sk-attack canary key") == "sk-attack canary key"
    for offset in range(3):
        inside = base64.b64encode(b"u" * offset + KEY.encode()).decode()
        assert "***" in secrets.text(inside)
        other = base64.b64encode(b"u" * offset + OTHER.encode()).decode()
        assert secrets.text(other) == other
    nested: object = json.loads('{"a": [[{"' + json_escapes(KEY, "+").decode() + '": "x"}]]}')
    assert secrets.data(nested) == {"a": [[{"***": "x"}]]}


def test_no_secret_in_a_traceback_rendered_with_locals_after_an_escaped_echo() -> None:
    """The blocking client too: the error crossing the portal thread keeps no key."""
    from payi_sync import Payi

    loop = asyncio.new_event_loop()
    body = b'{"message": "' + json_escapes(KEY, "+") + b'"}'
    server = Hostile(lambda head: answer(400, body))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        with (
            Payi(api_key=KEY, base_url=server.url, max_retries=0) as client,
            pytest.raises(APIStatusError) as caught,
        ):
            client.categories.resources.retrieve(resource_id="r", category="c", resource="m")
        error = caught.value
        rendered = "".join(
            traceback.TracebackException.from_exception(error, capture_locals=True).format()
        )
        assert "***" in str(error)
        assert reachable(error, KEY) == []
        assert KEY not in rendered
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.mark.parametrize("mode", ["plain", "list", "raw", "streaming"])
async def test_a_large_valid_answer_builds_its_models_off_the_event_loop(
    hostile: Callable[[Script], Hostile], monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Fixed: only the JSON decoding of a large body left the loop; building its models
    did not: a valid 8.6 MB page of 200,000 categories stalled the loop ~1.5 s."""
    threads: list[threading.Thread] = []
    structure = _converter.structure_body
    structure_page = _converter.structure_page

    def spy_body(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return structure(*args, **kwargs)

    def spy_page(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return structure_page(*args, **kwargs)

    monkeypatch.setattr(_resources, "structure_body", spy_body)
    monkeypatch.setattr(_resources, "structure_page", spy_page)
    version = {
        "resource_id": "r",
        "category": "c",
        "resource": "m",
        "units": {"text": {"input_price": 1.0, "output_price": 2.0}},
        "description": "d" * (1100 * 1024),
    }
    page = {"items": [{"category": f"c{i}"} for i in range(60_000)], "has_more": False}
    body = json.dumps(page if mode == "list" else version).encode()
    assert len(body) > 1024 * 1024
    server = hostile(lambda head: answer(200, body))
    await server.start()
    async with AsyncPayi(api_key=KEY, base_url=server.url, max_retries=0) as client:
        resources = client.categories.resources
        if mode == "plain":
            result: Any = await resources.retrieve(resource_id="r", category="c", resource="m")
            assert result.resource_id == "r"
        elif mode == "list":
            names = [category.category async for category in client.categories.list()]
            assert len(names) == 60_000
        elif mode == "raw":
            raw = await resources.with_raw_response.retrieve(
                resource_id="r", category="c", resource="m"
            )
            assert (await raw.parse()).resource_id == "r"
        else:
            async with resources.with_streaming_response.retrieve(
                resource_id="r", category="c", resource="m"
            ) as streamed:
                assert (await streamed.parse()).resource_id == "r"
    assert threads and threading.main_thread() not in threads


@pytest.mark.parametrize("status", [400, 200])
async def test_an_error_holding_a_deeply_nested_body_pickles_and_round_trips(
    hostile: Callable[[Script], Hostile], status: int
) -> None:
    """Fixed: pickle recurses about twice per level, so an error holding a body nested
    500+ deep (which decodes fine) raised RecursionError when pickled or deep-copied:
    a ``ProcessPoolExecutor`` or task queue could not hand the error back."""
    depth = 900
    nested = b'{"a": ' * depth + b'"x"' + b"}" * depth
    body = b'{"message": "deep", "units": ' + nested + b"}"
    server = hostile(lambda head: answer(status, body))
    await server.start()
    async with AsyncPayi(api_key=KEY, base_url=server.url, max_retries=0) as client:
        with pytest.raises(APIError) as caught:
            await client.categories.resources.retrieve(resource_id="r", category="c", resource="m")
    error = caught.value
    for copied in (pickle.loads(pickle.dumps(error)), copy.deepcopy(error)):
        assert type(copied) is type(error)
        assert str(copied) == str(error)
        assert getattr(copied, "body", None) == getattr(error, "body", None)
        assert vars(copied).keys() == vars(error).keys()


@pytest.mark.parametrize("prefix", [b"", b"u:", b"user:"], ids=["offset0", "offset2", "offset5"])
async def test_a_key_echoed_inside_base64_is_masked(
    hostile: Callable[[Script], Hostile], prefix: bytes
) -> None:
    """Fixed: a server echoing the key as ``Basic base64(user:key)`` (a header) or in a
    base64 debug field (a body) showed it to anyone who decodes the error's text."""
    standard = base64.b64encode(prefix + KEY.encode() + b"!")
    urlsafe = base64.urlsafe_b64encode(b"~" + prefix + KEY.encode())
    body = b'{"message": "token ' + standard + b'", "debug": "' + urlsafe + b'"}'
    server = hostile(lambda head: answer(401, body, ((b"WWW-Authenticate", b"Basic " + standard),)))
    await server.start()
    error = await failing_call(server.url)
    rendered = repr(vars(error)) + str(error)
    for text in (standard, urlsafe):
        assert text.decode() not in rendered
    assert "***" in error.headers["WWW-Authenticate"]
    assert "***" in str(error)


async def test_a_cookie_set_for_one_key_is_never_sent_with_another(
    hostile: Callable[[Script], Hostile],
) -> None:
    """Fixed: the session kept aiohttp's cookie jar, so a cookie answering key A's request
    went out with the next request of a ``with_options(api_key=B)`` copy (they share the
    pool). ``localhost`` (which resolves to 127.0.0.1): the jar ignores IP hosts."""
    cookie = (b"Set-Cookie", b"session=tenant-a; Path=/; Max-Age=3600")
    server = hostile(lambda head: answer(200, b'{"items": [], "has_more": false}', (cookie,)))
    await server.start()
    url = server.url.replace("127.0.0.1", "localhost")
    async with AsyncPayi(api_key=KEY, base_url=url, max_retries=0) as client:
        assert [c async for c in client.categories.list()] == []
        other = client.with_options(api_key=OTHER)
        assert [c async for c in other.categories.list()] == []
        assert [c async for c in client.categories.list()] == []
    assert len(server.heads) == 3
    for head in server.heads:
        assert b"cookie:" not in head.lower()
