"""Attacks on the command line's promises (issue 12), kept as regressions.

Classes found: input that crashed with a traceback instead of a listed bad row or a
usage error; a Ctrl-C at the prune
question that did nothing until Enter; a Ctrl-C before the command started or after
it finished that ended the process with a traceback or by the signal.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from payi_async.cli import main
from payi_async.emulator import ThreadedPayiServer

CATEGORY = "custom.attack"


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedPayiServer]:
    with ThreadedPayiServer() as server:
        monkeypatch.setenv("PAYI_API_KEY", server.api_key)
        monkeypatch.setenv("PAYI_BASE_URL", server.base_url)
        yield server


def write_rows(path: Path, resources: list[str]) -> Path:
    with path.open("w", encoding="utf-8") as stream:
        for name in resources:
            row = {
                "category": CATEGORY,
                "resource": name,
                "units": {"text": {"input_price": 1e-6}},
                "start_timestamp": "2025-01-01T00:00:00Z",
            }
            stream.write(json.dumps(row) + "\n")
    return path


def live_resources(server: ThreadedPayiServer) -> list[str]:
    async def names() -> list[str]:
        from payi_async import AsyncPayi

        async with AsyncPayi(api_key=server.api_key, base_url=server.base_url) as client:
            return [v.resource async for v in client.categories.list_resources(CATEGORY)]

    return sorted(server.run(names))


# ------------------------------------------------------------------ input, not tracebacks


def test_a_number_too_long_for_python_is_a_bad_row_not_a_traceback(
    emulator: ThreadedPayiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "prices.jsonl"
    write_rows(path, ["a"])
    with path.open("a", encoding="utf-8") as stream:
        stream.write('{"category": "c", "resource": "r", "units": {"t": {"input_price": ')
        stream.write("1" * 5000 + "}}}\n")
    assert main(["plan", str(path)]) == 2
    assert ":2:" in capsys.readouterr().err
    array = tmp_path / "prices.json"
    array.write_text('[{"category": "c", "resource": "r", "units": 1' + "0" * 5000 + "}]")
    assert main(["apply", str(array)]) == 2
    assert emulator.request_count == 0


@pytest.mark.parametrize("spec", ["text=_:1", "text=1__0:1", "text=1_:0", f"text={'9' * 5000}:0"])
def test_a_usage_count_int_cannot_read_is_a_usage_error(
    emulator: ThreadedPayiServer, spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cost", CATEGORY, "m", spec]) == 2
    assert "bad usage" in capsys.readouterr().err
    assert emulator.request_count == 0


# ------------------------------------------------------------------ the prune question


CLI = "import sys; from payi_async.cli import main; sys.exit(main())"


def _read_until(fd: int, needle: bytes, seconds: float) -> bytes:
    seen = b""
    end = time.monotonic() + seconds
    while needle not in seen and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def test_ctrl_c_at_the_prune_question_interrupts_at_once(
    emulator: ThreadedPayiServer, tmp_path: Path
) -> None:
    """On a terminal the question waits for an answer; Ctrl-C there ends the run
    (status 130, one "Interrupted.") instead of waiting for Enter, and deletes nothing."""
    assert main(["apply", str(write_rows(tmp_path / "all.jsonl", ["a", "b"]))]) == 0
    one = write_rows(tmp_path / "one.jsonl", ["a"])
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, "apply", str(one), "--prune"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "NO_COLOR": "1"},
    )
    os.close(follower)
    try:
        seen = _read_until(leader, b"[y/N]", 30)
        assert b"[y/N]" in seen, seen.decode(errors="replace")
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=10)
        seen += _read_until(leader, b"\x00", 0.5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    text = seen.decode(errors="replace")
    assert status == 130, text
    assert text.count("Interrupted.") == 1 and "Traceback" not in text
    assert live_resources(emulator) == ["a", "b"]


# ------------------------------------------------------------------ Ctrl-C around the command

_EARLY = """
import os, signal, sys
from payi_async.cli import _main
build = _main.build_parser
def build_then_ctrl_c():
    parser = build()
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the command line is read
    return parser
_main.build_parser = build_then_ctrl_c
sys.exit(_main.main())
"""

_LATE = """
import os, signal, sys, time
from payi_async.cli import main
status = main()
os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the process exits
time.sleep(0.2)
sys.exit(status)
"""


def test_ctrl_c_before_the_command_runs_is_one_clean_interruption(
    emulator: ThreadedPayiServer, tmp_path: Path
) -> None:
    path = write_rows(tmp_path / "prices.jsonl", ["a"])
    done = subprocess.run(
        [sys.executable, "-c", _EARLY, "plan", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr.count("Interrupted.") == 1 and "Traceback" not in done.stderr


def test_ctrl_c_after_the_command_finished_keeps_its_exit_status(
    emulator: ThreadedPayiServer, tmp_path: Path
) -> None:
    path = write_rows(tmp_path / "prices.jsonl", ["a"])
    done = subprocess.run(
        [sys.executable, "-c", _LATE, "apply", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
