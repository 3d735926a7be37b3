"""The commands that read and delete: ``categories``, ``resources``, ``versions``,
``export`` and ``delete``. Each is a coroutine ``(args, ui) -> exit status``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import IO, Literal

from .._client import AsyncPayi
from .._models import CategoryResourceResponse, CategoryResponse
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
    """An ``AsyncPayi`` from ``--api-key``/``--base-url``/``--max-retries``/``--timeout``
    (or the env)."""
    if not (args.api_key or os.environ.get("PAYI_API_KEY")):
        raise UsageError("no API key: pass --api-key KEY or set PAYI_API_KEY")
    timeout = getattr(args, "timeout", None)
    try:
        if timeout is not None:
            return AsyncPayi(
                api_key=args.api_key,
                base_url=args.base_url,
                max_retries=args.max_retries,
                timeout=timeout,
            )
        return AsyncPayi(api_key=args.api_key, base_url=args.base_url, max_retries=args.max_retries)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


async def categories(args: argparse.Namespace, ui: Ui) -> int:
    """``payi-resources categories``: a table of every category."""
    async with make_client(args) as client:
        found = [c async for c in client.categories.list()]
    if not _print_json(args, found):
        ui.out.print(categories_table(found))
    return EXIT_OK


def _print_json(
    args: argparse.Namespace, models: Iterable[CategoryResponse | CategoryResourceResponse]
) -> bool:
    """With ``--json``, print one JSON array of the models (``to_dict()``) instead of
    a table; whether it did."""
    if not getattr(args, "json", False):
        return False
    text = json.dumps([m.to_dict() for m in models], indent=2, ensure_ascii=False)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    return True


async def resources(args: argparse.Namespace, ui: Ui) -> int:
    """``payi-resources resources CATEGORY``: the latest version of each resource."""
    async with make_client(args) as client:
        found = [r async for r in client.categories.list_resources(args.category)]
    if _print_json(args, found):
        return EXIT_OK
    title = f"Resources of {args.category} ({len(found)}, latest versions)"
    ui.out.print(versions_table(found, title=title, ids=False))
    return EXIT_OK


async def versions(args: argparse.Namespace, ui: Ui) -> int:
    """``payi-resources versions CATEGORY RESOURCE``: every live version of one resource."""
    async with make_client(args) as client:
        found = [v async for v in client.categories.resources.list(args.resource, args.category)]
    if _print_json(args, found):
        return EXIT_OK
    title = f"Versions of {args.category} / {args.resource} ({len(found)})"
    ui.out.print(versions_table(found, title=title))
    return EXIT_OK


async def delete(args: argparse.Namespace, ui: Ui) -> int:
    """``payi-resources delete CATEGORY [RESOURCE [RESOURCE_ID]]``.

    Deleting a whole category or every version of a resource asks first, unless
    ``--yes``; without a terminal to ask on, it refuses (exit status 2).
    """
    whole = args.resource_id is None
    if whole and not args.yes and not ui.stdin_is_terminal():
        what = "category" if args.resource is None else "resource"
        raise UsageError(
            f"refusing to delete a whole {what} without confirmation: stdin is not a "
            "terminal; pass --yes to delete without asking"
        )
    async with make_client(args) as client:
        if whole and not args.yes and not await _confirm_delete(args, ui, client):
            ui.warn("Nothing was deleted.")
            return EXIT_FAILED
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
            whole_category = await client.categories.delete(args.category)
            ui.success(
                f"Deleted category {args.category} and its resources "
                f"(request {whole_category.request_id})."
            )
    return EXIT_OK


async def _confirm_delete(args: argparse.Namespace, ui: Ui, client: AsyncPayi) -> bool:
    """Say what a whole delete would remove, and ask."""
    if args.resource is None:
        count = sum([1 async for _ in client.categories.list_resources(args.category)])
        question = (
            f"Delete category {args.category} and every version of its "
            f"{count} resource{'' if count == 1 else 's'}?"
        )
    else:
        listing = client.categories.resources.list(args.resource, args.category)
        count = sum([1 async for _ in listing])
        question = f"Delete every version ({count}) of {args.category} / {args.resource}?"
    return ui.confirm(question)


# ---------------------------------------------------------------- export


def _new_file(target: Path) -> tuple[int, str]:
    """A new temporary file beside ``target``, made as ``open(..., "w")`` would make it:
    mode 0666 less the umask (``mkstemp`` would make it 0600), or ``target``'s own
    mode when it exists already."""
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        mode = None
    while True:
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        if mode is not None:
            with contextlib.suppress(OSError):
                os.chmod(fd, mode)
        return fd, str(temp)


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
    fd, temp = _new_file(target)
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
                write_csv_header(stream, with_id=args.with_ids)
            for category in args.categories:
                async for version in _versions_of(client, category, args.all_versions):
                    rows += write_row(stream, fmt, version, with_id=args.with_ids)
                    versions_written += 1
            stream.flush()
    where = "stdout" if args.output in (None, "-") else args.output
    one = versions_written == 1
    if args.all_versions:
        what = "version" if one else "versions"
    else:
        what = "resource (latest version)" if one else "resources (latest versions)"
    ui.info(
        f"Exported {versions_written} {what} of {len(args.categories)} "
        f"categor{'y' if len(args.categories) == 1 else 'ies'} to {where} "
        f"({rows} {fmt} row{'' if rows == 1 else 's'})."
    )
    return EXIT_OK


def detect_format_or_none(path: str) -> str | None:
    """The format ``path``'s extension names, or None."""
    try:
        return detect_format(path)
    except ValueError:
        return None
