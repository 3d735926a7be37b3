"""What the command line shows, on rich: tables, messages and the import progress bar.

This module imports rich at the top; ``payi_async.cli`` imports it only after
checking that rich is installed (the ``[cli]`` extra).

Out of a terminal (piped, redirected, in CI logs) the consoles are made wide enough
that nothing wraps: the same text, one line per line, never a name broken in two.
rich leaves colour out there, and everywhere when ``NO_COLOR`` is set.
"""

from __future__ import annotations

import asyncio
import select
import sys
from collections.abc import Callable, Iterable
from datetime import timedelta
from types import TracebackType
from typing import IO

from rich.console import Console, RenderableType
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
from rich.text import Text

from .._bulk import BulkProgress
from .._models import CategoryResourceResponse, CategoryResponse
from .._retry import RetryNotice
from .._validation import parse_timestamp

__all__ = ["ImportProgress", "Ui", "categories_table", "retry_text", "versions_table"]

#: The width of a console that is not a terminal: wide enough that no line wraps.
UNWRAPPED_WIDTH = 100_000


def _console(*, stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False)
    # FORCE_COLOR makes rich treat a pipe as a terminal; keep colour then, but not wrapping.
    if not console.is_terminal or not _is_tty(console.file):
        console.width = UNWRAPPED_WIDTH
    return console


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def retry_text(notice: RetryNotice) -> str:
    """``retrying (2/3) after a read timeout…``"""
    return f"retrying ({notice.attempt}/{notice.max_attempts}) after {notice.reason}\u2026"


class Ui:
    """Tables and data go to stdout; messages, prompts and progress to stderr."""

    def __init__(self) -> None:
        self.out = _console(stderr=False)
        self.err = _console(stderr=True)
        #: Set while a question waits for its answer, so that Ctrl-C stops the wait.
        self.prompting = False
        #: Where retries go while a progress bar runs (else one line each on stderr).
        self.on_retry: Callable[[RetryNotice], None] | None = None
        self._said_interrupted = False

    def retry(self, notice: RetryNotice) -> None:
        """Show that the SDK is about to retry a request."""
        if self.on_retry is not None:
            self.on_retry(notice)
        else:
            self.err.print(f"[yellow]{escape(retry_text(notice))}[/yellow]")

    def interrupted(self, detail: str = "") -> None:
        """Say ``Interrupted.`` (with ``detail``), once per run however often it is called."""
        if self._said_interrupted:
            return
        self._said_interrupted = True
        self.warn(f"Interrupted. {detail}".rstrip())

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question on the terminal; only ``y`` or ``yes`` is a yes.

        Ctrl-C while waiting cancels the command, as anywhere else; end of input is a no.
        """
        self.prompting = True
        try:
            answer = self._answer(escape(f"{question} [y/N] "))
        except EOFError:
            return False
        except KeyboardInterrupt:
            raise asyncio.CancelledError from None
        finally:
            self.prompting = False
        return answer.strip().lower() in ("y", "yes")

    def _answer(self, prompt: str) -> str:
        """One line from stdin after ``prompt``. A terminal is polled rather than read
        in one blocking call: a Ctrl-C that the kernel hands to another thread (the
        resolver's, say) does not interrupt a blocked read, and the handler that ends
        the wait runs only when the main thread runs Python again."""
        try:
            fd = sys.stdin.fileno()
            polled = sys.stdin.isatty()
        except (AttributeError, ValueError, OSError):
            polled = False
        if not polled:
            return self.err.input(prompt)
        self.err.print(prompt, end="")
        while not select.select([fd], [], [], 0.1)[0]:
            pass
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line

    @staticmethod
    def stdin_is_terminal() -> bool:
        """Whether someone can answer a question on stdin."""
        try:
            return sys.stdin is not None and sys.stdin.isatty()
        except (AttributeError, ValueError, OSError):
            return False

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
        moment = parse_timestamp("time", value, assume_utc=True)  # a server's clock: UTC
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
        # An id is copied into ``delete``: never wrapped, folded or cut short.
        table.add_column("resource_id", no_wrap=True, overflow="ignore")
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


class _ProgressWithStatus(Progress):
    """A progress bar with a line of status beneath it (the latest retry)."""

    status = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        if self.status:
            yield Text(self.status, style="yellow", no_wrap=True, overflow="ellipsis")


class ImportProgress:
    """A rich progress bar fed by ``create_many``'s ``on_progress``: done/failed/total,
    rate, and beneath it the latest retry with a count of them all."""

    def __init__(self, ui: Ui, total: int, description: str) -> None:
        self._progress = _ProgressWithStatus(
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
        self._ui = ui
        self._retries = 0

    def _retry(self, notice: RetryNotice) -> None:
        # One line per retry would bury the bar under a flaky server: one line for all.
        self._retries += 1
        plural = "retry" if self._retries == 1 else "retries"
        self._progress.status = f"{retry_text(notice)} ({self._retries} {plural} so far)"

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
        self._ui.on_retry = self._retry
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._ui.on_retry = None
        self._progress.stop()
