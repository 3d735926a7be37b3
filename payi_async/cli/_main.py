"""The ``payi-resources`` argument parser and ``main``.

Only argparse is imported here; rich (the ``[cli]`` extra) and the command modules
are imported once a command that needs them runs, so ``--help`` and ``emulator``
work without rich.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from types import FrameType
from typing import TYPE_CHECKING

from .._version import __version__

if TYPE_CHECKING:
    from ._ui import Ui

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace, "Ui"], Awaitable[int]]

RICH_MISSING = (
    "payi-resources needs the 'rich' package for its tables and progress bar.\n"
    "Install it with:  pip install 'payi-async[cli]'"
)

_EPILOG = """\
exit status:
  0    done
  1    the API refused or failed (for import: at least one item was not created)
  2    bad command line or input (for import: bad rows, listed with line numbers;
       nothing was sent), no API key, or rich is not installed
  130  interrupted with Ctrl-C, however many times it is pressed (import first
       prints what was done)
  a closed stdout (e.g. piped into head) ends the command quietly, status 0

environment:
  PAYI_API_KEY   API key when --api-key is not given
  PAYI_BASE_URL  API root when --base-url is not given (default https://api.pay-i.com)
"""


def _connection_options(parser: argparse.ArgumentParser, *, inherited: bool) -> None:
    # On subcommands the options default to SUPPRESS, so that a value given before
    # the command is not overwritten by the subcommand's default.
    def default(value: object) -> object:
        return argparse.SUPPRESS if inherited else value

    group = parser.add_argument_group("connection")
    group.add_argument("--api-key", default=default(None), help="API key (default: $PAYI_API_KEY)")
    group.add_argument(
        "--base-url",
        default=default(None),
        help="API root URL (default: $PAYI_BASE_URL, else https://api.pay-i.com)",
    )
    group.add_argument(
        "--max-retries",
        type=int,
        default=default(2),
        metavar="N",
        help="extra attempts after a failed request (default: 2)",
    )
    group.add_argument(
        "--timeout",
        type=_seconds,
        default=default(None),
        metavar="SECONDS",
        help="per-attempt limit to connect and between reads of an answer "
        "(default: 5 s to connect, 60 s to read); each retry is shown on stderr",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON array of the objects (as the SDK's to_dict()) instead of a table",
    )


def _handler(module: str, name: str) -> Handler:
    """A command's coroutine, imported only when the command runs."""

    async def run(args: argparse.Namespace, ui: Ui) -> int:
        import importlib

        fn: Handler = getattr(importlib.import_module(module, __package__), name)
        return await fn(args, ui)

    return run


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``payi-resources`` and its commands."""
    common = argparse.ArgumentParser(add_help=False)
    _connection_options(common, inherited=True)
    parser = argparse.ArgumentParser(
        prog="payi-resources",
        description="List, import, export and delete Pay-i categories and resources.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _connection_options(parser, inherited=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, handler: Handler | None) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            parents=[common],
            help=help_text,
            description=help_text,
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(handler=handler)
        return sub

    sub = command(
        "categories", "Show every category in a table.", _handler("._commands", "categories")
    )
    _json_option(sub)

    sub = command(
        "resources",
        "Show the resources of a category (latest version of each) in a table.",
        _handler("._commands", "resources"),
    )
    sub.add_argument("category", metavar="CATEGORY")
    _json_option(sub)

    sub = command(
        "versions",
        "Show every version of one resource in a table.",
        _handler("._commands", "versions"),
    )
    sub.add_argument("category", metavar="CATEGORY")
    sub.add_argument("resource", metavar="RESOURCE")
    _json_option(sub)

    sub = command(
        "import",
        "Create the resources listed in a JSON Lines, JSON or CSV file, many at a time.",
        _handler("._import", "run_import"),
    )
    sub.add_argument("file", metavar="FILE", help="the price list (.jsonl, .ndjson, .json, .csv)")
    sub.add_argument(
        "--format",
        choices=("jsonl", "json", "csv"),
        help="the file's format (default: by extension)",
    )
    sub.add_argument(
        "--concurrency",
        type=int,
        default=16,
        metavar="N",
        help="creates in flight at once (default: 16)",
    )
    sub.add_argument(
        "--dry-run", action="store_true", help="check every row and stop; send nothing"
    )
    sub.add_argument(
        "--report",
        metavar="FAILURES.jsonl",
        help="write each bad row or failed item as an import row (JSON Lines) with _line "
        "and _error beside it; the file imports as it is once fixed",
    )
    sub.add_argument(
        "--assume-utc",
        action="store_true",
        help="read a start_timestamp without a UTC offset as UTC (default: refuse it)",
    )

    sub = command(
        "export",
        "Write the resources of categories as import rows (JSON Lines or CSV), streaming.",
        _handler("._commands", "export"),
    )
    sub.add_argument("categories", nargs="+", metavar="CATEGORY")
    sub.add_argument(
        "--format",
        choices=("jsonl", "csv"),
        help="output format (default: csv for an -o FILE ending .csv, else jsonl)",
    )
    sub.add_argument(
        "--all-versions",
        action="store_true",
        help="every live version of each resource, not only the latest",
    )
    sub.add_argument(
        "-o", "--output", metavar="FILE", help="write here (all or nothing) instead of stdout"
    )
    sub.add_argument(
        "--with-ids",
        action="store_true",
        help="add each version's resource_id (import accepts and ignores it)",
    )

    sub = command(
        "delete",
        "Delete a category, every version of one resource, or one version (soft deletes).",
        _handler("._commands", "delete"),
    )
    sub.add_argument("category", metavar="CATEGORY")
    sub.add_argument("resource", nargs="?", metavar="RESOURCE", help="only this resource")
    sub.add_argument("resource_id", nargs="?", metavar="RESOURCE_ID", help="only this version")
    sub.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="delete a whole category or resource without asking (needed without a terminal)",
    )

    _catalog_commands(command)

    emulator = commands.add_parser(
        "emulator",
        help="Run the local Pay-i emulator (as python -m payi_async.emulator; see its --help).",
        add_help=False,
        prefix_chars="\0",  # pass every argument, --help included, to the emulator
    )
    emulator.add_argument("emulator_args", nargs=argparse.REMAINDER)
    emulator.set_defaults(handler=None)
    return parser


def _catalog_commands(command: Callable[[str, str, Handler], argparse.ArgumentParser]) -> None:
    """``plan``, ``apply``, ``price`` and ``cost`` (``cli/_catalog.py``)."""
    for name, help_text in (
        ("plan", "Show how the live catalogue differs from a price file (reads only)."),
        ("apply", "Make the live catalogue match a price file; safe to re-run or interrupt."),
    ):
        sub = command(name, help_text, _handler("._catalog", name))
        sub.add_argument("file", metavar="FILE", help="the price list (.jsonl, .json, .csv)")
        sub.add_argument("--format", choices=("jsonl", "json", "csv"), help="default: by extension")
        sub.add_argument(
            "--prune",
            action="store_true",
            help="also delete resources of the file's categories that the file does not name",
        )
        sub.add_argument("--json", action="store_true", help="print one JSON object")
        if name == "apply":
            sub.add_argument("--yes", action="store_true", help="delete without asking")
            sub.add_argument("--concurrency", type=int, default=16, metavar="N", help="default: 16")
    for name, help_text in (
        ("price", "Show the version of a resource in effect now or at --at TIME."),
        ("cost", "What some usage costs at the prices in effect now or at --at TIME."),
    ):
        sub = command(name, help_text, _handler("._catalog", name))
        sub.add_argument("category", metavar="CATEGORY")
        sub.add_argument("resource", metavar="RESOURCE")
        if name == "cost":
            sub.add_argument(
                "usage", nargs="+", metavar="UNIT=IN:OUT", help="e.g. text=1000000:200000"
            )
        sub.add_argument("--at", metavar="TIME", help="ISO 8601 with a UTC offset")
        sub.add_argument("--json", action="store_true", help="print JSON")


def _exit_status(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``payi-resources`` with ``argv`` (default ``sys.argv[1:]``); the exit status."""
    # Ctrl-C is handled from here on (parsing and imports included), not only once the
    # command runs. Called without argv, main is the console script: the process exits
    # after it, so a Ctrl-C after the command finished is ignored.
    interrupts = _Interrupts()
    with interrupts.installed(exiting=argv is None):
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version and usage errors
            return _exit_status(exc)
        if args.command != "emulator":
            try:
                import rich  # noqa: F401
            except ImportError:
                print(RICH_MISSING, file=sys.stderr)
                return 2
            return _run(args, interrupts)
        if interrupts.count:
            print("Interrupted.", file=sys.stderr)
            return 130
    # The emulator handles Ctrl-C itself (it stops the server).
    from ..emulator.__main__ import main as emulator_main

    try:
        return emulator_main(args.emulator_args, prog="payi-resources emulator")
    except SystemExit as exc:
        return _exit_status(exc)


class _Interrupts:
    """SIGINT while a command runs: the first cancels it (so it can say what it did
    and clean up), later ones are ignored, so that however many arrive the run ends
    with one "Interrupted." and never a traceback from the middle of the clean-up.
    After an interrupted run SIGINT stays ignored: the program is meant to exit."""

    def __init__(self) -> None:
        #: Set once the command's ``Ui`` exists (whether a question is waiting).
        self.ui: Ui | None = None
        self.count = 0
        #: Whether the command ran to its end (so the process is about to exit).
        self.finished = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[object] | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count > 1:
            return
        if self.ui is not None and self.ui.prompting:
            raise KeyboardInterrupt  # ends the blocking wait for an answer
        if self.loop is not None and self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)

    @contextlib.contextmanager
    def installed(self, *, exiting: bool = False) -> Iterator[None]:
        """Handle SIGINT here while the block runs (only on the main thread).
        ``exiting``: the process ends after the block (the console script), so a
        Ctrl-C arriving after the command finished is ignored rather than killing
        the exit."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, self)
        try:
            yield
        finally:
            # After an interruption more Ctrl-C may be on their way while the process
            # exits; ignored (at the OS level, so also while the interpreter shuts
            # down), they cannot end it with a traceback or a signal after all.
            quiet = self.count or (exiting and self.finished)
            signal.signal(signal.SIGINT, signal.SIG_IGN if quiet else previous)


class _RetryLines(logging.Handler):
    """Shows the SDK's retry records (contract C2: ``extra={"payi_retry": notice}``)."""

    def __init__(self, ui: Ui) -> None:
        super().__init__(logging.INFO)
        self.ui = ui

    def emit(self, record: logging.LogRecord) -> None:
        notice = getattr(record, "payi_retry", None)
        if notice is not None:
            self.ui.retry(notice)


