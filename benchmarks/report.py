"""The Markdown table, the targets of issues 5 and 14 and the PNG chart, from a run's record."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from .drivers import SYNC_CLIENTS

__all__ = ["chart", "markdown", "ratio", "targets"]

#: ``AsyncPayi`` measured on the standard library's json while orjson is installed.
STDJSON = "payi_async_stdjson"

LABELS = {
    "payi_async": "payi_async.AsyncPayi",
    STDJSON: "payi_async.AsyncPayi, json (no speedups)",
    "payi_sync": "payi_sync.Payi",
    "aiohttp": "bare aiohttp + json.loads",
    "vendor_async": "vendor payi.AsyncPayi",
    "vendor_sync": "vendor payi.Payi",
}
#: The vendor client each row is compared with: the same flavour (async or blocking).
VENDOR_OF = {
    "payi_async": "vendor_async",
    STDJSON: "vendor_async",
    "aiohttp": "vendor_async",
    "vendor_async": "vendor_async",
    "payi_sync": "vendor_sync",
    "vendor_sync": "vendor_sync",
}


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}x"


def _num(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _get(rows: dict[str, Any], client: str, field: str) -> float | None:
    row = rows.get(client)
    return None if row is None or row.get(field) is None else float(row[field])


def _per_call_table(section: dict[str, Any], unit: str, digits: int) -> list[str]:
    rows = section["rows"]
    floor = _get(rows, "aiohttp", "cpu")
    lines = [
        f"| client | client CPU {unit} | wall {unit} | CPU x bare aiohttp | CPU x vendor |",
        "|---|---:|---:|---:|---:|",
    ]
    for client, row in rows.items():
        vendor = _get(rows, VENDOR_OF[client], "cpu")
        lines.append(
            f"| {LABELS[client]} | {_num(row['cpu'], digits)} | {_num(row['wall'], digits)} "
            f"| {_ratio(row['cpu'], floor)} | {_ratio(row['cpu'], vendor)} |"
        )
    return lines


def _iterate_table(section: dict[str, Any]) -> list[str]:
    small, large = (str(c) for c in section["counts"])
    s, big = f"{int(small):,}", f"{int(large):,}"
    lines = [
        f"| client | wall s, {s} | wall s, {big} | peak RSS MB, {s} | peak RSS MB, {big} "
        "| RSS growth MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for client, row in section["rows"].items():
        a, b = row[small], row[large]
        lines.append(
            f"| {LABELS[client]} | {a['wall_s']:.2f} | {b['wall_s']:.2f} "
            f"| {a['peak_rss_mb']:.1f} | {b['peak_rss_mb']:.1f} "
            f"| {b['peak_rss_mb'] - a['peak_rss_mb']:+.1f} |"
        )
    return lines


def _create_table(section: dict[str, Any]) -> list[str]:
    rows = section["rows"]
    floor = _get(rows, "aiohttp:gather", "cpu")
    lines = [
        "| client | how | creates/s | client CPU µs/create | CPU x bare aiohttp | CPU x vendor |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for key, row in rows.items():
        client, mode = key.split(":")
        vendor = _get(rows, VENDOR_OF[client] + ":gather", "cpu")
        how = {
            "create_many": f"create_many(concurrency={section['concurrency']})",
            "gather": (
                f"thread pool of {section['concurrency']}"
                if client in SYNC_CLIENTS
                else f"gather + Semaphore({section['concurrency']})"
            ),
            "handoff": (
                f"thread pool of {section['concurrency']}, each call to one loop thread by a "
                "bare `run_coroutine_threadsafe` (the floor of a per-call hand-off)"
            ),
        }[mode]
        label = "payi_async.AsyncPayi on a loop thread" if mode == "handoff" else LABELS[client]
        lines.append(
            f"| {label} | {how} | {row['per_second']:,.0f} | {_num(row['cpu'])} "
            f"| {_ratio(row['cpu'], floor)} | {_ratio(row['cpu'], vendor)} |"
        )
    return lines


def _facade_table(section: dict[str, Any]) -> list[str]:
    lines = [
        "| client | server | wall µs/call | client CPU µs/call | wall x AsyncPayi "
        "| CPU x AsyncPayi |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for server in ("emulator", "canned"):
        rows = section[server]["rows"]
        base_wall = _get(rows, "payi_async", "wall")
        base_cpu = _get(rows, "payi_async", "cpu")
        for client, row in rows.items():
            lines.append(
                f"| {LABELS[client]} | {server} | {_num(row['wall'])} | {_num(row['cpu'])} "
                f"| {_ratio(row['wall'], base_wall)} | {_ratio(row['cpu'], base_cpu)} |"
            )
    return lines


def _import_table(section: dict[str, Any]) -> list[str]:
    rows = section["rows"]
    vendor = _get(rows, "payi", "ms")
    vendor_first = _get(rows, "payi", "first_call_ms")
    lines = [
        "| module | import ms (median) | x import payi | import + first call ms | x payi |",
        "|---|---:|---:|---:|---:|",
    ]
    for module, row in rows.items():
        first = row.get("first_call_ms")
        lines.append(
            f"| `import {module}` | {row['ms']:.1f} | {_ratio(row['ms'], vendor)} "
            f"| {'-' if first is None else f'{first:.1f}'} | {_ratio(first, vendor_first)} |"
        )
    return lines


def ratio(
    rows: dict[str, Any], a: str, b: str, field: str = "cpu"
) -> tuple[float, float, float] | None:
    """``a`` over ``b``: the median of the block-by-block ratios, with its 25th and 75th
    percentiles (blocks are interleaved, so each ratio compares figures taken together)."""
    x, y = rows.get(a), rows.get(b)
    if x is None or y is None or x.get(field) is None or not y.get(field):
        return None
    xs, ys = x.get(f"{field}_rounds"), y.get(f"{field}_rounds")
    if not xs or not ys or len(xs) != len(ys) or not all(ys):
        value = float(x[field]) / float(y[field])
        return value, value, value
    ratios = sorted(p / q for p, q in zip(xs, ys, strict=True))
    if len(ratios) == 1:
        return ratios[0], ratios[0], ratios[0]
    q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return statistics.median(ratios), q1, q3


def targets(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets of issues 5 and 14, each with the ratio measured and whether it is met."""
    res = record["results"]
    out: list[dict[str, Any]] = []

    def add(
        scenario: int,
        name: str,
        value: tuple[float, float, float] | None,
        limit: float | None,
        op: str = "",
    ) -> None:
        """A target (``limit`` and ``op``), or with ``limit=None`` a ratio shown beside the
        targets to explain one (never a miss for ``--check``)."""
        if value is None:
            return
        mid, q1, q3 = value
        row: dict[str, Any] = {
            "scenario": scenario,
            "target": name,
            "measured": round(mid, 3),
            "p25": round(q1, 3),
            "p75": round(q3, 3),
        }
        if limit is None:
            row.update(limit="context", met=True, context=True)
        else:
            met = mid <= limit if op == "<=" else mid >= limit if op == ">=" else mid < limit
            row.update(limit=f"{op} {limit:g}", met=met)
        out.append(row)

    if "page" in res:
        rows = res["page"]["rows"]
        add(
            2,
            "page CPU: vendor async ÷ AsyncPayi",
            ratio(rows, "vendor_async", "payi_async"),
            5,
            ">=",
        )
        add(2, "page CPU: vendor sync ÷ Payi", ratio(rows, "vendor_sync", "payi_sync"), 5, ">=")
        speedups = record["machine"].get("json_backend") == "orjson"
        add(
            2,
            "page CPU: AsyncPayi ÷ bare aiohttp" + (" (speedups)" if speedups else " (json)"),
            ratio(rows, "payi_async", "aiohttp"),
            2.0 if speedups else 2.3,
            "<=",
        )
        add(
            2,
            "page CPU: AsyncPayi ÷ bare aiohttp (json, no speedups)",
            ratio(rows, STDJSON, "aiohttp"),
            2.3,
            "<=",
        )
        add(
            2,
            "page CPU: vendor async ÷ AsyncPayi (issue 14)",
            ratio(rows, "vendor_async", "payi_async"),
            8,
            ">=",
        )
    if "retrieve_canned" in res:
        rows = res["retrieve_canned"]["rows"]
        add(
            1,
            "retrieve CPU: AsyncPayi ÷ bare aiohttp",
            ratio(rows, "payi_async", "aiohttp"),
            1.3,
            "<=",
        )
        add(
            1,
            "retrieve CPU: AsyncPayi ÷ vendor async",
            ratio(rows, "payi_async", "vendor_async"),
            1,
            "<",
        )
        add(1, "retrieve CPU: Payi ÷ vendor sync", ratio(rows, "payi_sync", "vendor_sync"), 1, "<")
    if "create" in res:
        rows = res["create"]["rows"]
        tput = ratio(rows, "payi_async:create_many", "payi_async:gather", "per_second")
        add(4, "creates/s: create_many ÷ gather loop", tput, 1, ">=")
        floor = ratio(rows, "payi_async:create_many", "aiohttp:gather", "per_second")
        add(4, "creates/s: create_many ÷ bare aiohttp gather", floor, 0.85, ">=")
        pool = ratio(rows, "payi_async:create_many", "payi_sync:gather", "per_second")
        add(4, "creates/s: create_many ÷ Payi 64-thread pool", pool, 1.5, "<=")
        floor_pool = ratio(rows, "payi_async:create_many", "payi_sync:handoff", "per_second")
        add(4, "creates/s: create_many ÷ bare hand-off 64-thread pool (floor)", floor_pool, None)
        cpu = ratio(rows, "payi_async:create_many", "payi_async:gather")
        add(4, "CPU per create: create_many ÷ gather loop", cpu, 1, "<=")
    if "facade" in res:
        for server in ("emulator", "canned"):
            rows = res["facade"][server]["rows"]
            add(
                5,
                f"wall per call ({server}): Payi ÷ AsyncPayi",
                ratio(rows, "payi_sync", "payi_async", "wall"),
                1.35,
                "<=",
            )
    if "import" in res:
        rows = res["import"]["rows"]
        add(6, "import time: payi_sync ÷ payi", ratio(rows, "payi_sync", "payi", "ms"), 1, "<=")
    return out


