"""``payi-resources import FILE``: check every row, then create them all with a progress bar.

Two passes over the file. The first checks every item and counts them; if any row
is bad, all bad rows are listed with their line numbers and nothing is sent (exit
status 2). The second streams the items into ``create_many``, so memory stays small
however long the file is (apart from a JSON array, which is read whole). Items that
fail are listed with their line numbers; any failure makes the exit status 1. On
Ctrl-C the run stops, the items in flight are counted as failed (they may or may not
have been created), the same account is printed and written, with a pointer to
``payi-resources apply FILE``, which creates what is missing and nothing twice, and
the exit status is 130.

``--report`` is itself an import file (JSON Lines): one import row per bad row or
failed item, with ``_line`` (its line in FILE), ``_error`` and, for an API refusal,
``_status_code`` beside the row's fields; the reader ignores fields starting with
``_``. A row that was not a JSON object is written as ``_line``/``_error`` only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._bulk import BulkFailure, BulkResult
from .._exceptions import APIStatusError
from .._models import ResourceCreate
from ._commands import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    detect_format_or_none,
    make_client,
)
from ._formats import Format, Parsed, Problem, detect_format, import_row, read_items
from ._ui import ImportProgress, Ui

__all__ = ["run_import"]

#: Failures listed on the terminal; the rest go only to ``--report``.
SHOWN_FAILURES = 20
#: Rows checked between two chances for Ctrl-C to stop the check.
CHECK_SLICE = 2000


class InputChanged(Exception):
    """The file no longer reads as it did when it was checked."""


async def _check_file(path: Path, fmt: Format, assume_utc: bool) -> tuple[int, list[Problem]]:
    count = 0
    problems: list[Problem] = []
    for entry in _read(path, fmt, assume_utc):
        if isinstance(entry, Problem):
            problems.append(entry)
        else:
            count += 1
            if count % CHECK_SLICE == 0:
                await asyncio.sleep(0)  # lets Ctrl-C stop a long check
    return count, problems


def _read(path: Path, fmt: Format, assume_utc: bool) -> Iterator[Parsed | Problem]:
    try:
        yield from read_items(path, fmt, assume_utc=assume_utc)
    except OSError as exc:
        raise UsageError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{str(path)!r} is not UTF-8 text: {exc.reason}") from None


def _items(
    path: Path, fmt: Format, assume_utc: bool, lines: array[int]
) -> Iterator[ResourceCreate]:
    """The checked items again, recording each one's line number."""
    for entry in _read(path, fmt, assume_utc):
        if isinstance(entry, Problem):
            raise InputChanged(f"{path} changed while it was imported ({entry})")
        lines.append(entry.line)
        yield entry.item


def _failure_record(failure: BulkFailure, line: int) -> dict[str, Any]:
    """A failed item as an import row, with ``_line``, ``_error`` (and ``_status_code``)."""
    item = failure.item
    record: dict[str, Any] = import_row(item) if isinstance(item, ResourceCreate) else {}
    record["_line"] = line
    record["_error"] = failure.message
    if isinstance(failure.error, asyncio.CancelledError):
        record["_error"] = "CancelledError: in flight when interrupted; it may have been created"
    if isinstance(failure.error, APIStatusError):
        record["_status_code"] = failure.error.status_code
    return record


def _problem_record(problem: Problem) -> dict[str, Any]:
    """A bad row as written in the file (when it was an object), with ``_line``, ``_error``."""
    record: dict[str, Any] = dict(problem.row) if problem.row is not None else {}
    record["_line"] = problem.line
    record["_error"] = problem.message
    return record


def _write_report(path: str, records: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record) + "\n")


def _account(
    ui: Ui,
    args: argparse.Namespace,
    result: BulkResult,
    lines: array[int],
    total: int,
) -> None:
    """Say what the run did and write ``--report``."""
    failures = sorted(result.failed, key=lambda f: f.index)
    records = [_failure_record(f, lines[f.index]) for f in failures]
    if args.report is not None:
        _write_report(args.report, records)
    for record in records[:SHOWN_FAILURES]:
        ui.warn(f"{args.file}:{record['_line']}: {record['_error']}")
    if len(records) > SHOWN_FAILURES:
        more = len(records) - SHOWN_FAILURES
        where = f"all are in {args.report}" if args.report else "pass --report FILE for all"
        ui.warn(f"... and {more} more failures ({where})")
    summary = (
        f"Created {len(result.created)} of {total} item{'' if total == 1 else 's'} "
        f"from {args.file}; "
        f"{len(result.failed)} failed"
    )
    if result.interrupted:
        unread = total - result.read
        ui.interrupted(f"{summary}; {unread} not sent.")
        if result.failed:
            ui.warn(
                "Items that were in flight are counted as failed: they may or may not "
                "have been created."
            )
        ui.info(
            f"To finish, run: payi-resources apply {args.file}\n"
            "It creates only the versions the server does not hold yet, so nothing is "
            "created twice (importing the file again would duplicate what was created)."
        )
    elif result.failed:
        ui.warn(f"{summary}.")
    else:
        ui.success(f"{summary}.")
    if args.report is not None and records:
        ui.info(
            f"Failures written to {args.report}: import rows, with _line and _error beside "
            f"them. Fix them, then run: payi-resources apply {args.report} (it skips what "
            "the server already holds; import would create those again)"
        )


async def run_import(args: argparse.Namespace, ui: Ui) -> int:
    """The ``import`` command."""
    path = Path(args.file)
    try:
        fmt = detect_format(path, args.format)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, not {args.concurrency}")

    if args.report is not None and detect_format_or_none(args.report) in ("csv", "json"):
        raise UsageError(
            f"--report writes JSON Lines (import rows with _line and _error); "
            f"name it .jsonl, not {Path(args.report).suffix}"
        )
    total, problems = await _check_file(path, fmt, args.assume_utc)
    if problems:
        for problem in problems:
            ui.error(f"{args.file}:{problem.line}: {problem.message}")
        ui.error(f"{len(problems)} bad row(s) in {args.file}; nothing was sent.")
        if args.report is not None:
            _write_report(args.report, [_problem_record(p) for p in problems])
        return EXIT_USAGE
    if args.dry_run:
        every = "The 1 item" if total == 1 else f"All {total} items"
        verb = "is" if total == 1 else "are"
        ui.success(f"{every} in {args.file} {verb} valid ({fmt}); nothing was sent.")
        return EXIT_OK

    result = BulkResult()
    lines: array[int] = array("q")
    async with make_client(args) as client:
        try:
            with ImportProgress(ui, total, f"Importing {path.name}") as progress:
                await client.categories.resources.create_many(
                    _items(path, fmt, args.assume_utc, lines),
                    concurrency=args.concurrency,
                    total=total,
                    on_progress=progress,
                    result=result,
                )
        except InputChanged as exc:
            ui.error(str(exc))
            _account(ui, args, result, lines, total)
            return EXIT_FAILED
        except (asyncio.CancelledError, KeyboardInterrupt):
            _account(ui, args, result, lines, total)
            raise
    _account(ui, args, result, lines, total)
    return EXIT_OK if result.ok else EXIT_FAILED
