"""Runs the scenarios: servers up, one fresh worker process per measurement, results."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import random
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .drivers import CLIENTS
from .report import STDJSON
from .servers import EMULATOR_KEY, ServerProcess, create_on_emulator

__all__ = ["SCENARIOS", "Sizes", "main"]

#: Scenario numbers and names, as ``--scenarios`` takes them.
SCENARIOS = {
    1: "retrieve",
    2: "page",
    3: "iterate",
    4: "create",
    5: "facade",
    6: "import",
    7: "catalog",
}

CANNED_KEY = "canned-key"


def _has_orjson() -> bool:
    return importlib.util.find_spec("orjson") is not None


RESULTS = Path(__file__).resolve().parent / "results"


class Sizes:
    """How much work each scenario does; ``--quick`` shrinks everything."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.retrieve_n, self.retrieve_rounds = (200, 3) if quick else (1000, 9)
        self.page_n, self.page_rounds = (3, 3) if quick else (10, 9)
        self.iterate_counts = (2_000, 20_000) if quick else (10_000, 100_000)
        self.iterate_rounds = 1 if quick else 3
        self.create_n, self.create_rounds = (1000, 3) if quick else (5000, 7)
        self.concurrency = 64
        self.emulator_n, self.emulator_rounds = (100, 3) if quick else (500, 9)
        self.import_reps = 5 if quick else 15
        self.catalog_rows = 1_000 if quick else 10_000

    def as_dict(self) -> dict[str, Any]:
        """The sizes, for the JSON record."""
        return {k: v for k, v in vars(self).items() if k != "quick"}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _worker(spec: dict[str, Any], timeout: float = 600.0) -> dict[str, Any]:
    """Run one measurement in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"worker {spec['op']}/{spec['client']} failed ({proc.returncode}):\n"
            + proc.stderr[-3000:]
        )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _interleaved(
    specs: dict[str, dict[str, Any]], blocks: int, scale: float, seed: int
) -> dict[str, Any]:
    """Each spec's worker run once per block, the specs in a new shuffled order each block.

    A busy moment on the shared machine then lands on every client alike; each row keeps
    its per-block figures (``cpu_rounds``/``wall_rounds``, block by block) so that a
    ratio is taken block by block (``report.ratio``), not from two separate medians.
    """
    order = list(specs)
    shuffle = random.Random(seed).shuffle
    per_block: dict[str, list[dict[str, Any]]] = {key: [] for key in specs}
    for block in range(blocks):
        shuffle(order)
        _log(f"    block {block + 1}/{blocks}: {', '.join(order)}")
        for key in order:
            per_block[key].append(_worker(specs[key]))
    rows: dict[str, Any] = {}
    for key, results in per_block.items():
        cpu = [statistics.median(r["cpu"]) * scale for r in results]
        wall = [statistics.median(r["wall"]) * scale for r in results]
        rows[key] = {
            "cpu": statistics.median(cpu),
            "wall": statistics.median(wall),
            "cpu_rounds": cpu,
            "wall_rounds": wall,
            "maxrss_kb": max(r["maxrss_kb"] for r in results),
        }
    return rows


class Run:
    """One harness run: the servers, the clients available, the results so far."""

    def __init__(self, sizes: Sizes, clients: Sequence[str]) -> None:
        self.sizes = sizes
        self.clients = list(clients)
        self.canned = ServerProcess("benchmarks.canned")
        self.emulator = ServerProcess("payi_async.emulator")
        self.results: dict[str, Any] = {}

    def _spec(self, op: str, client: str, url: str, key: str, **more: Any) -> dict[str, Any]:
        return {"op": op, "client": client, "url": url, "api_key": key, **more}

    def _canned_url(self) -> str:
        return self.canned.base_url or self.canned.start()

    # ------------------------------------------------------------ 1 and 5: retrieve

    def retrieve(self, server: str) -> dict[str, Any]:
        """Sequential retrieves, µs per call, against ``canned`` or ``emulator``."""
        key = f"retrieve_{server}"
        if key in self.results:
            return dict(self.results[key])
        s = self.sizes
        if server == "canned":
            url, api_key, n, rounds = (
                self._canned_url(),
                CANNED_KEY,
                s.retrieve_n,
                s.retrieve_rounds,
            )
            target = {"resource_id": "rv-00000007", "category": "bench", "resource": "model"}
        else:
            url = self.emulator.base_url or self.emulator.start()
            api_key, n, rounds = EMULATOR_KEY, s.emulator_n, s.emulator_rounds
            made = create_on_emulator(url, "bench.facade", "model")
            target = {k: made[k] for k in ("resource_id", "category", "resource")}
        _log(f"  retrieve on {server}, interleaved")
        specs = {
            client: self._spec(
                "retrieve", client, url, api_key, n=n, rounds=1, warmup=1, target=target
            )
            for client in self.clients
        }
        rows = _interleaved(specs, rounds, 1e6, seed=1)
        self.results[key] = {"unit": "µs per call", "n": n, "rounds": rounds, "rows": rows}
        return dict(self.results[key])

    # ------------------------------------------------------------ 2: one page

    def page(self) -> None:
        """One page of 1,000 items, ms per page."""
        s = self.sizes
        _log("  page of 1,000, interleaved")
        specs = {
            client: self._spec(
                "page", client, self._canned_url(), CANNED_KEY, n=s.page_n, rounds=3, warmup=1
            )
            for client in self.clients
        }
        if "payi_async" in specs and _has_orjson():
            # The same client on the standard library's json: the figure without speedups.
            specs[STDJSON] = {**specs["payi_async"], "json_backend": "json"}
        rows = _interleaved(specs, s.page_rounds, 1e3, seed=2)
        self.results["page"] = {
            "unit": "ms per page",
            "n": s.page_n,
            "rounds": s.page_rounds,
            "rows": rows,
        }

    # ------------------------------------------------------------ 3: auto-pagination

    def iterate(self) -> None:
        """Whole listings through auto-pagination, each in a fresh process."""
        s = self.sizes
        rows: dict[str, Any] = {}
        for client in self.clients:
            row: dict[str, Any] = {}
            for count in s.iterate_counts:
                _log(f"  iterate {count:,}: {client}")
                walls: list[float] = []
                cpus: list[float] = []
                peaks: list[int] = []
                setups: list[int] = []
                for _ in range(s.iterate_rounds):
                    spec = self._spec(
                        "iterate",
                        client,
                        self._canned_url(),
                        CANNED_KEY,
                        n=count,
                        rounds=1,
                        warmup=0,
                    )
                    result = _worker(spec)
                    walls.append(result["wall"][0] * count)
                    cpus.append(result["cpu"][0] * count)
                    peaks.append(result["maxrss_kb"])
                    setups.append(result["maxrss_setup_kb"])
                row[str(count)] = {
                    "wall_s": statistics.median(walls),
                    "cpu_s": statistics.median(cpus),
                    "peak_rss_mb": statistics.median(peaks) / 1024,
                    "setup_rss_mb": statistics.median(setups) / 1024,
                    "wall_rounds": walls,
                    "peak_rss_rounds_kb": peaks,
                }
            rows[client] = row
        self.results["iterate"] = {
            "counts": list(s.iterate_counts),
            "rounds": s.iterate_rounds,
            "rows": rows,
        }

    # ------------------------------------------------------------ 4: creates

    def create(self) -> None:
        """Many creates at a fixed concurrency: throughput and CPU per create."""
        s = self.sizes
        modes: list[tuple[str, str]] = []
        for client in self.clients:
            if client.startswith("payi_"):
                modes.append((client, "create_many"))
            modes.append((client, "gather"))
            if client == "payi_sync":
                modes.append((client, "handoff"))
        _log(f"  {s.create_n:,} creates, interleaved")
        specs = {
            f"{client}:{mode}": self._spec(
                "create",
                client,
                self._canned_url(),
                CANNED_KEY,
                n=s.create_n,
                rounds=1,
                warmup=1,
                mode=mode,
                concurrency=s.concurrency,
            )
            for client, mode in modes
        }
        rows = _interleaved(specs, s.create_rounds, 1e6, seed=4)
        for row in rows.values():
            row["per_second"] = 1e6 / row["wall"]
            row["per_second_rounds"] = [1e6 / w for w in row["wall_rounds"]]
        self.results["create"] = {
            "unit": "µs per create",
            "n": s.create_n,
            "concurrency": s.concurrency,
            "rounds": s.create_rounds,
            "rows": rows,
        }

    # ------------------------------------------------------------ 5: the sync facade

    def facade(self) -> None:
        """Per-call cost of Payi vs AsyncPayi vs bare aiohttp, on both servers."""
        self.results["facade"] = {
            "emulator": self.retrieve("emulator"),
            "canned": self.retrieve("canned"),
        }

    # ------------------------------------------------------------ 6: imports

    def imports(self) -> None:
        """Cold import time, and import + first call, median over fresh processes (interleaved).

        An import made lazy only moves its cost to the first call; the second figure
        (import, make a client, one ``retrieve`` on the canned server, close) shows that.
        """
        modules = ["aiohttp", "payi_async", "payi_sync"]
        if "vendor_async" in self.clients or "vendor_sync" in self.clients:
            modules.append("payi")
        code = "import time; t = time.perf_counter(); import {0}; print(time.perf_counter() - t)"
        first = {m: _first_call_code(m, self._canned_url(), CANNED_KEY) for m in modules}
        for module in modules:  # compile and cache bytecode first
            subprocess.run([sys.executable, "-c", first[module]], check=True, capture_output=True)
        times: dict[str, list[float]] = {m: [] for m in modules}
        firsts: dict[str, list[float]] = {m: [] for m in modules}
        for rep in range(self.sizes.import_reps):
            _log(f"  imports, round {rep + 1}/{self.sizes.import_reps}")
            for module in modules:
                for snippet, into in ((code.format(module), times), (first[module], firsts)):
                    out = subprocess.run(
                        [sys.executable, "-c", snippet], capture_output=True, text=True, check=True
                    )
                    into[module].append(float(out.stdout.strip()) * 1e3)
        self.results["import"] = {
            "unit": "ms",
            "reps": self.sizes.import_reps,
            "rows": {
                m: {
                    "ms": statistics.median(times[m]),
                    "rounds": times[m],
                    "first_call_ms": statistics.median(firsts[m]),
                    "first_call_rounds": firsts[m],
                }
                for m in modules
            },
        }

    # ------------------------------------------------------------ 7: catalogue apply

    def catalog(self) -> None:
        """``payi-resources apply`` vs ``import`` of a price file (``bench_catalog``)."""
        from . import bench_catalog

        _log(f"  apply vs import, {self.sizes.catalog_rows:,} rows")
        self.results["catalog"] = bench_catalog.run(self.sizes.catalog_rows)

    def close(self) -> None:
        """Stop the servers."""
        self.canned.stop()
        self.emulator.stop()


_FIRST_CALL = {
    "aiohttp": """
