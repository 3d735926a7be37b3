"""The ``payi-resources`` argument parser and ``main``.

Only argparse is imported here; rich (the ``[cli]`` extra) and the command modules
are imported once a command that needs them runs, so ``--help`` and ``emulator``
work without rich.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
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
  130  interrupted with Ctrl-C (import first prints what was done)

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

    command("categories", "Show every category in a table.", _handler("._commands", "categories"))

    sub = command(
        "resources",
        "Show the resources of a category (latest version of each) in a table.",
        _handler("._commands", "resources"),
    )
    sub.add_argument("category", metavar="CATEGORY")

    sub = command(
        "versions",
        "Show every version of one resource in a table.",
        _handler("._commands", "versions"),
    )
    sub.add_argument("category", metavar="CATEGORY")
    sub.add_argument("resource", metavar="RESOURCE")

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
        help="write each bad row or failed item as a JSON line: line, error, item",
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

    sub = command(
        "delete",
        "Delete a category, every version of one resource, or one version (soft deletes).",
        _handler("._commands", "delete"),
    )
    sub.add_argument("category", metavar="CATEGORY")
    sub.add_argument("resource", nargs="?", metavar="RESOURCE", help="only this resource")
    sub.add_argument("resource_id", nargs="?", metavar="RESOURCE_ID", help="only this version")

    emulator = commands.add_parser(
        "emulator",
        help="Run the local Pay-i emulator (as python -m payi_async.emulator; see its --help).",
        add_help=False,
        prefix_chars="\0",  # pass every argument, --help included, to the emulator
    )
    emulator.add_argument("emulator_args", nargs=argparse.REMAINDER)
    emulator.set_defaults(handler=None)
    return parser


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
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return _exit_status(exc)
    if args.command == "emulator":
        from ..emulator.__main__ import main as emulator_main

        try:
            return emulator_main(args.emulator_args, prog="payi-resources emulator")
        except SystemExit as exc:
            return _exit_status(exc)
    try:
        import rich  # noqa: F401
    except ImportError:
        print(RICH_MISSING, file=sys.stderr)
        return 2
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from ._commands import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, UsageError
    from ._ui import Ui

    ui = Ui()
    handler: Handler = args.handler
    try:
        return asyncio.run(_guarded(handler, args, ui))
    except UsageError as exc:
        ui.error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        ui.warn("Interrupted.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout was closed early (e.g. piped into head): stop quietly.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


async def _guarded(handler: Handler, args: argparse.Namespace, ui: Ui) -> int:
    from .._exceptions import PayiError
    from ._commands import EXIT_FAILED

    try:
        return await handler(args, ui)
    except PayiError as exc:
        ui.error(str(exc))
        return EXIT_FAILED
