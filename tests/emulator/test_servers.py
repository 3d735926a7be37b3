"""Server life cycle: connections, keep-alive, the threaded server, CLI, pytest plugin."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from payi_async.emulator import Faults, LocalPayiServer, ThreadedPayiServer
from payi_async.emulator.__main__ import main as emulator_main
from payi_async.emulator._server import is_loopback
from payi_async.emulator.pytest_plugin import _assert_no_internal_errors

from .conftest import api_url

ROOT = Path(__file__).resolve().parents[2]


async def test_keep_alive_reuses_connections(
    server: LocalPayiServer, http: aiohttp.ClientSession
) -> None:
    for _ in range(200):
        async with http.get(api_url(server, limit="1")) as response:
            await response.read()
    assert server.request_count == 200
    assert 1 <= server.connections_accepted <= 2


async def test_keepalive_timeout_closes_idle_sockets() -> None:
    async with (
        LocalPayiServer(keepalive_timeout=0.05) as server,
        aiohttp.ClientSession(headers=server.headers) as http,
    ):
        for _ in range(2):
            async with http.get(api_url(server)) as response:
                await response.read()
            await asyncio.sleep(0.3)
        assert server.connections_accepted == 2


async def test_start_twice_and_closed_server() -> None:
    server = LocalPayiServer()
    with pytest.raises(RuntimeError):
        _ = server.base_url
    async with server:
        with pytest.raises(RuntimeError, match="already"):
            await server.start()
    await server.aclose()  # closing again is harmless
    async with aiohttp.ClientSession() as http:  # base_url stays readable, nobody listens
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(server.base_url)


async def test_port_in_use_is_reported() -> None:
    async with LocalPayiServer() as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match="ddress"):
            async with LocalPayiServer(port=port):
                pass


def _get(
    base_url: str, key: str, path: str = "/api/v1/categories"
) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(base_url + path, headers={"xProxy-api-key": key})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_threaded_server_from_sync_code() -> None:
    with ThreadedPayiServer(api_key="sync-key", faults=Faults(request_budget=1)) as server:
        assert _get(server.base_url, "sync-key")[0] == 200
        assert _get(server.base_url, "sync-key")[0] == 429
        assert server.fault_counts == {"budget": 1}
        server.clear_faults()
        status, body = _get(server.base_url, "wrong")
        assert (status, body["statusCode"]) == (401, 401)
        assert server.run(server.store.count_versions) == 18
        assert server.request_count == 3
        assert len(server.requests) == 3
        assert server.headers == {"xProxy-api-key": "sync-key"}
    with pytest.raises(urllib.error.URLError):
        _get(server.base_url, "sync-key")


def test_threaded_server_start_failure_is_raised() -> None:
    with pytest.raises(ValueError, match="shapes"):
        ThreadedPayiServer(shapes="nope")
    with ThreadedPayiServer() as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match="ddress"), ThreadedPayiServer(port=port):
            pass


def test_plugin_fixture_serves(payi_emulator: ThreadedPayiServer) -> None:
    assert _get(payi_emulator.base_url, payi_emulator.api_key)[0] == 200


@pytest.mark.payi_emulator(shapes="hosted", api_key="marked")
def test_plugin_marker_configures(payi_emulator: ThreadedPayiServer) -> None:
    status, body = _get(payi_emulator.base_url, "marked")
    assert status == 200
    assert body["items"][0] == {"category": "system.anthropic"}  # type: ignore[index]


def test_plugin_env_fixture(payi_emulator_env: ThreadedPayiServer) -> None:
    assert os.environ["PAYI_BASE_URL"] == payi_emulator_env.base_url
    assert os.environ["PAYI_API_KEY"] == payi_emulator_env.api_key


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "payi_async.emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_url_first_and_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    db = tmp_path / "cli.sqlite"
    process, url = _start_cli("--db", str(db), "--api-key", "cli-key", "--shapes", "hosted")
    try:
        assert url.startswith("http://127.0.0.1:")
        status, body = _get(url, "cli-key")
        assert status == 200
        assert body["items"][0] == {"category": "system.anthropic"}  # type: ignore[index]
    finally:
        process.send_signal(sig)
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert out == ""
    assert "stopped" in err
    assert db.exists()


def test_cli_fault_flags_and_bad_values() -> None:
    process, url = _start_cli("--request-budget", "0", "--retry-after", "5")
    try:
        status, body = _get(url, "payi-emulator-key")
        assert (status, body["statusCode"]) == (429, 429)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
    assert process.returncode == 0
    bad = subprocess.run(
        [sys.executable, "-m", "payi_async.emulator", "--error-rate", "2"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=30,
        check=False,
    )
    assert bad.returncode == 2
    assert "error_rate" in bad.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_beyond_loopback_the_default_key_is_refused(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    if loopback:
        LocalPayiServer(host=host)
    else:
        with pytest.raises(ValueError, match="api_key"):
            LocalPayiServer(host=host)
        LocalPayiServer(host=host, api_key="a-key-of-my-own")  # accepted (not started)


@pytest.mark.parametrize(
    "args",
    [
        ["--host", "0.0.0.0"],
        ["--host", "192.168.1.5", "--port", "8080"],
        ["--host", "0.0.0.0", "--api-key", "payi-emulator-key"],
        ["--api-key", ""],
    ],
)
def test_cli_refuses_to_listen_beyond_loopback_without_a_key(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert emulator_main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--api-key" in captured.err


def test_plugin_check_fails_on_an_internal_error_but_not_on_injected_ones(
    no_internal_errors: list[LocalPayiServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    with ThreadedPayiServer(
        faults=Faults(error_rate=1.0, error_statuses=(500,), max_faults=1)
    ) as server:
        assert _get(server.base_url, server.api_key)[0] == 500  # injected: not a bug
        _assert_no_internal_errors(server)

        def broken(*args: object) -> None:
            raise RuntimeError("an emulator bug")

        monkeypatch.setattr(server.store, "categories_page", broken)
        status, body = _get(server.base_url, server.api_key)
        assert (status, body["message"]) == (500, "internal emulator error")
        with pytest.raises(
            pytest.fail.Exception, match=r"1 internal error.*GET /api/v1/categories -> 500"
        ):
            _assert_no_internal_errors(server)
    no_internal_errors.remove(server.server)  # provoked on purpose