def markdown(record: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    res = record["results"]
    m = record["machine"]
    lines = [
        f"Machine: {m['cpus']} CPUs, {m['cpu_model']}, {m['implementation']} {m['python']} "
        f"on {m['platform']}.  ",
        "Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()) + ".  ",
        f"Command: `{record.get('command', 'python -m benchmarks')}`"
        + (" (quick sizes)" if record["quick"] else "")
        + f"; {record['when']}; took {record['duration_s']:.0f} s.  ",
        "Client CPU is `time.process_time()` of the client process (all its threads); "
        "medians over rounds; servers run in their own processes; each worker process first "
        "frees a 1 MiB block so that glibc's mmap threshold is in its steady state for every "
        "client (see `benchmarks/worker.py`, `steady_heap`).",
        "",
    ]
    if "retrieve_canned" in res:
        sec = res["retrieve_canned"]
        lines += [
            f"### 1. Sequential `retrieve` (canned server; {sec['n']:,} calls x "
            f"{sec['rounds']} rounds)",
            "",
            *_per_call_table(sec, "µs/call", 1),
            "",
        ]
    if "page" in res:
        sec = res["page"]
        lines += [
            f"### 2. One page of 1,000 `CategoryResourceResponse` (canned; {sec['n']} pages x "
            f"{sec['rounds']} rounds)",
            "",
            *_per_call_table(sec, "ms/page", 2),
            "",
        ]
    if "iterate" in res:
        sec = res["iterate"]
        lines += [
            f"### 3. Auto-pagination through a listing (canned, pages of 1,000; a fresh process "
            f"per run, median of {sec['rounds']})",
            "",
            *_iterate_table(sec),
            "",
        ]
    if "create" in res:
        sec = res["create"]
        lines += [
            f"### 4. {sec['n']:,} creates at concurrency {sec['concurrency']} (canned; "
            f"{sec['rounds']} rounds)",
            "",
            *_create_table(sec),
            "",
        ]
    if "facade" in res:
        sec = res["facade"]
        e, c = sec["emulator"], sec["canned"]
        lines += [
            f"### 5. Sync facade per-call overhead (sequential `retrieve`; emulator {e['n']:,} x "
            f"{e['rounds']}, canned {c['n']:,} x {c['rounds']})",
            "",
            *_facade_table(sec),
            "",
        ]
    if "import" in res:
        sec = res["import"]
        lines += [
            f"### 6. Cold import (fresh process each, median of {sec['reps']})",
            "",
            *_import_table(sec),
            "",
        ]
    if "catalog" in res:
        from .bench_catalog import markdown as catalog_markdown

        lines += [
            "### 7. Catalogue `apply` vs `import` (the CLI against the emulator on SQLite)",
            "",
            catalog_markdown(res["catalog"]),
            "",
        ]
    if record.get("targets"):
        lines += [
            "### Targets (issues 5 and 14)",
            "",
            "Ratios are medians of block-by-block ratios (clients interleaved in shuffled "
            "order each block), with the 25-75 % spread.",
            "",
            "| # | target | measured | 25-75 % | limit | |",
            "|---|---|---:|---:|---|---|",
        ]
        for t in record["targets"]:
            mark = "(context)" if t.get("context") else "met" if t["met"] else "**missed**"
            spread = f"{t['p25']:.2f}-{t['p75']:.2f}" if "p25" in t else "-"
            lines.append(
                f"| {t['scenario']} | {t['target']} | {t['measured']:.2f} | {spread} "
                f"| {t['limit']} | {mark} |"
            )
        lines.append("")
    return "\n".join(lines)


def chart(record: dict[str, Any], path: Path) -> None:
    """A 2x3 grid of bar charts, one per scenario, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = record["results"]
    colors = {
        "payi_async": "#1f77b4",
        STDJSON: "#9ecae1",
        "payi_sync": "#6baed6",
        "aiohttp": "#7f7f7f",
        "vendor_async": "#d62728",
        "vendor_sync": "#ff9896",
    }
    short = {
        "payi_async": "AsyncPayi",
        STDJSON: "AsyncPayi\n(json)",
        "payi_sync": "Payi",
        "aiohttp": "aiohttp",
        "vendor_async": "vendor\nasync",
        "vendor_sync": "vendor\nsync",
    }
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    flat = list(axes.flat)

    def bars(ax: Any, title: str, names: list[str], values: list[float], keys: list[str]) -> None:
        ax.bar(names, values, color=[colors.get(k, "#999999") for k in keys])
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
        for i, value in enumerate(values):
            ax.annotate(f"{value:,.1f}", (i, value), ha="center", va="bottom", fontsize=7)

    if "retrieve_canned" in res:
        rows = res["retrieve_canned"]["rows"]
        bars(
            flat[0],
            "1. retrieve: client CPU µs/call",
            [short[c] for c in rows],
            [r["cpu"] for r in rows.values()],
            list(rows),
        )
    if "page" in res:
        rows = res["page"]["rows"]
        bars(
            flat[1],
            "2. page of 1,000: client CPU ms/page",
            [short[c] for c in rows],
            [r["cpu"] for r in rows.values()],
            list(rows),
        )
    if "iterate" in res:
        sec = res["iterate"]
        ax = flat[2]
        small, large = (str(c) for c in sec["counts"])
        clients = list(sec["rows"])
        xs = range(len(clients))
        ax.bar(
            [x - 0.2 for x in xs],
            [sec["rows"][c][small]["peak_rss_mb"] for c in clients],
            0.4,
            label=f"{int(small):,} items",
        )
        ax.bar(
            [x + 0.2 for x in xs],
            [sec["rows"][c][large]["peak_rss_mb"] for c in clients],
            0.4,
            label=f"{int(large):,} items",
        )
        ax.set_xticks(list(xs), [short[c] for c in clients])
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title("3. auto-pagination: peak RSS MB", fontsize=10)
        ax.legend(fontsize=8)
    if "create" in res:
        rows = res["create"]["rows"]
        keys = list(rows)
        names = [
            short[k.split(":")[0]]
            + {"create_many": "\nmany", "gather": "\nloop", "handoff": "\nfloor"}[k.split(":")[1]]
            for k in keys
        ]
        bars(
            flat[3],
            f"4. creates at concurrency {res['create']['concurrency']}: creates/s",
            names,
            [r["per_second"] for r in rows.values()],
            [k.split(":")[0] for k in keys],
        )
    if "facade" in res:
        rows = res["facade"]["emulator"]["rows"]
        bars(
            flat[4],
            "5. retrieve on the emulator: wall µs/call",
            [short[c] for c in rows],
            [r["wall"] for r in rows.values()],
            list(rows),
        )
    if "import" in res:
        rows = res["import"]["rows"]
        bars(
            flat[5],
            "6. cold import: ms",
            list(rows),
            [r["ms"] for r in rows.values()],
            [
                "payi_async"
                if m.startswith("payi_")
                else "vendor_async"
                if m == "payi"
                else "aiohttp"
                for m in rows
            ],
        )
    for ax in flat:
        if not ax.has_data():
            ax.set_visible(False)
    m = record["machine"]
    fig.suptitle(
        f"payi_async benchmarks - {m['cpus']} CPUs, {m['cpu_model']}, Python {m['python']}"
        + (" (quick)" if record["quick"] else ""),
        fontsize=12,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