import aiohttp, asyncio, json
async def main():
    async with aiohttp.ClientSession(headers={"xProxy-api-key": K}) as s:
        async with s.get(U + "/api/v1/categories/bench/resources/model/rv-00000007") as r:
            json.loads(await r.read())
asyncio.run(main())""",
    "payi_async": """
import asyncio
from payi_async import AsyncPayi
async def main():
    async with AsyncPayi(api_key=K, base_url=U) as c:
        await c.categories.resources.retrieve("rv-00000007", "bench", "model")
asyncio.run(main())""",
    "payi_sync": """
from payi_sync import Payi
with Payi(api_key=K, base_url=U) as c:
    c.categories.resources.retrieve("rv-00000007", "bench", "model")""",
    "payi": """
import payi
with payi.Payi(api_key=K, base_url=U) as c:
    c.categories.resources.retrieve("rv-00000007", category="bench", resource="model")""",
}


def _first_call_code(module: str, url: str, key: str) -> str:
    """A program timing ``import module``, a client and one retrieve, printing seconds."""
    return (
        f"import time; t = time.perf_counter(); K, U = {key!r}, {url!r}"
        + _FIRST_CALL[module]
        + "\nprint(time.perf_counter() - t)"
    )


def machine() -> dict[str, Any]:
    """Where the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str] = {}
    from importlib.metadata import PackageNotFoundError, version

    for dist in (
        "payi-async",
        "orjson",
        "aiohttp",
        "attrs",
        "cattrs",
        "asgiref",
        "payi",
        "httpx",
        "pydantic",
    ):
        with contextlib.suppress(PackageNotFoundError):
            versions[dist] = version(dist)
    from payi_async import _json

    return {
        "json_backend": _json.BACKEND,
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
    }