@contextlib.contextmanager
def _retries_shown(ui: Ui) -> Iterator[None]:
    logger = logging.getLogger("payi_async")
    handler = _RetryLines(ui)
    level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _quiet_stdout() -> None:
    """stdout's reader has gone: point stdout at /dev/null so that nothing, not even
    the interpreter's last flush, complains."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@contextlib.contextmanager
def _finishing(interrupts: _Interrupts) -> Iterator[None]:
    try:
        yield
    finally:
        interrupts.finished = True


def _run(args: argparse.Namespace, interrupts: _Interrupts) -> int:
    from ._commands import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError
    from ._ui import Ui

    ui = Ui()
    interrupts.ui = ui
    handler: Handler = args.handler

    async def run() -> int:
        interrupts.loop = asyncio.get_running_loop()
        interrupts.task = asyncio.current_task()
        if interrupts.count:
            raise asyncio.CancelledError
        return await _guarded(handler, args, ui)

    with _retries_shown(ui), _finishing(interrupts):
        try:
            return asyncio.run(run())
        except UsageError as exc:
            ui.error(str(exc))
            return EXIT_USAGE
        except (KeyboardInterrupt, asyncio.CancelledError):
            ui.interrupted()
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            # stdout was closed early (e.g. piped into head): what was read is what
            # the reader wanted, so this is a quiet success.
            _quiet_stdout()
            return EXIT_OK


async def _guarded(handler: Handler, args: argparse.Namespace, ui: Ui) -> int:
    from .._exceptions import PayiError
    from ._commands import EXIT_FAILED

    try:
        return await handler(args, ui)
    except PayiError as exc:
        ui.error(str(exc))
        return EXIT_FAILED
