"""A local, stateful Pay-i server for the categories and resources API.

It speaks the hosted API's wire protocol for the eight endpoints under
``/api/v1/categories`` (auth header ``xProxy-api-key``, JSON bodies, JSON errors
``{"message", "statusCode"}``, a ``request_id`` in every object body and an
``x-request-id`` header on every answer) and keeps its data in SQLite.

Start one:

* ``async with LocalPayiServer() as server:`` then use ``server.base_url`` and
  ``server.api_key``; ``ThreadedPayiServer`` does the same from plain sync code;
* ``python -m payi_async.emulator --port 8080`` (prints its base URL first);
* the ``payi_emulator`` pytest fixture (installed with the package).

Rules it enforces:

* The five system categories exist from the start, with a few real models each, and
  are read-only (403). A custom category is created by the first resource created in
  it and disappears when deleted. Names are 1-256 characters, any characters, not
  ``.``/``..``; category names starting with ``system.`` are reserved (403).
* A create adds a version (server-made ``resource_id`` and ``creation_timestamp``,
  ``start_timestamp`` defaulting to now; timestamps are UTC ISO 8601 with ``Z`` and a
  four-digit year, ``0999-06-01T00:00:00.000000Z``). A unit may carry either price,
  both or neither; a version has at most ``MAX_UNITS`` units, named like resources.
  Deletes are soft: rows stay, marked deleted, listed again only with ``Active=false``;
  a deleted version is 404.
* A version is *active* when it is live, has started and has not ended; it ends when
  the next live version (by start) takes over, at that version's ``start_timestamp``.
* Lists take ``cursor``, ``limit`` (1-1000, default 50; outside that: 400),
  ``sort_ascending`` (default true) and ``Active`` (``true``: only what is in effect
  now; ``false``: the inactive versions, soft-deleted, ended or not yet started, so
  history stays reachable; for categories, those with / without an active version,
  system categories always counting as active). Categories and a category's resources
  are sorted by name, versions by creation. Cursors are opaque keyset positions, signed
  with a secret of the database, so paging while others write never repeats or skips
  an item that existed throughout, and a foreign, forged or altered cursor is a 400.
* A create (or delete) sent again with the same ``Idempotency-Key`` header (one
  namespace per API key) answers the first answer again, with the header
  ``Idempotent-Replayed: true``, and changes nothing; the same key with another body,
  or on another method or path, is a 422. Keys are stored in the database.
* Every bad request gets a 4xx JSON error ``{"message", "statusCode"}`` naming the
  culprit: 400 for validation, malformed HTTP, JSON nested deeper than
  ``MAX_JSON_DEPTH``, numbers that do not fit a float, timestamps outside 0001-9999
  once in UTC, non-UTF-8 names or ``Idempotency-Key``; 413 for a body over
  ``MAX_BODY_BYTES``; 408 for a body that has not all come within the keep-alive
  timeout. A 5xx is only ever an injected fault or an emulator bug
  (``server.internal_errors`` lists the latter; the pytest fixture fails on any).
* Listening beyond loopback needs an API key of your own (the default is published).
"""

from ._app import API_KEY_HEADER, MAX_BODY_BYTES, RequestRecord
from ._faults import Faults
from ._server import DEFAULT_API_KEY, LocalPayiServer, ThreadedPayiServer
from ._shapes import Shapes
from ._store import CategoryRow, ResourceRow, Store
from ._validation import DEFAULT_LIMIT, MAX_JSON_DEPTH, MAX_LIMIT, MAX_NAME_LENGTH, MAX_UNITS

__all__ = [
    # servers
    "LocalPayiServer",
    "ThreadedPayiServer",
    "DEFAULT_API_KEY",
    "API_KEY_HEADER",
    # configuration
    "Faults",
    "Shapes",
    # what tests inspect
    "RequestRecord",
    "Store",
    "CategoryRow",
    "ResourceRow",
    # limits
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_NAME_LENGTH",
    "MAX_UNITS",
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
]
