"""``payi-resources`` in-process (``main([...])``) and once as a process for Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _bulk_support import item, threaded_versions_in

from payi_async.cli import main
from payi_async.emulator import Faults, ThreadedPayiServer

COMMANDS = ("categories", "resources", "versions", "import", "export", "delete")


def connect(server: ThreadedPayiServer) -> list[str]:
    """The global options that point the CLI at ``server``."""
    return ["--base-url", server.base_url, "--api-key", server.api_key]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    return path


def catalogue(category: str, n: int) -> list[dict[str, Any]]:
    """Rows with one or two unit types, some optional fields, some second versions."""
    rows = []
    for i in range(n):
        row = item(category, i % (n - 10))  # the last 10 rows are second versions
        if i % 3 == 0:
            row["units"]["image"] = {"input_price": 0.001, "output_price": 0.0}
        if i % 4 == 0:
            row["start_timestamp"] = f"2025-0{1 + i % 9}-15T08:30:00Z"
            row["max_total_units"] = 5000 + i
        if i % 5 == 0:
            del row["max_input_units"]
        rows.append(row)
    return rows


def read_rows(path: Path) -> list[str]:
    return sorted(path.read_text("utf-8").splitlines())


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_import_export_round_trip(
    threaded_server: ThreadedPayiServer,
    tmp_path: Path,
    fmt: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = catalogue("custom.trip", 150)
    source = write_jsonl(tmp_path / "prices.jsonl", rows)
    assert main([*connect(threaded_server), "import", str(source), "--concurrency", "8"]) == 0
    assert "Created 150 of 150 items" in capsys.readouterr().err
    assert len(threaded_versions_in(threaded_server, "custom.trip")) == 150

    first = tmp_path / f"first.{fmt}"
    export = [*connect(threaded_server), "export", "custom.trip", "--all-versions"]
    assert main([*export, "-o", str(first)]) == 0
    lines = first.read_text("utf-8").splitlines()
    image_rows = sum("image" in row["units"] for row in rows)
    assert len(lines) == (150 if fmt == "jsonl" else 1 + 150 + image_rows)

    # Delete everything, import the export, export again: the same rows come back.
    assert main([*connect(threaded_server), "delete", "custom.trip", "--yes"]) == 0
    assert main([*connect(threaded_server), "import", str(first)]) == 0
    second = tmp_path / f"second.{fmt}"
    assert main([*export, "-o", str(second)]) == 0
    assert read_rows(second) == read_rows(first)
    live = [v for v in threaded_versions_in(threaded_server, "custom.trip") if not v.deleted]
    assert len(live) == 150

    # Latest versions only: one row per resource.
    assert main([*connect(threaded_server), "export", "custom.trip", "--format", "jsonl"]) == 0
    latest = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(latest) == len({row["resource"] for row in rows}) == 140


def test_bad_rows_are_all_reported_with_line_numbers_and_nothing_is_sent(
    threaded_server: ThreadedPayiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = json.dumps(item("custom.bad", 1))
    lines = [
        good,  # 1
        "{not json",  # 2
        good,  # 3
        "",  # 4: blank, skipped
        json.dumps(
            {**item("custom.bad", 2), "units": {"text": {"input_price": -1, "output_price": 0}}}
        ),
        json.dumps({**item("custom.bad", 3), "colour": "blue"}),  # 6
        json.dumps({**item("custom.bad", 4), "start_timestamp": "next tuesday"}),  # 7
        "[1, 2]",  # 8
        good,  # 9
    ]
    source = tmp_path / "prices.jsonl"
    source.write_text("\n".join(lines) + "\n", "utf-8")
    report = tmp_path / "bad.jsonl"
    before = threaded_server.request_count

    status = main([*connect(threaded_server), "import", str(source), "--report", str(report)])

    assert status == 2
    err = capsys.readouterr().err
    for line, words in [
        (2, "invalid JSON"),
        (5, "input_price"),
        (6, "colour"),
        (7, "start_timestamp"),
        (8, "JSON object"),
    ]:
        assert f"prices.jsonl:{line}: " in err and words in err, (line, err)
    assert "prices.jsonl:1:" not in err and "prices.jsonl:9:" not in err
    assert "5 bad row(s)" in err and "nothing was sent" in err
    assert [json.loads(r)["_line"] for r in report.read_text().splitlines()] == [2, 5, 6, 7, 8]
    assert threaded_server.request_count == before


def test_bad_csv_rows_and_json_array_items_have_line_numbers(
    threaded_server: ThreadedPayiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "prices.csv"
    csv_file.write_text(
        "category,resource,unit,input_price,output_price,max_input_units\n"
        "custom.c,a,text,0.1,0.2,100\n"
        "custom.c,a,image,0.3,0.4,100\n"
        "custom.c,b,text,cheap,0.2,\n"  # 4
        "custom.c,c,text,0.1,0.2,lots\n"  # 5
        "custom.c,d,text,0.1\n"  # 6
        '"custom.c","e\nf",text,0.1,0.2,\n'  # 7-8: a quoted line break
        ",g,text,0.1,0.2,\n",  # 9: empty category
        "utf-8",
    )
    array_file = tmp_path / "prices.json"
    array_file.write_text(
        '[\n  {"category": "custom.j", "resource": "a", "units": {"text": '
        '{"input_price": 1, "output_price": 2}}},\n'
        '  {"category": "custom.j", "resource": "b"},\n'  # 3
        '  {"category": "custom.j", "resource": "c", "units": {"text": '
        '{"input_price": 1, "output_price": 2}}}\n]\n',
        "utf-8",
    )
    before = threaded_server.request_count

    assert main([*connect(threaded_server), "import", str(csv_file)]) == 2
    err = capsys.readouterr().err
    for line in (4, 5, 6, 9):
        assert f"prices.csv:{line}: " in err, err
    assert "prices.csv:2:" not in err and "prices.csv:7:" not in err

    assert main([*connect(threaded_server), "import", str(array_file)]) == 2
    err = capsys.readouterr().err
    assert "prices.json:3: units is required" in err
    assert threaded_server.request_count == before


def test_failed_items_give_exit_status_1_and_a_report(
    threaded_server: ThreadedPayiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [item("custom.partly", i) for i in range(30)]
    rows[11]["category"] = "system.openai"  # read-only: 403
    source = write_jsonl(tmp_path / "prices.jsonl", rows)
    report = tmp_path / "failures.jsonl"

    status = main([*connect(threaded_server), "import", str(source), "--report", str(report)])

    assert status == 1
    err = capsys.readouterr().err
    assert "prices.jsonl:12: PermissionDeniedError" in err
    assert "Created 29 of 30 items" in err
    (record,) = [json.loads(line) for line in report.read_text().splitlines()]
    assert record["_line"] == 12 and record["_status_code"] == 403
    assert "PermissionDeniedError" in record["_error"]
    assert record["category"] == "system.openai" and record["resource"] == "model-0000011"
    assert len(threaded_versions_in(threaded_server, "custom.partly")) == 29


def test_dry_run_sends_nothing(
    threaded_server: ThreadedPayiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "prices.jsonl", catalogue("custom.dry", 40))
    before = threaded_server.request_count
    assert main([*connect(threaded_server), "import", str(source), "--dry-run"]) == 0
    assert "All 40 items" in capsys.readouterr().err
    assert threaded_server.request_count == before


def test_tables_and_deletes(
    threaded_server: ThreadedPayiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [item("custom.tables", i) for i in range(3)] + [item("custom.tables", 0)]
    source = write_jsonl(tmp_path / "prices.jsonl", rows)
    assert main([*connect(threaded_server), "import", str(source), "--concurrency", "1"]) == 0
    capsys.readouterr()

    assert main([*connect(threaded_server), "categories"]) == 0
    out = capsys.readouterr().out
    assert "custom.tables" in out and "system.openai" in out

    assert main([*connect(threaded_server), "resources", "custom.tables"]) == 0
    out = capsys.readouterr().out
    assert all(f"model-{i:07d}" in out for i in range(3))

    assert main([*connect(threaded_server), "versions", "custom.tables", "model-0000000"]) == 0
    out = capsys.readouterr().out
    ids = [v.resource_id for v in threaded_versions_in(threaded_server, "custom.tables")]
    first, *_, last = [i for i in ids if i in out]
    assert first != last

    delete = [*connect(threaded_server), "delete", "custom.tables"]
    assert main([*delete, "model-0000000", first]) == 0
    assert main([*delete, "model-0000001", "--yes"]) == 0
    assert main([*connect(threaded_server), "export", "custom.tables", "--all-versions"]) == 0
    exported = [json.loads(line)["resource"] for line in capsys.readouterr().out.splitlines()]
    assert sorted(exported) == ["model-0000000", "model-0000002"]
    assert main([*delete, "--yes"]) == 0
    assert main([*connect(threaded_server), "resources", "custom.tables"]) == 1
    assert "404" in capsys.readouterr().err


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"usage: payi-resources {command}" in out
    assert "--api-key" in out and "exit status" in out


def test_help_of_the_tool_and_of_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(command in out for command in (*COMMANDS, "emulator"))
    assert main(["emulator", "--help"]) == 0
    assert "--error-rate" in capsys.readouterr().out
    assert main([]) == 2


def test_without_rich_the_cli_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    assert main(["--api-key", "k", "categories"]) == 2
    assert "pip install 'payi-async[cli]'" in capsys.readouterr().err


def test_importing_the_sdk_does_not_import_rich() -> None:
    code = "import sys, payi_async, payi_async.cli; sys.exit('rich' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_no_api_key_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["categories"]) == 2
    assert "PAYI_API_KEY" in capsys.readouterr().err


def test_environment_variables_are_used(
    threaded_server: ThreadedPayiServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PAYI_BASE_URL", threaded_server.base_url)
    monkeypatch.setenv("PAYI_API_KEY", threaded_server.api_key)
    assert main(["categories"]) == 0
    assert "system.anthropic" in capsys.readouterr().out


def test_ctrl_c_reports_what_was_done(threaded_server: ThreadedPayiServer, tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "prices.jsonl", [item("custom.sigint", i) for i in range(20_000)]
    )
    report = tmp_path / "failures.jsonl"
    threaded_server.set_faults(Faults(latency=0.002))
    code = "import sys; from payi_async.cli import main; sys.exit(main())"
    args = [*connect(threaded_server), "import", str(source), "--report", str(report)]
    env = {**os.environ, "COLUMNS": "200"}
    with subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        give_up = time.monotonic() + 60
        while threaded_server.request_count < 200 and process.poll() is None:
            assert time.monotonic() < give_up, "the import never got going"
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)

    assert process.returncode == 130, err
    assert "Interrupted. Created " in err
    created = int(err.split("Interrupted. Created ")[1].split()[0])
    in_flight = [json.loads(line) for line in report.read_text().splitlines()]
    assert in_flight and all("CancelledError" in r["_error"] for r in in_flight)
    assert f"payi-resources apply {source}" in err
    stored = len(threaded_versions_in(threaded_server, "custom.sigint"))
    assert created <= stored <= created + len(in_flight) < 20_000


def test_unreadable_input_and_bad_options_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = ["--api-key", "k", "--base-url", "http://127.0.0.1:9"]
    assert main([*key, "import", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main([*key, "import", str(tmp_path / "prices.txt")]) == 2
    assert "--format" in capsys.readouterr().err
    source = write_jsonl(tmp_path / "prices.jsonl", [item("custom.x", 1)])
    assert main([*key, "import", str(source), "--concurrency", "0"]) == 2
    assert "--concurrency" in capsys.readouterr().err
