"""The commands that read and delete: ``categories``, ``resources``, ``versions``,
``export`` and ``delete``. Each is a coroutine ``(args, ui) -> exit status``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Literal

from .._client import AsyncPayi
from .._models import CategoryResourceResponse
from ._formats import detect_format, write_csv_header, write_row
from ._ui import Ui, categories_table, versions_table

__all__ = ["UsageError", "categories", "delete", "export", "make_client", "resources", "versions"]

#: Exit statuses (also listed in ``payi-resources --help``).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """The command line or its input is wrong; nothing was sent (exit status 2)."""


def make_client(args: argparse.Namespace) -> AsyncPayi:
    """An ``AsyncPayi`` from ``--api-key``/``--base-url``/``--max-retries`` (or the env)."""
    if not (args.api_key or os.environ.get("PAYI_API_KEY")):
        raise UsageError("no API key: pass --api-key KEY or set PAYI_API_KEY")
    try:
        return AsyncPayi(api_key=args.api_key, base_url=args.base_url, max_retries=args.max_retries)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


async def categories(args: argparse.Namespace, ui: Ui) -> int:
    """``payi-resources categories``: a table of every category."""
    async with make_client(args) as client:
        found = [c async for c in client.categories.list()]
    ui.out.print(categories_table(found))
    return EXIT_OK


async def resources(args: argparse.Namespace, ui: Ui) -> int:
    """``payi-resources resources CATEGORY``: the latest version of each resource."""
    async with make_client(args) as client:
        found = [r async for r in client.categories.list_resources(args.category)]
    title = f"Resources of {args.category} ({len(found)}, latest versions)"
    ui.out.print(versions_table(found, title=title, ids=False))
    return EXIT_OK


async def versions(args: argparse.Namespace, ui: Ui) -> int:
    """``payi-resources versions CATEGORY RESOURCE``: every live version of one resource."""
    async with make_client(args) as client:
        found = [v async for v in client.categories.resources.list(args.resource, args.category)]
    title = f"Versions of {args.category} / {args.resource} ({len(found)})"
    ui.out.print(versions_table(found, title=title))
    return EXIT_OK


async def delete(args: argparse.Namespace, ui: Ui) -> int:
    """``payi-resources delete CATEGORY [RESOURCE [RESOURCE_ID]]``."""
    async with make_client(args) as client:
        if args.resource_id is not None:
            version = await client.categories.resources.delete(
                args.resource_id, args.category, args.resource
            )
            ui.success(
                f"Deleted version {version.resource_id} of {args.category} / {args.resource}."
            )
        elif args.resource is not None:
            answer = await client.categories.delete_resource(args.resource, args.category)
            ui.success(
                f"Deleted every version of {args.category} / {args.resource} "
                f"(request {answer.request_id})."
            )
        else:
            whole = await client.categories.delete(args.category)
            ui.success(
                f"Deleted category {args.category} and its resources (request {whole.request_id})."
            )
    return EXIT_OK


# ---------------------------------------------------------------- export


async def _versions_of(
    client: AsyncPayi, category: str, all_versions: bool
) -> AsyncIterator[CategoryResourceResponse]:
    async for latest in client.categories.list_resources(category):
        if not all_versions:
            yield latest
            continue
        async for version in client.categories.resources.list(latest.resource, category):
            yield version


@contextlib.contextmanager
def _output(path: str | None, newline: str | None) -> Iterator[IO[str]]:
    """stdout, or a file written in full or not at all (a temp file, then renamed)."""
    if path is None or path == "-":
        yield sys.stdout
        return
    target = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with open(fd, "w", encoding="utf-8", newline=newline) as stream:
            yield stream
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


async def export(args: argparse.Namespace, ui: Ui) -> int:
    """``payi-resources export CATEGORY...``: stream versions as import rows."""
    fmt: Literal["jsonl", "csv"]
    if args.format is not None:
        fmt = args.format
    elif args.output not in (None, "-") and detect_format_or_none(args.output) == "csv":
        fmt = "csv"
    else:
        fmt = "jsonl"
    versions_written = rows = 0
    async with make_client(args) as client:
        with _output(args.output, "" if fmt == "csv" else None) as stream:
            if fmt == "csv":
                write_csv_header(stream)
            for category in args.categories:
                async for version in _versions_of(client, category, args.all_versions):
                    rows += write_row(stream, fmt, version)
                    versions_written += 1
            stream.flush()
    where = "stdout" if args.output in (None, "-") else args.output
    what = "versions" if args.all_versions else "resources (latest versions)"
    ui.info(
        f"Exported {versions_written} {what} of {len(args.categories)} "
        f"categor{'y' if len(args.categories) == 1 else 'ies'} to {where} "
        f"({rows} {fmt} rows)."
    )
    return EXIT_OK


def detect_format_or_none(path: str) -> str | None:
    """The format ``path``'s extension names, or None."""
    try:
        return detect_format(path)
    except ValueError:
        return None
