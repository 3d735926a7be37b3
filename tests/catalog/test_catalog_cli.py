"""``payi-resources plan / apply / price / cost``, in-process and as processes (Ctrl-C)."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _catalog_support import expected_counts, live_counts, price_file, write_jsonl

from payi_async.cli import main
from payi_async.emulator import ThreadedPayiServer


@pytest.fixture
def emulator(db: Path) -> Iterator[ThreadedPayiServer]:
    with ThreadedPayiServer(db=str(db)) as server:
        yield server


def connect(url: str, key: str = "payi-emulator-key") -> list[str]:
    return ["--base-url", url, "--api-key", key, "--max-retries", "8"]


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str], status: int = 0) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    assert main(argv) == status, capsys.readouterr().err
    out: dict = json.loads(capsys.readouterr().out)  # type: ignore[type-arg]
    return out


def test_plan_apply_plan(
    emulator: ThreadedPayiServer, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = price_file("custom.cli", 30)
    source = write_jsonl(tmp_path / "prices.jsonl", rows)
    base = connect(emulator.base_url)
    planned = run_json(capsys, [*base, "plan", str(source), "--json"])
    assert planned == {"create": rows, "unchanged": [], "delete": []}
    assert main([*base, "plan", str(source)]) == 0
    assert f"Plan: {len(rows)} to create, 0 unchanged, 0 to delete" in capsys.readouterr().out

    assert main([*base, "apply", str(source)]) == 0
    err = capsys.readouterr().err
    assert f"The catalogue matches {source}: {len(rows)} created, 0 deleted" in err
    assert live_counts(db, "custom.cli") == expected_counts(rows)

    again = run_json(capsys, [*base, "plan", str(source), "--json"])
    assert again == {"create": [], "unchanged": rows, "delete": []}
    emulator.server.clear_log()
    assert main([*base, "apply", str(source)]) == 0
    assert "Nothing to do" in capsys.readouterr().err
    assert {r.method for r in emulator.requests} == {"GET"}

    changed = [dict(r, max_input_units=1) if i < 10 else r for i, r in enumerate(rows)]
    source = write_jsonl(tmp_path / "changed.jsonl", changed)
    assert len(run_json(capsys, [*base, "plan", str(source), "--json"])["create"]) == 10
    result = run_json(capsys, [*base, "apply", str(source), "--json"])
    assert result["ok"] is True and len(result["created"]) == 10
    assert len(result["plan"]["create"]) == 10


def test_prune_asks_unless_yes(
    emulator: ThreadedPayiServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = connect(emulator.base_url)
    rows = price_file("custom.prune", 12)
    assert main([*base, "apply", str(write_jsonl(tmp_path / "all.jsonl", rows))]) == 0
    dropped = rows[-1]["resource"]
    kept = write_jsonl(tmp_path / "kept.jsonl", [r for r in rows if r["resource"] != dropped])

    def resources() -> set[str]:
        capsys.readouterr()
        main([*base, "export", "custom.prune"])
        return {json.loads(line)["resource"] for line in capsys.readouterr().out.splitlines()}

    planned = run_json(capsys, [*base, "plan", str(kept), "--prune", "--json"])
    assert [v["resource"] for v in planned["delete"]] == [dropped]
    assert planned["delete"][0]["resource_id"]
    assert main([*base, "apply", str(kept)]) == 0  # no --prune: nothing to delete
    assert dropped in resources()

    for answer in ("n\n", ""):  # a "no", then end of input
        monkeypatch.setattr(sys, "stdin", io.StringIO(answer))
        capsys.readouterr()
        assert main([*base, "apply", str(kept), "--prune"]) == 1
        err = capsys.readouterr().err
        assert (
            "Delete 1 resource(s) not named in the file (every version of each)? [y/N]" in err
            and "Not deleting 1 resource(s)" in err
        )
        assert dropped in resources()

    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    assert main([*base, "apply", str(kept), "--prune"]) == 0
    assert dropped not in resources()

    # --yes deletes without asking (stdin would say no).
    fewer = write_jsonl(
        tmp_path / "fewer.jsonl",
        [r for r in rows if r["resource"] != rows[0]["resource"] and r["resource"] != dropped],
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    capsys.readouterr()
    assert main([*base, "apply", str(fewer), "--prune", "--yes"]) == 0
    assert "Delete 1" not in capsys.readouterr().err
    assert rows[0]["resource"] not in resources()


def test_price_and_cost(
    emulator: ThreadedPayiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = connect(emulator.base_url)
    units = {"text": {"input_price": 1.5e-05, "output_price": 6e-05}}
    rows = [
        {
            "category": "custom.p",
            "resource": "m",
            "units": units,
            "start_timestamp": "2025-01-01T00:00:00Z",
        },
        {
            "category": "custom.p",
            "resource": "m",
            "units": {"text": {"input_price": 1.0, "output_price": 1.0}},
            "start_timestamp": "2099-01-01T00:00:00Z",
        },
    ]
    assert main([*base, "apply", str(write_jsonl(tmp_path / "p.jsonl", rows))]) == 0
    version = run_json(capsys, [*base, "price", "custom.p", "m", "--json"])
    assert version["units"] == units and version["start_timestamp"].startswith("2025-01-01")
    assert main([*base, "price", "custom.p", "m", "--at", "2025-06-01T00:00:00+02:00"]) == 0
    assert "in effect at 2025-06-01T00:00:00+02:00" in capsys.readouterr().out

    cost = run_json(
        capsys,
        [
            *base,
            "cost",
            "custom.p",
            "m",
            "text=1000000:200000",
            "--at",
            "2025-06-01T00:00:00Z",
            "--json",
        ],
    )
    assert cost == {
        "cost": "27",
        "resource_id": version["resource_id"],
        "at": "2025-06-01T00:00:00+00:00",
    }
    assert main([*base, "cost", "custom.p", "m", "text=3:0"]) == 0
    assert capsys.readouterr().out.strip() == "0.000045"
    later = run_json(
        capsys,
        [*base, "cost", "custom.p", "m", "text=2:1", "--at", "2100-01-01T00:00:00Z", "--json"],
    )
    assert later["cost"] == "3"

    assert main([*base, "cost", "custom.p", "m", "image=1:1"]) == 1
    assert "unit 'image' is not priced" in capsys.readouterr().err
    assert main([*base, "cost", "custom.p", "m", "text=1.5:1"]) == 2
    assert "UNIT=INPUT:OUTPUT" in capsys.readouterr().err
    assert main([*base, "price", "custom.p", "m", "--at", "2025-01-01T00:00:00"]) == 2
    assert "--at must be timezone-aware" in capsys.readouterr().err
    assert main([*base, "price", "custom.p", "m", "--at", "2024-01-01T00:00:00Z"]) == 1
    assert "is in effect at 2024-01-01" in capsys.readouterr().err


def test_bad_rows_are_listed_and_nothing_is_sent(
    emulator: ThreadedPayiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = connect(emulator.base_url)
    source = tmp_path / "bad.jsonl"
    source.write_text('{"category": "custom.b", "resource": "m"}\n[1]\n', "utf-8")
    emulator.server.clear_log()
    for command in ("plan", "apply"):
        assert main([*base, command, str(source)]) == 2
        assert "bad.jsonl:1:" in capsys.readouterr().err
    row = {
        "category": "custom.b",
        "resource": "m",
        "units": {"t": {"input_price": 1, "output_price": 1}},
    }
    twice = write_jsonl(tmp_path / "twice.jsonl", [row, {**row, "max_input_units": 3}])
    assert main([*base, "apply", str(twice)]) == 2
    assert "both describe" in capsys.readouterr().err
    assert emulator.requests == []


# ---------------------------------------------------------------- Ctrl-C at random moments


def _stored(db: Path, category: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM resources WHERE category = ? AND deleted_at IS NULL", (category,)
        ).fetchone()
    return int(count)


@pytest.fixture
def emulator_process(db: Path) -> Iterator[str]:
    """An emulator in its own process: SQLite file, latency, writes that fail after
    committing, and ``Idempotency-Key`` ignored."""
    args = [
        sys.executable, "-m", "payi_async.emulator", "--db", str(db), "--latency", "0.005",
        "--fail-after-commit-rate", "0.1", "--ignore-idempotency", "--seed", "5",
    ]  # fmt: skip
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            yield process.stdout.readline().strip()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_apply_interrupted_anywhere_then_again_gives_each_version_once(
    emulator_process: str,
    db: Path,
    tmp_path: Path,
    seed: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rng = random.Random(seed)
    category = f"custom.sigint{seed}"
    rows = price_file(category, 240)
    source = write_jsonl(tmp_path / "prices.jsonl", rows)
    base = connect(emulator_process)
    code = "import sys; from payi_async.cli import main; sys.exit(main())"
    argv = [*base, "apply", str(source), "--concurrency", "8"]
    # Interrupt once this many versions are stored (0: while it starts up or plans).
    target = {0: 0, 3: len(rows)}.get(seed % 4, rng.randint(1, len(rows) // 2 - 1))
    with subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    ) as process:
        give_up = time.monotonic() + 60
        if target == 0:
            time.sleep(rng.uniform(0.3, 1.0))
        while _stored(db, category) < target and process.poll() is None:
            assert time.monotonic() < give_up, "the apply never got going"
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode in (0, 130, -signal.SIGINT), err
    if 0 < target < len(rows) // 2:  # stopped mid-creates: it says how to finish
        assert process.returncode == 130, err
        assert "Run the same apply again" in err and "Interrupted." in err
    before = _stored(db, category)

    capsys.readouterr()
    assert main(argv) == 0, capsys.readouterr().err
    counts = live_counts(db, category)
    assert counts == expected_counts(rows), (target, before)
    assert max(counts.values()) == 1 and sum(counts.values()) == len(rows)
    assert run_json(capsys, [*base, "plan", str(source), "--json"])["create"] == []