def _parse_scenarios(text: str) -> list[int]:
    picked: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if part.isdigit() and int(part) in SCENARIOS:
            picked.append(int(part))
            continue
        named = [n for n, name in SCENARIOS.items() if name == part]
        if not named:
            raise argparse.ArgumentTypeError(
                f"unknown scenario {part!r}; pick from {', '.join(map(str, SCENARIOS))} or "
                + ", ".join(SCENARIOS.values())
            )
        picked.extend(named)
    return sorted(set(picked))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="This SDK (async and sync) against bare aiohttp and the vendor's payi SDK.",
    )
    p.add_argument("--quick", action="store_true", help="small sizes, few rounds (~1 minute)")
    p.add_argument(
        "--scenarios",
        type=_parse_scenarios,
        default=list(SCENARIOS),
        help="comma-separated numbers or names: "
        + ", ".join(f"{n}={name}" for n, name in SCENARIOS.items()),
    )
    p.add_argument(
        "--clients",
        default=",".join(CLIENTS),
        help=f"comma-separated subset of {','.join(CLIENTS)} (vendor ones need `pip install payi`)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        help="directory for latest.json, latest.md and latest.png (default benchmarks/results)",
    )
    p.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a measured ratio misses its target (before a release)",
    )
    return p


def _clients(text: str) -> list[str]:
    wanted = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in CLIENTS]
    if unknown:
        raise SystemExit(f"unknown client(s) {unknown}; pick from {list(CLIENTS)}")
    if importlib.util.find_spec("payi") is None:
        dropped = [c for c in wanted if c.startswith("vendor_")]
        if dropped:
            _log("the vendor's `payi` package is not installed; skipping " + ", ".join(dropped))
        wanted = [c for c in wanted if not c.startswith("vendor_")]
    return [c for c in CLIENTS if c in wanted]


