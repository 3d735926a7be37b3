"""``payi-resources`` polish (issue 12, point 4; issue 15, output): BOM-tolerant CSV,
the one timestamp rule in files, ``--timeout`` and retry lines, ids that never wrap,
``--json``, ``export --with-ids``, confirmed deletes, Ctrl-C, a closed stdout pipe,
file permissions, an importable ``--report``, and output that reads well piped."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from _bulk_support import item, threaded_versions_in

from payi_async import CategoryResourceResponse, Units
from payi_async._validation import timestamp
from payi_async.cli import main
from payi_async.cli._formats import csv_rows, import_row
from payi_async.emulator import Faults, ThreadedPayiServer

ROOT = Path(__file__).resolve().parents[2]
CLI = "import sys; from payi_async.cli import main; sys.exit(main())"
CSV_HEADER = "category,resource,unit,input_price,output_price,max_input_units,start_timestamp\n"


def connect(server: ThreadedPayiServer) -> list[str]:
    return ["--base-url", server.base_url, "--api-key", server.api_key]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    return path


def seed(server: ThreadedPayiServer, tmp_path: Path, category: str, n: int) -> list[str]:
    """Import ``n`` generated rows into ``category``; the ids of the versions made."""
    source = write_jsonl(tmp_path / f"{category}.jsonl", [item(category, i) for i in range(n)])
    assert main([*connect(server), "import", str(source), "--concurrency", "32"]) == 0
    return [v.resource_id for v in threaded_versions_in(server, category)]


def cli_process(
    args: list[str], *, stdin: int | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def live(server: ThreadedPayiServer, category: str) -> list[Any]:
    return [v for v in threaded_versions_in(server, category) if not v.deleted]


# ---------------------------------------------------------------- files in


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_a_file_with_a_utf8_byte_order_mark_imports(
    threaded_server: ThreadedPayiServer, tmp_path: Path, fmt: str
) -> None:
    # Excel's "CSV UTF-8" starts the file with U+FEFF.
    if fmt == "csv":
        text = CSV_HEADER + "custom.bom,a,text,0.1,0.2,100,2025-01-01T00:00:00Z\n"
    else:
        row = json.dumps(item("custom.bom", 1))
        text = f"[{row}]\n" if fmt == "json" else row + "\n"
    source = tmp_path / f"excel.{fmt}"
    source.write_text("\ufeff" + text, "utf-8")
    assert main([*connect(threaded_server), "import", str(source)]) == 0
    assert len(threaded_versions_in(threaded_server, "custom.bom")) == 1


def test_an_offset_less_timestamp_in_a_file_is_refused_unless_assume_utc(
    threaded_server: ThreadedPayiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "prices.csv"
    source.write_text(
        CSV_HEADER
        + "custom.tz,a,text,0.1,0.2,100,2025-01-01T09:30:00\n"
        + "custom.tz,b,text,0.1,0.2,100,2025-01-01T09:30:00+02:00\n",
        "utf-8",
    )
    before = threaded_server.request_count
    assert main([*connect(threaded_server), "import", str(source)]) == 2
    err = capsys.readouterr().err
    # The same words as create(start_timestamp=<naive datetime>) says.
    with pytest.raises(ValueError, match="timezone-aware") as naive:
        timestamp("start_timestamp", datetime(2025, 1, 1, 9, 30))
    assert f"prices.csv:2: {naive.value}" in " ".join(err.split())
    assert "prices.csv:3" not in err
    assert threaded_server.request_count == before

    assert main([*connect(threaded_server), "import", str(source), "--assume-utc"]) == 0
    starts = sorted(v.start_timestamp for v in threaded_versions_in(threaded_server, "custom.tz"))
    assert starts == ["2025-01-01T07:30:00.000000Z", "2025-01-01T09:30:00.000000Z"]


# ---------------------------------------------------------------- --timeout and retries


def test_timeout_option_and_a_line_for_each_retry(
    threaded_server: ThreadedPayiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    threaded_server.set_faults(Faults(latency=5.0))  # accepts, then says nothing for 5 s
    started = time.monotonic()
    status = main([*connect(threaded_server), "--timeout", "0.3", "categories"])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert status == 1
    assert "retrying (2/3) after a read timeout\u2026" in err
    assert "retrying (3/3) after a read timeout\u2026" in err
    assert "read timeout" in err.split("error:")[1]
    assert elapsed < 4.5  # three 0.3 s attempts and their backoff, not 3 x 60 s
    assert main(["--api-key", "k", "categories", "--timeout", "0"]) == 2
    assert "positive number of seconds" in capsys.readouterr().err


def test_import_shows_the_latest_retry_beneath_its_progress_bar(
    threaded_server: ThreadedPayiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "prices.jsonl", [item("custom.r", i) for i in range(60)])
    threaded_server.set_faults(Faults(error_rate=0.3, error_statuses=(503,), seed=2))
    args = [*connect(threaded_server), "--max-retries", "10", "import", str(source)]
    assert main(args) == 0
    err = capsys.readouterr().err
    # One line beneath the bar, not one per retry.
    status = r"^retrying \(\d+/11\) after status 503\u2026 \(\d+ retr(y|ies) so far\)$"
    assert len(re.findall(status, err, re.MULTILINE)) == 1, err
    assert "Created 60 of 60" in err


# ---------------------------------------------------------------- tables and --json


def test_versions_never_wraps_an_id_even_in_a_narrow_terminal(
    threaded_server: ThreadedPayiServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [item("custom.ids", 0) for _ in range(3)]
    source = write_jsonl(tmp_path / "p.jsonl", rows)
    assert main([*connect(threaded_server), "import", str(source)]) == 0
    ids = [v.resource_id for v in threaded_versions_in(threaded_server, "custom.ids")]
    assert len(ids) == 3 and all(len(i) >= 20 for i in ids)
    versions = [*connect(threaded_server), "versions", "custom.ids", "model-0000000"]
    monkeypatch.setenv("FORCE_COLOR", "1")  # a terminal, 60 columns wide
    monkeypatch.setenv("COLUMNS", "60")
    capsys.readouterr()
    assert main(versions) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 5
    for resource_id in ids:
        assert any(resource_id in line for line in lines), (resource_id, lines)


def test_json_instead_of_every_table(
    threaded_server: ThreadedPayiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seed(threaded_server, tmp_path, "custom.json", 3)
    capsys.readouterr()
    assert main([*connect(threaded_server), "categories", "--json"]) == 0
    names = [c["category"] for c in json.loads(capsys.readouterr().out)]
    assert "custom.json" in names and "system.openai" in names
    assert main([*connect(threaded_server), "resources", "custom.json", "--json"]) == 0
    latest = json.loads(capsys.readouterr().out)
    assert sorted(v["resource_id"] for v in latest) == sorted(ids)
    versions = [*connect(threaded_server), "versions", "custom.json", "model-0000001", "--json"]
    assert main(versions) == 0
    (only,) = json.loads(capsys.readouterr().out)
    assert only["resource"] == "model-0000001" and only["units"]["text"]["input_price"] == 1e-7


# ---------------------------------------------------------------- export


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_with_ids_and_the_export_imports_again(
    threaded_server: ThreadedPayiServer,
    tmp_path: Path,
    fmt: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = seed(threaded_server, tmp_path, f"custom.wid{fmt}", 4)
    out = tmp_path / f"export.{fmt}"
    export = [*connect(threaded_server), "export", f"custom.wid{fmt}", "--with-ids"]
    assert main([*export, "-o", str(out)]) == 0
    text = out.read_text("utf-8")
    if fmt == "jsonl":
        rows = [json.loads(line) for line in text.splitlines()]
        assert sorted(row["resource_id"] for row in rows) == sorted(ids)
    else:
        header, *lines = text.splitlines()
        assert header.endswith(",start_timestamp,resource_id")
        assert sorted(line.rsplit(",", 1)[1] for line in lines) == sorted(ids)
    # The ids are accepted and ignored: importing makes new versions.
    assert main([*connect(threaded_server), "import", str(out)]) == 0
    assert len(live(threaded_server, f"custom.wid{fmt}")) == 8
    assert main([*connect(threaded_server), "export", f"custom.wid{fmt}"]) == 0
    assert "resource_id" not in capsys.readouterr().out


# ---------------------------------------------------------------- delete asks first


def test_a_whole_delete_without_yes_and_without_a_terminal_is_refused(
    threaded_server: ThreadedPayiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seed(threaded_server, tmp_path, "custom.keep", 2)
    before = threaded_server.request_count
    assert main([*connect(threaded_server), "delete", "custom.keep"]) == 2
    assert main([*connect(threaded_server), "delete", "custom.keep", "model-0000000"]) == 2
    err = capsys.readouterr().err
    assert err.count("pass --yes") == 2 and "whole category" in err and "whole resource" in err
    assert threaded_server.request_count == before
    assert len(live(threaded_server, "custom.keep")) == 2
    # One version is deleted without asking; --yes deletes a whole resource.
    first = next(v for v in live(threaded_server, "custom.keep") if v.resource_id == ids[0])
    one = [*connect(threaded_server), "delete", "custom.keep", first.resource, first.resource_id]
    assert main(one) == 0
    assert len(live(threaded_server, "custom.keep")) == 1
    assert main([*connect(threaded_server), "delete", "custom.keep", "--yes"]) == 0
    assert live(threaded_server, "custom.keep") == []


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    """A pseudo-terminal: (the side a user types into, the side a process reads)."""
    user, process = pty.openpty()
    try:
        yield user, process
    finally:
        for fd in (user, process):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.mark.parametrize(("answer", "status", "left"), [(b"n\n", 1, 3), (b"yes\n", 0, 0)])
def test_a_whole_delete_asks_on_a_terminal(
    threaded_server: ThreadedPayiServer,
    tmp_path: Path,
    terminal: tuple[int, int],
    answer: bytes,
    status: int,
    left: int,
) -> None:
    seed(threaded_server, tmp_path, "custom.ask", 3)
    user, process_side = terminal
    with cli_process([*connect(threaded_server), "delete", "custom.ask"], stdin=process_side) as p:
        os.write(user, answer)
        _, err = p.communicate(timeout=60)
    assert p.returncode == status, err
    assert "Delete category custom.ask and every version of its 3 resources? [y/N]" in err
    assert len(live(threaded_server, "custom.ask")) == left


# ---------------------------------------------------------------- Ctrl-C


def interrupt(process: subprocess.Popen[str], times: int, gap: float = 0.005) -> str:
    for _ in range(times):
        process.send_signal(signal.SIGINT)
        time.sleep(gap)
    _, err = process.communicate(timeout=60)
    return err


def test_many_quick_ctrl_c_during_an_import_end_in_one_clean_interrupted(
    threaded_server: ThreadedPayiServer, tmp_path: Path
) -> None:
    rows = [item("custom.storm", i) for i in range(20_000)]
    source = write_jsonl(tmp_path / "prices.jsonl", rows)
    threaded_server.set_faults(Faults(latency=0.002))
    report = tmp_path / "failures.jsonl"
    args = [*connect(threaded_server), "import", str(source), "--report", str(report)]
    with cli_process(args, env={"COLUMNS": "200"}) as process:
        give_up = time.monotonic() + 60
        while threaded_server.request_count < 200 and process.poll() is None:
            assert time.monotonic() < give_up, "the import never got going"
            time.sleep(0.02)
        err = interrupt(process, times=8)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.count("Interrupted.") == 1, err
    assert f"payi-resources apply {source}" in err
    assert "without duplicates" in err or "nothing is created twice" in err
    in_flight = [json.loads(line) for line in report.read_text().splitlines()]
    assert in_flight  # the account was written despite the storm
    assert all("in flight when interrupted" in r["_error"] for r in in_flight)


def test_many_quick_ctrl_c_during_a_slow_request(threaded_server: ThreadedPayiServer) -> None:
    threaded_server.set_faults(Faults(latency=10.0))
    with cli_process([*connect(threaded_server), "categories"]) as process:
        give_up = time.monotonic() + 30
        while threaded_server.request_count < 1:
            assert time.monotonic() < give_up, "the request never arrived"
            time.sleep(0.02)
        started = time.monotonic()
        err = interrupt(process, times=5, gap=0.001)
    assert process.returncode == 130, err
    assert err.strip() == "Interrupted.", err
    assert time.monotonic() - started < 9  # did not wait for the 10 s answer


def test_ctrl_c_at_the_delete_question(
    threaded_server: ThreadedPayiServer, tmp_path: Path, terminal: tuple[int, int]
) -> None:
    seed(threaded_server, tmp_path, "custom.q", 2)
    _, process_side = terminal
    args = [*connect(threaded_server), "delete", "custom.q"]
    with cli_process(args, stdin=process_side) as process:
        assert process.stderr is not None
        seen = b""
        give_up = time.monotonic() + 30
        while b"[y/N]" not in seen:
            assert time.monotonic() < give_up, seen
            ready, _, _ = select.select([process.stderr], [], [], 0.1)
            if ready:
                seen += os.read(process.stderr.fileno(), 4096)
        err = seen.decode() + interrupt(process, times=3)
    assert process.returncode == 130, err
    assert err.count("Interrupted.") == 1 and "Traceback" not in err, err
    assert len(live(threaded_server, "custom.q")) == 2


def test_ctrl_c_stops_the_check_of_a_long_file(tmp_path: Path) -> None:
    line = json.dumps(item("custom.long", 1)) + "\n"
    source = tmp_path / "long.jsonl"
    source.write_text(line * 150_000, "utf-8")  # a check of a second or more
    args = ["--api-key", "k", "--base-url", "http://127.0.0.1:9", "import", str(source)]
    with cli_process([*args, "--dry-run"]) as process:
        fds = Path(f"/proc/{process.pid}/fd")
        give_up = time.monotonic() + 30
        while not any(_points_to(fd, source) for fd in fds.iterdir()):  # reading it now
            assert process.poll() is None and time.monotonic() < give_up
            time.sleep(0.005)
        err = interrupt(process, times=2)
    assert process.returncode == 130, err
    assert err.strip() == "Interrupted.", err


def _points_to(fd: Path, target: Path) -> bool:
    try:
        return os.readlink(fd) == str(target)
    except OSError:
        return False


# ---------------------------------------------------------------- stdout closed early


def test_export_into_a_pipe_closed_after_one_line_ends_quietly_with_0(
    threaded_server: ThreadedPayiServer, tmp_path: Path
) -> None:
    seed(threaded_server, tmp_path, "custom.pipe", 3000)  # ~450 kB: more than a pipe holds
    with cli_process([*connect(threaded_server), "export", "custom.pipe"]) as process:
        assert process.stdout is not None and process.stderr is not None
        first = json.loads(process.stdout.readline())  # as `| head -1` does
        process.stdout.close()
        err = process.stderr.read()
        process.wait(timeout=60)
    assert first["category"] == "custom.pipe"
    assert process.returncode == 0, err
    assert err == ""


# ---------------------------------------------------------------- files out


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_export_file_permissions_follow_the_umask(
    threaded_server: ThreadedPayiServer, tmp_path: Path, umask: int, mode: int
) -> None:
    seed(threaded_server, tmp_path, "custom.perm", 2)
    out = tmp_path / "export.jsonl"
    previous = os.umask(umask)
    try:
        assert main([*connect(threaded_server), "export", "custom.perm", "-o", str(out)]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(out).st_mode) == mode


def test_export_over_an_existing_file_keeps_its_mode(
    threaded_server: ThreadedPayiServer, tmp_path: Path
) -> None:
    seed(threaded_server, tmp_path, "custom.keepmode", 2)
    out = tmp_path / "export.csv"
    out.write_text("old\n")
    os.chmod(out, 0o604)
    assert main([*connect(threaded_server), "export", "custom.keepmode", "-o", str(out)]) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o604
    assert out.read_text().startswith("category,resource,unit")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


# ---------------------------------------------------------------- --report imports again


def test_the_report_of_failed_items_is_an_import_file(
    threaded_server: ThreadedPayiServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [item("custom.again", i) for i in range(10)]
    rows[3]["category"] = "system.openai"  # read-only: 403
    rows[7]["category"] = "system.anthropic"
    source = write_jsonl(tmp_path / "prices.jsonl", rows)
    report = tmp_path / "failures.jsonl"
    assert main([*connect(threaded_server), "import", str(source), "--report", str(report)]) == 1
    assert f"payi-resources apply {report}" in " ".join(capsys.readouterr().err.split())
    failed = [json.loads(line) for line in report.read_text().splitlines()]
    assert [(r["_line"], r["_status_code"], r["resource"]) for r in failed] == [
        (4, 403, "model-0000003"),
        (8, 403, "model-0000007"),
    ]
    # As written, it is read without complaint (the _ fields are ignored) ...
    assert main([*connect(threaded_server), "import", str(report), "--dry-run"]) == 0
    # ... and once fixed, it imports: the two missing versions, nothing else.
    write_jsonl(report, [{**r, "category": "custom.again"} for r in failed])
    assert main([*connect(threaded_server), "import", str(report)]) == 0
    assert len(live(threaded_server, "custom.again")) == 10


def test_the_report_of_bad_rows_holds_the_rows_to_fix(
    threaded_server: ThreadedPayiServer, tmp_path: Path
) -> None:
    good = item("custom.fix", 1)
    bad_price = {**item("custom.fix", 2), "units": {"text": {"input_price": -1, "output_price": 0}}}
    source = tmp_path / "prices.jsonl"
    source.write_text(f"{json.dumps(good)}\n{{oops\n{json.dumps(bad_price)}\n", "utf-8")
    report = tmp_path / "bad.jsonl"
    assert main([*connect(threaded_server), "import", str(source), "--report", str(report)]) == 2
    not_json, price = [json.loads(line) for line in report.read_text().splitlines()]
    assert not_json["_line"] == 2 and "invalid JSON" in not_json["_error"]
    assert price["_line"] == 3 and "input_price" in price["_error"]
    assert price["resource"] == "model-0000002"
    price["units"]["text"]["input_price"] = 0.5  # fixed
    write_jsonl(report, [price])
    assert main([*connect(threaded_server), "import", str(report)]) == 0
    (made,) = threaded_versions_in(threaded_server, "custom.fix")
    assert made.resource == "model-0000002"


# ---------------------------------------------------------------- output out of a terminal


def test_the_cli_demo_piped_breaks_no_word(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "40"}  # out of a terminal, the width does not matter
    env.pop("FORCE_COLOR", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo_cli.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out
    assert "\x1b[" not in out
    lines = out.splitlines()
    price_list = ROOT / "examples" / "price_list.jsonl"
    rows = [json.loads(line) for line in price_list.read_text("utf-8").splitlines() if line]

    def whole(text: str) -> bool:
        return any(text in line for line in lines)

    for sentence in (
        f"All {len(rows)} items in {price_list} are valid (jsonl); nothing was sent.",
        f"Created {len(rows)} of {len(rows)} items from {price_list}; 0 failed.",
        "The counts agree: every row was created exactly once, despite the faults.",
        "Anthropic's Claude models",
    ):
        assert whole(sentence), sentence
    exported = r"Exported \d+ versions of 6 categories to \S+export\.csv \(\d+ csv rows\)"
    assert re.search(exported, out)
    # Every cell of the two tables is whole: a name, or empty on a continuation line.
    categories = {row["category"] for row in rows}
    shown = re.search(r"=== payi-resources resources (\S+)", out)
    assert shown is not None
    names = {row["resource"] for row in rows if row["category"] == shown.group(1)}
    # The first cells of the categories and resources tables (later tables hold plans).
    section, first_cells = "", []
    for line in lines:
        if line.startswith("=== "):
            section = line
        elif line.startswith("\u2502") and section.startswith(
            ("=== payi-resources categories", "=== payi-resources resources")
        ):
            first_cells.append(line.split("\u2502")[1].strip())
    for name in categories | names:
        assert name in first_cells, name
    known = categories | names | {"system.openai", "system.anthropic", "system.azureopenai"}
    assert all(cell == "" or cell in known or cell.startswith("system.") for cell in first_cells)


def test_no_color_is_honoured(
    threaded_server: ThreadedPayiServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    missing = [*connect(threaded_server), "resources", "custom.nowhere"]
    assert main(missing) == 1
    coloured = capsys.readouterr().err
    assert "\x1b[" in coloured and "31" in coloured  # red "error:"
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(missing) == 1
    plain = capsys.readouterr().err
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m", plain) and "error:" in plain

    def words(text: str) -> str:  # the same message, whatever its request id
        return re.sub(r"\x1b\[[0-9;]*m|request_id=[0-9a-f-]+", "", text)

    assert words(plain) == words(coloured)


def test_a_report_named_as_another_format_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "prices.jsonl", [item("custom.x", 1)])
    key = ["--api-key", "k", "--base-url", "http://127.0.0.1:9"]
    assert main([*key, "import", str(source), "--report", str(tmp_path / "bad.csv")]) == 2
    assert "name it .jsonl" in capsys.readouterr().err
    assert not (tmp_path / "bad.csv").exists()


def test_an_exported_server_time_without_an_offset_is_written_as_utc() -> None:
    # The server's clock is UTC; a row written from its answer must import again.
    version = CategoryResourceResponse(
        resource_id="rid",
        category="custom.c",
        resource="r",
        units={"text": Units(0.1, 0.2)},
        start_timestamp="2025-03-01T12:00:00",
    )
    row = import_row(version, with_id=True)
    assert row["start_timestamp"] == "2025-03-01T12:00:00+00:00"
    assert row["resource_id"] == "rid"
    (cells,) = csv_rows(version)
    assert cells[-1] == "2025-03-01T12:00:00+00:00"
    untimely = attrs.evolve(version, start_timestamp="whenever")
    # Not a time at all: left as it is, for the import to report.
    assert import_row(untimely)["start_timestamp"] == "whenever"
