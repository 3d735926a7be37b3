"""The catalogue commands: ``plan``, ``apply``, ``price`` and ``cost``.

``plan FILE`` shows how the live catalogue differs from a price file; ``apply FILE``
makes it match (asking before deleting, unless ``--yes``) and exits 0 only when it
does; ``price`` and ``cost`` answer from the version in effect at a moment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
from rich.markup import escape
from rich.table import Table

from .._bulk import BulkProgress
from .._catalog import CatalogPlan, CatalogResult
from .._models import CategoryResourceResponse, ResourceCreate
from .._validation import parse_timestamp
from ._commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, make_client
from ._formats import Problem, detect_format, import_row, read_items
from ._ui import ImportProgress, Ui, versions_table

__all__ = ["apply", "cost", "plan", "price"]


class _BadRows(Exception):
    """The file has rows that cannot be created; they were listed."""


def _read(args: argparse.Namespace, ui: Ui) -> list[ResourceCreate]:
    path = Path(args.file)
    try:
        fmt = detect_format(path, args.format)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    items: list[ResourceCreate] = []
    problems: list[Problem] = []
    try:
        for entry in read_items(path, fmt):
            if isinstance(entry, Problem):
                problems.append(entry)
            else:
                items.append(entry.item)
    except OSError as exc:
        raise UsageError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{str(path)!r} is not UTF-8 text: {exc.reason}") from None
    if problems:
        for problem in problems:
            ui.error(f"{args.file}:{problem.line}: {problem.message}")
        ui.error(f"{len(problems)} bad row(s) in {args.file}; nothing was sent.")
        raise _BadRows
    return items


def _units(item: ResourceCreate | CategoryResourceResponse) -> str:
    return "\n".join(
        f"{name}: {getattr(u, 'input_price', None)!r} / {getattr(u, 'output_price', None)!r}"
        for name, u in item.units.items()
    )


def _limits(item: ResourceCreate | CategoryResourceResponse) -> str:
    names = (("in", "max_input_units"), ("out", "max_output_units"), ("total", "max_total_units"))
    return " ".join(
        f"{short} {getattr(item, n):,}" for short, n in names if getattr(item, n) is not None
    )


#: Rows of a plan shown in its table; ``--json`` lists them all.
SHOWN_ROWS = 50


def plan_table(plan: CatalogPlan, shown: int = SHOWN_ROWS) -> Table:
    """The creates (+) and deletes (-) of a plan, the first ``shown`` of them;
    unchanged rows are only counted."""
    table = Table(
        title=(
            f"Plan: {len(plan.creates)} to create, {len(plan.unchanged)} unchanged, "
            f"{len(plan.deletes)} to delete"
        )
    )
    table.add_column("")
    table.add_column("category", overflow="fold")
    table.add_column("resource", overflow="fold")
    table.add_column("units: in / out", overflow="fold")
    table.add_column("max units", overflow="fold")
    table.add_column("start", overflow="fold")
    hidden = max(0, len(plan.creates) + len(plan.deletes) - shown)
    if hidden:
        table.caption = f"... and {hidden:,} more (--json lists every row)"
    for item in plan.creates[:shown]:
        table.add_row(
            "[green]+[/green]",
            escape(item.category),
            escape(item.resource),
            escape(_units(item)),
            _limits(item),
            escape(item.start_timestamp or "(now)"),
        )
    for version in plan.deletes[: max(0, shown - len(plan.creates))]:
        table.add_row(
            "[red]-[/red]",
            escape(version.category),
            escape(version.resource),
            "(every version)",
            "",
            "",
        )
    return table


def plan_json(plan: CatalogPlan) -> dict[str, Any]:
    """``{"create": [...], "unchanged": [...], "delete": [...]}``: import rows, and the
    live (latest) version of each resource to delete."""
    return {
        "create": [import_row(item) for item in plan.creates],
        "unchanged": [import_row(item) for item in plan.unchanged],
        "delete": [version.to_dict() for version in plan.deletes],
    }


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


async def plan(args: argparse.Namespace, ui: Ui) -> int:
    """``payi-resources plan FILE``: how the catalogue differs from the file."""
    try:
        items = _read(args, ui)
    except _BadRows:
        return EXIT_USAGE
    async with make_client(args) as client:
        try:
            found = await client.categories.resources.plan(items, prune=args.prune)
        except (TypeError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    if args.json:
        _print_json(plan_json(found))
    elif found:
        ui.out.print(plan_table(found))
    else:
        same = len(found.unchanged)
        ui.success(
            f"No changes: the catalogue matches {args.file} ({same} row{'' if same == 1 else 's'})."
        )
    return EXIT_OK


def _confirm(ui: Ui, deletes: int) -> bool:
    """Ask (Ctrl-C while the question waits interrupts, as anywhere else); end of
    input is a no."""
    terminal = ui.stdin_is_terminal()
    answer = ui.confirm(
        f"Delete {deletes} resource(s) not named in the file (every version of each)?"
    )
    if not terminal:
        ui.err.print()  # the answer was not typed, so nothing ended the question's line
    return answer


def _result_json(result: CatalogResult, declined: int) -> dict[str, Any]:
    return {
        "plan": plan_json(result.plan),
        "confirmed": result.confirmed,
        "created": [
            {"category": c.category, "resource": c.resource, "resource_id": c.resource_id}
            for c in result.created
        ],
        "deleted": [v.to_dict() for v in result.deleted],
        "failed": [
            {
                "item": import_row(f.item)
                if isinstance(f.item, (ResourceCreate, CategoryResourceResponse))
                else None,
                "error": f.message,
            }
            for f in result.failed
        ],
        "unconverged": [import_row(item) for item in result.unconverged],
        "deletes_declined": declined,
        "ok": result.ok and not declined,
    }


async def apply(args: argparse.Namespace, ui: Ui) -> int:
    """``payi-resources apply FILE``: make the catalogue match the file."""
    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, not {args.concurrency}")
    try:
        items = _read(args, ui)
    except _BadRows:
        return EXIT_USAGE
    async with make_client(args) as client:
        resources = client.categories.resources
        try:
            planned = await resources.plan(items, prune=args.prune)
        except (TypeError, ValueError) as exc:
            raise UsageError(str(exc)) from None
        if not planned:
            if args.json:
                _print_json(_result_json(CatalogResult(plan=planned), 0))
            else:
                ui.success(
                    f"Nothing to do: the catalogue matches {args.file} "
                    f"({len(planned.unchanged)} row{'' if len(planned.unchanged) == 1 else 's'})."
                )
            return EXIT_OK
        if not args.json:
            ui.out.print(plan_table(planned))
        declined = 0
        if planned.deletes and not args.yes and not _confirm(ui, len(planned.deletes)):
            declined = len(planned.deletes)
            ui.warn(f"Not deleting {declined} resource(s); pass --yes to delete without asking.")
            planned = attrs.evolve(planned, deletes=())
            if not planned:
                return _account(args, ui, CatalogResult(plan=planned), declined)
        last = [BulkProgress(0, 0, None, 0.0)]
        total = len(planned.creates) + len(planned.deletes)
        try:
            with ImportProgress(ui, total, f"Applying {Path(args.file).name}") as bar:

                def progress(snapshot: BulkProgress) -> None:
                    last[0] = snapshot
                    bar(snapshot)

                result = await resources.apply(
                    planned, concurrency=args.concurrency, on_progress=progress
                )
        except (asyncio.CancelledError, KeyboardInterrupt):
            ui.warn(
                f"Interrupted after {last[0].done} of {total} changes. Run the same apply "
                "again: it reads the catalogue first and creates only what is missing, "
                "so nothing is duplicated."
            )
            raise
    return _account(args, ui, result, declined)


def _account(args: argparse.Namespace, ui: Ui, result: CatalogResult, declined: int) -> int:
    if args.json:
        _print_json(_result_json(result, declined))
    for failure in result.failed:
        item = failure.item
        what = f"{item.category} / {item.resource}" if hasattr(item, "resource") else "?"
        ui.warn(f"{what}: {failure.message}")
    for item in result.unconverged:
        ui.warn(f"{item.category} / {item.resource}: still missing after the last attempt")
    done = (
        f"{result.confirmed} created, {len(result.deleted)} deleted, "
        f"{len(result.plan.unchanged)} unchanged"
    )
    if result.ok and not declined:
        ui.success(f"The catalogue matches {args.file}: {done}.")
        return EXIT_OK
    left = len(result.failed) + len(result.unconverged) + declined
    ui.warn(f"The catalogue does not match {args.file} yet: {done}; {left} left undone.")
    return EXIT_FAILED


def _moment(args: argparse.Namespace) -> datetime:
    if args.at is None:
        return datetime.now(timezone.utc)
    try:
        return parse_timestamp("--at", args.at)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


async def _resolve(args: argparse.Namespace, at: datetime) -> CategoryResourceResponse:
    async with make_client(args) as client:
        try:
            return await client.categories.resources.resolve(args.category, args.resource, at)
        except (TypeError, ValueError) as exc:
            raise UsageError(str(exc)) from None


async def price(args: argparse.Namespace, ui: Ui) -> int:
    """``payi-resources price CATEGORY RESOURCE [--at TIME]``: the version in effect."""
    at = _moment(args)
    version = await _resolve(args, at)
    if args.json:
        _print_json(version.to_dict())
    else:
        title = f"{args.category} / {args.resource} in effect at {at.isoformat()}"
        ui.out.print(versions_table([version], title=title))
    return EXIT_OK


_USAGE = re.compile(r"(?P<unit>.+)=(?P<input>[0-9][0-9_]*):(?P<output>[0-9][0-9_]*)")


def _whole(spec: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:  # "1__0", "1_", or more digits than int() reads
        raise UsageError(
            f"bad usage {spec!r}: {text[:20]!r}{'...' if len(text) > 20 else ''} is not a "
            "whole number int() reads (digits, single _ between them, at most 4300)"
        ) from None


def _usage(specs: list[str]) -> dict[str, tuple[int, int]]:
    usage: dict[str, tuple[int, int]] = {}
    for spec in specs:
        match = _USAGE.fullmatch(spec)
        if match is None:
            raise UsageError(
                f"bad usage {spec!r}: expected UNIT=INPUT:OUTPUT with whole numbers, "
                "e.g. text=1000000:200000"
            )
        unit = match["unit"]
        if unit in usage:
            raise UsageError(f"unit {unit!r} is given twice")
        usage[unit] = (_whole(spec, match["input"]), _whole(spec, match["output"]))
    return usage


async def cost(args: argparse.Namespace, ui: Ui) -> int:
    """``payi-resources cost CATEGORY RESOURCE UNIT=IN:OUT...``: what the usage costs."""
    usage = _usage(args.usage)
    at = _moment(args)
    version = await _resolve(args, at)
    try:
        amount = version.cost(usage)
    except ValueError as exc:
        ui.error(str(exc))
        return EXIT_FAILED
    text = format(amount, "f")
    if args.json:
        _print_json({"cost": text, "resource_id": version.resource_id, "at": at.isoformat()})
    else:
        spent = ", ".join(f"{unit} {i:,} in / {o:,} out" for unit, (i, o) in usage.items())
        ui.out.print(text)
        ui.info(
            f"{spent} on {args.category} / {args.resource} at {at.isoformat()} "
            f"(version {version.resource_id})"
        )
    return EXIT_OK