def run_all(scenarios: Iterable[int], sizes: Sizes, clients: Sequence[str]) -> dict[str, Any]:
    """Run the scenarios; the raw record of the run."""
    started = time.perf_counter()
    run = Run(sizes, clients)
    steps = {
        1: lambda: run.retrieve("canned"),
        2: run.page,
        3: run.iterate,
        4: run.create,
        5: run.facade,
        6: run.imports,
        7: run.catalog,
    }
    try:
        for number in scenarios:
            _log(f"scenario {number}: {SCENARIOS[number]}")
            steps[number]()
    finally:
        run.close()
    return {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "quick": sizes.quick,
        "sizes": sizes.as_dict(),
        "clients": list(clients),
        "machine": machine(),
        "duration_s": time.perf_counter() - started,
        "results": run.results,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks``."""
    from . import report

    args = _parser().parse_args(argv)
    clients = _clients(args.clients)
    record = run_all(args.scenarios, Sizes(args.quick), clients)
    given = list(sys.argv[1:] if argv is None else argv)
    record["command"] = shlex.join(["python", "-m", "benchmarks", *given])
    record["targets"] = report.targets(record)
    text = report.markdown(record)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    (out / "latest.md").write_text(text)
    if not args.no_chart:
        try:
            report.chart(record, out / "latest.png")
        except ImportError:
            _log("matplotlib is not installed (pip install '.[bench]'); no chart drawn")
    print(text)
    _log(f"wrote {out / 'latest.json'}, latest.md and latest.png in {record['duration_s']:.0f} s")
    missed = [t for t in record["targets"] if not t["met"]]
    if args.check and missed:
        for t in missed:
            _log(f"missed: {t['target']}: {t['measured']:.2f} (target {t['limit']})")
        return 1
    return 0
