"""The ``payi-resources`` command line, end to end, against the local emulator.

Starts an emulator that injects a few faults (429s, 5xx and dropped connections),
imports the shipped price list (``examples/price_list.jsonl``) through the CLI with
its progress bar, lists it back in tables, exports every version again, and checks
that the counts agree: rows in the price list, versions created, versions exported,
and versions the server holds. Then the catalogue as code: a changed copy of the price
list is planned, applied and planned again (nothing left to do), and ``price`` and
``cost`` answer from the versions in effect.

    python examples/demo_cli.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from payi_async.cli import main as cli
from payi_async.emulator import Faults, ThreadedPayiServer
from payi_sync import Payi

PRICE_LIST = Path(__file__).with_name("price_list.jsonl")
FAULTS = Faults(
    rate_limit_rate=0.04,
    error_rate=0.04,
    drop_rate=0.02,
    fail_after_commit_rate=0.02,
    retry_after=0.05,
    seed=7,
)


def step(title: str) -> None:
    """A heading between the steps."""
    print(f"\n=== {title}", flush=True)


def run(server: ThreadedPayiServer, workdir: Path) -> int:
    """The demo's steps; returns the exit status."""
    connect = ["--base-url", server.base_url, "--api-key", server.api_key, "--max-retries", "8"]
    rows = [json.loads(line) for line in PRICE_LIST.read_text("utf-8").splitlines() if line]
    categories = sorted({row["category"] for row in rows})
    resources = {(row["category"], row["resource"]) for row in rows}
    print(
        f"{PRICE_LIST.name}: {len(rows)} versions of {len(resources)} resources in "
        f"{len(categories)} categories; emulator at {server.base_url} with about 12% "
        "injected faults"
    )

    step("payi-resources import --dry-run (check every row, send nothing)")
    status = cli([*connect, "import", str(PRICE_LIST), "--dry-run"])
    if status:
        return status

    step("payi-resources import --concurrency 16")
    server.set_faults(FAULTS)
    status = cli([*connect, "import", str(PRICE_LIST), "--concurrency", "16"])
    faults = server.fault_counts
    server.clear_faults()
    print(f"faults the emulator injected on the way: {dict(faults)}")
    if status:
        return status

    step("payi-resources categories")
    cli([*connect, "categories"])
    smallest = min(categories, key=lambda c: sum(row["category"] == c for row in rows))
    step(f"payi-resources resources {smallest}")
    cli([*connect, "resources", smallest])

    step("payi-resources export --all-versions (to CSV)")
    exported_csv = workdir / "export.csv"
    status = cli([*connect, "export", *categories, "--all-versions", "-o", str(exported_csv)])
    if status:
        return status
    exported_jsonl = workdir / "export.jsonl"
    status = cli([*connect, "export", *categories, "--all-versions", "-o", str(exported_jsonl)])
    if status:
        return status
    exported = len(exported_jsonl.read_text("utf-8").splitlines())

    with Payi(api_key=server.api_key, base_url=server.base_url) as client:
        listed = sum(
            len(list(client.categories.resources.list(r.resource, category)))
            for category in categories
            for r in client.categories.list_resources(category)
        )
    stored = server.run(server.store.all_versions)
    held = sum(1 for v in stored if not v.system)

    step("counts")
    print(f"  rows in {PRICE_LIST.name}:            {len(rows)}")
    print(f"  versions listed back (payi_sync):  {listed}")
    print(f"  versions exported (JSON Lines):    {exported}")
    print(f"  custom versions the server holds:  {held}")
    if len({len(rows), listed, exported, held}) != 1:
        print("The counts do NOT agree.", file=sys.stderr)
        return 1
    print("The counts agree: every row was created exactly once, despite the faults.")

    step("payi-resources import of the CSV export (dry run: it round-trips)")
    status = cli([*connect, "import", str(exported_csv), "--dry-run"])
    if status:
        return status
    return catalogue(connect, rows, workdir)


def catalogue(connect: list[str], rows: list[dict[str, Any]], workdir: Path) -> int:
    """plan -> apply -> plan (empty) -> price -> cost, on a changed copy of the list."""
    changed = [dict(row) for row in rows]
    first = changed[0]
    first["units"] = {"text": {"input_price": 3.5e-07, "output_price": 1.4e-06}}
    first["start_timestamp"] = "2026-09-01T00:00:00Z"  # a price change from 1 September
    new = {
        "category": first["category"],
        "resource": "ft:gpt-4o-mini-2024-07-18:acme:demo:new001",
        "units": {"text": {"input_price": 3e-07, "output_price": 1.2e-06}},
        "max_input_units": 128000,
    }
    source = workdir / "prices.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in [*changed, new]), "utf-8")
    name, resource = first["category"], first["resource"]
    for title, argv in (
        ("payi-resources plan prices.jsonl (one price change, one new resource)", ["plan"]),
        ("payi-resources apply prices.jsonl", ["apply"]),
        ("payi-resources plan prices.jsonl (again: nothing to do)", ["plan"]),
    ):
        step(title)
        status = cli([*connect, *argv, str(source)])
        if status:
            return status
    step(f"payi-resources price {name} {resource} --at 2026-08-01T00:00:00Z")
    status = cli([*connect, "price", name, resource, "--at", "2026-08-01T00:00:00Z"])
    if status:
        return status
    for at in ("2026-08-01T00:00:00Z", "2026-09-15T00:00:00Z"):
        step(f"payi-resources cost {name} {resource} text=1000000:200000 --at {at}")
        status = cli([*connect, "cost", name, resource, "text=1000000:200000", "--at", at])
        if status:
            return status
    return 0


def main() -> int:
    """Run the demo against a fresh emulator; the exit status."""
    with ThreadedPayiServer() as server, tempfile.TemporaryDirectory() as temp:
        return run(server, Path(temp))


if __name__ == "__main__":
    sys.exit(main())
