"""``python -m payi_async.emulator``: serve the emulator until SIGINT or SIGTERM.

The first line on stdout is the base URL (flushed at once), so a parent process can
read it; everything else goes to stderr. Exit status 0 after a clean shutdown.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sqlite3
import sys
from collections.abc import Sequence

from ._faults import Faults
from ._server import DEFAULT_API_KEY, LocalPayiServer, is_loopback

#: The program name in the help and usage lines when started as a module.
DEFAULT_PROG = "python -m payi_async.emulator"


def _parser(prog: str = DEFAULT_PROG) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="A local Pay-i categories and resources server on SQLite.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    p.add_argument("--db", default=":memory:", help="SQLite file (default :memory:)")
    p.add_argument(
        "--api-key",
        default=None,
        help=f"accepted xProxy-api-key (default {DEFAULT_API_KEY}; required beyond loopback)",
    )
    p.add_argument("--shapes", choices=("seed", "hosted"), default="seed", help="body shapes")
    p.add_argument("--keepalive-timeout", type=float, default=75.0, help="idle socket seconds")
    p.add_argument(
        "--ignore-idempotency",
        action="store_true",
        help="ignore Idempotency-Key (retried writes are done again)",
    )
    faults = p.add_argument_group("fault injection (all off by default)")
    faults.add_argument("--error-rate", type=float, default=0.0, help="fraction of 500/503")
    faults.add_argument("--rate-limit-rate", type=float, default=0.0, help="fraction of 429")
    faults.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds")
    faults.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    faults.add_argument("--drop-rate", type=float, default=0.0, help="fraction of drops")
    faults.add_argument("--drop-stage", choices=("headers", "body"), default="body")
    faults.add_argument("--request-budget", type=int, default=None, help="then always 429")
    faults.add_argument(
        "--fail-after-commit-rate", type=float, default=0.0, help="writes that fail once done"
    )
    faults.add_argument("--fail-after-commit-mode", choices=("503", "drop"), default="503")
    faults.add_argument("--max-faults", type=int, default=None, help="stop after this many")
    faults.add_argument("--seed", type=int, default=0, help="random seed of the faults")
    return p


async def _serve(args: argparse.Namespace, faults: Faults) -> None:
    server = LocalPayiServer(
        host=args.host,
        port=args.port,
        db=args.db,
        api_key=args.api_key,
        shapes=args.shapes,
        faults=faults,
        keepalive_timeout=args.keepalive_timeout,
        ignore_idempotency=args.ignore_idempotency,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with server:
            print(server.base_url, flush=True)
            print(
                f"Pay-i emulator on {server.base_url} (db {args.db}, shapes {args.shapes}); "
                f"API key: {server.api_key}. Stop with Ctrl+C.",
                file=sys.stderr,
                flush=True,
            )
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    print("Pay-i emulator stopped.", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None, *, prog: str = DEFAULT_PROG) -> int:
    """Parse ``argv``, serve until a signal, return the exit status.

    ``prog`` is the command the help and usage lines name (another program running the
    emulator as one of its commands passes its own, e.g. ``payi-resources emulator``).
    """
    args = _parser(prog).parse_args(argv)
    if args.api_key in (None, DEFAULT_API_KEY) and not is_loopback(args.host):
        print(
            f"error: --host {args.host} listens beyond this machine: give --api-key "
            f"with a key of your own (the default {DEFAULT_API_KEY!r} is published)",
            file=sys.stderr,
        )
        return 2
    if args.api_key == "":
        print("error: --api-key must not be empty", file=sys.stderr)
        return 2
    args.api_key = DEFAULT_API_KEY if args.api_key is None else args.api_key
    try:
        faults = Faults(
            error_rate=args.error_rate,
            rate_limit_rate=args.rate_limit_rate,
            retry_after=args.retry_after,
            latency=args.latency,
            drop_rate=args.drop_rate,
            drop_stage=args.drop_stage,
            request_budget=args.request_budget,
            fail_after_commit_rate=args.fail_after_commit_rate,
            fail_after_commit_mode=args.fail_after_commit_mode,
            max_faults=args.max_faults,
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f"error: --port must be 0 to 65535, not {args.port}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(args, faults))
    except (OSError, sqlite3.Error) as exc:  # port taken, host unknown, db unopenable
        print(f"error: cannot start the emulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
