"""The servers the benchmarks talk to, each in its own process."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import urllib.request
from types import TracebackType
from typing import Any

__all__ = ["EMULATOR_KEY", "ServerProcess", "create_on_emulator"]

#: The key ``python -m payi_async.emulator`` accepts by default.
EMULATOR_KEY = "payi-emulator-key"


class ServerProcess:
    """``python -m <module> --port 0``, whose first stdout line is its base URL."""

    def __init__(self, module: str, *args: str, start_timeout: float = 30.0) -> None:
        self.module = module
        self.args = args
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def start(self) -> str:
        """Start the process and wait for its base URL."""
        proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "--port", "0", *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._proc = proc
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(self.start_timeout):
                self.stop()
                raise RuntimeError(f"{self.module} printed no base URL in {self.start_timeout} s")
        line = proc.stdout.readline().decode().strip()
        if not line.startswith("http"):
            self.stop()
            raise RuntimeError(f"{self.module} did not start (first line {line!r})")
        self.base_url = line
        return line

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return None if self._proc is None else self._proc.pid

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers; idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def create_on_emulator(base_url: str, category: str, resource: str) -> dict[str, Any]:
    """Create one resource version on the emulator with the standard library."""
    body = json.dumps(
        {
            "units": {"text": {"input_price": 1e-06, "output_price": 2e-06}},
            "max_input_units": 128000,
        }
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/api/v1/categories/{category}/resources/{resource}",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "xProxy-api-key": EMULATOR_KEY},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        created: dict[str, Any] = json.loads(resp.read())
    return created
