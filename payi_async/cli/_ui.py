"""What the command line shows, on rich: tables, messages and the import progress bar.

This module imports rich at the top; ``payi_async.cli`` imports it only after
checking that rich is installed (the ``[cli]`` extra).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .._bulk import BulkProgress
from .._models import CategoryResourceResponse, CategoryResponse
from ._formats import parse_iso

__all__ = ["ImportProgress", "Ui", "categories_table", "versions_table"]


class Ui:
    """Tables and data go to stdout; messages and progress to stderr."""

    def __init__(self) -> None:
        self.out = Console(highlight=False)
        self.err = Console(stderr=True, highlight=False)

    def info(self, text: str) -> None:
        """A plain message on stderr (``text`` is not markup)."""
        self.err.print(escape(text))

    def success(self, text: str) -> None:
        """A message saying that something worked."""
        self.err.print(f"[green]{escape(text)}[/green]")

    def warn(self, text: str) -> None:
        """A message about something that went partly wrong."""
        self.err.print(f"[yellow]{escape(text)}[/yellow]")

    def error(self, text: str) -> None:
        """An error message, prefixed ``error:``."""
        self.err.print(f"[bold red]error:[/bold red] {escape(text)}")


def _price(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _when(value: str | None) -> str:
    """A timestamp to the minute (``2025-01-31 12:00Z``), or as given if unparsable."""
    if value is None:
        return ""
    try:
        moment = parse_iso(value)
    except ValueError:
        return value
    if moment.utcoffset() == timedelta(0):
        return moment.strftime("%Y-%m-%d %H:%MZ")
    return moment.strftime("%Y-%m-%d %H:%M%z")


def _units(version: CategoryResourceResponse) -> str:
    return "\n".join(
        f"{name}: {_price(u.input_price)} / {_price(u.output_price)}"
        for name, u in version.units.items()
    )


def _limit(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def categories_table(categories: Iterable[CategoryResponse]) -> Table:
    """Categories with their type and description."""
    table = Table(title="Categories")
    table.add_column("category", overflow="fold")
    table.add_column("type")
    table.add_column("description", overflow="fold")
    for c in categories:
        table.add_row(
            escape(c.category), c.category_type or "", escape(c.category_description or "")
        )
    return table


def versions_table(
    versions: Iterable[CategoryResourceResponse], *, title: str, ids: bool = True
) -> Table:
    """Resource versions: name, unit prices (input / output, per unit), limits, start
    time and, unless ``ids=False``, each version's id and creation time."""
    table = Table(title=escape(title))
    table.add_column("resource", overflow="fold")
    if ids:
        table.add_column("resource_id", overflow="fold")
    table.add_column("units: in / out", overflow="fold")
    for name in ("max in", "max out", "max total"):
        table.add_column(name, justify="right")
    table.add_column("start", overflow="fold")
    if ids:
        table.add_column("created", overflow="fold")
    for v in versions:
        limits = [_limit(v.max_input_units), _limit(v.max_output_units), _limit(v.max_total_units)]
        if ids:
            table.add_row(
                escape(v.resource),
                v.resource_id,
                escape(_units(v)),
                *limits,
                _when(v.start_timestamp),
                _when(v.creation_timestamp),
            )
        else:
            table.add_row(escape(v.resource), escape(_units(v)), *limits, _when(v.start_timestamp))
    return table


class ImportProgress:
    """A rich progress bar fed by ``create_many``'s ``on_progress``: done/failed/total, rate."""

    def __init__(self, ui: Ui, total: int, description: str) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed[/red]"),
            TextColumn("{task.fields[rate]:>8.1f}/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=ui.err,
        )
        self._task: TaskID = self._progress.add_task(
            escape(description), total=total, failed=0, rate=0.0
        )

    def __call__(self, progress: BulkProgress) -> None:
        """Show one ``BulkProgress`` snapshot."""
        self._progress.update(
            self._task,
            completed=progress.done + progress.failed,
            failed=progress.failed,
            rate=progress.rate,
        )

    def __enter__(self) -> ImportProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()
