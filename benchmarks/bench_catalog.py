"""``payi-resources apply`` of a 10,000-row price file, against ``import`` of the same file.

Each scenario runs the command line in its own process against an emulator on a
SQLite file (a ``ThreadedPayiServer`` in this process, so that the requests it
answered can be counted by method), with the CLI's defaults (concurrency 16):

1. ``import FILE`` into an empty catalogue;
2. ``apply FILE`` into an empty catalogue (10,000 new rows);
3. ``apply FILE`` again, nothing changed (reads only: it should make one listing per
   category page and at most one per resource).

The file is made like ``examples/price_list.jsonl``: dated versions in ten custom
categories, one resource in seven with a second version. Reported: wall time of the
process (start-up included) and the requests the server answered, by method.

    python -m benchmarks.bench_catalog [--rows 10000]

Prints a Markdown table and writes JSON to ``benchmarks/results/catalog.json``. Run it
by hand; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from payi_async import __version__
from payi_async.emulator import ThreadedPayiServer

__all__ = ["main", "price_file", "run"]

RESULTS = Path(__file__).with_name("results") / "catalog.json"
_CLI = "import sys; from payi_async.cli import main; sys.exit(main())"


def price_file(rows: int) -> list[dict[str, Any]]:
    """``rows`` dated rows; every seventh resource has a second, later version."""
    out: list[dict[str, Any]] = []
    resource = 0
    while len(out) < rows:
        starts = ["2025-01-01T00:00:00Z"]
        if resource % 7 == 0:
            starts.append("2026-07-01T00:00:00Z")
        for n, start in enumerate(starts[: rows - len(out)]):
            out.append(
                {
                    "category": f"custom.bench.c{resource % 10}",
                    "resource": f"model-{resource:06d}",
                    "units": {
                        "text": {
                            "input_price": 1e-07 * (1 + resource % 13) * (1 + n),
                            "output_price": 4e-07 * (1 + resource % 5),
                        }
                    },
                    "max_input_units": 128_000,
                    "start_timestamp": start,
                }
            )
        resource += 1
    return out


def _cli(server: ThreadedPayiServer, *args: str) -> dict[str, Any]:
    """Run ``payi-resources ARGS`` in a process; its wall time and the server's requests."""
    before = server.request_count
    versions_before = server.run(server.store.count_versions)
    argv = ["--base-url", server.base_url, "--api-key", server.api_key, *args]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CLI, *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"payi-resources {' '.join(args)} exited {done.returncode}: {done.stderr}"
        )
    total = server.request_count - before
    # Every request here is a GET or a create (the file prunes nothing), and every
    # create made one version: count those on the server.
    posts = server.run(server.store.count_versions) - versions_before
    methods = {"GET": total - posts, "POST": posts}
    return {"wall_s": round(wall, 2), "requests": total, "by_method": dict(methods)}


def run(rows: int) -> dict[str, Any]:
    """The three scenarios, each against a fresh emulator on a SQLite file."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as temp:
        source = Path(temp) / "prices.jsonl"
        items = price_file(rows)
        source.write_text("".join(json.dumps(row) + "\n" for row in items), "utf-8")
        with ThreadedPayiServer(db=str(Path(temp) / "import.sqlite")) as server:
            results["import, empty catalogue"] = _cli(server, "import", str(source))
        with ThreadedPayiServer(db=str(Path(temp) / "apply.sqlite")) as server:
            results["apply, empty catalogue"] = _cli(server, "apply", str(source))
            results["apply again, nothing changed"] = _cli(server, "apply", str(source))
    return {
        "benchmark": "catalogue apply vs import",
        "rows": rows,
        "resources": len({(r["category"], r["resource"]) for r in items}),
        "categories": len({r["category"] for r in items}),
        "payi_async": __version__,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "server": "ThreadedPayiServer on a SQLite file; the CLI in its own process",
        "results": results,
    }


def markdown(report: dict[str, Any]) -> str:
    """The results as a Markdown table."""
    lines = [
        f"{report['rows']:,} rows ({report['resources']:,} resources in "
        f"{report['categories']} categories); server: {report['server']}",
        "",
        "| command | wall s | requests | GET | POST |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in report["results"].items():
        by = r["by_method"]
        lines.append(
            f"| {name} | {r['wall_s']:.2f} | {r['requests']:,} | {by.get('GET', 0):,} "
            f"| {by.get('POST', 0):,} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON; the exit status."""
    parser = argparse.ArgumentParser(description="payi-resources apply vs import")
    parser.add_argument("--rows", type=int, default=10_000, help="rows in the price file")
    parser.add_argument("-o", "--output", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    report = run(args.rows)
    print(markdown(report))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
