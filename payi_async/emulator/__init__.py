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
  ``start_timestamp`` defaulting to now; timestamps are UTC ISO 8601 with ``Z``).
  Deletes are soft: rows stay, marked deleted, never listed again; a deleted version
  is 404.
* Lists take ``cursor``, ``limit`` (1-1000, default 50; outside that: 400) and
  ``sort_ascending`` (default true). Categories and a category's resources are sorted
  by name, versions by creation. Cursors are opaque (keyset positions, not offsets), so
  paging while others write never repeats or skips an item that existed throughout.
  A foreign or damaged cursor is a 400.
* A create (or delete) sent again with the same ``Idempotency-Key`` header (scoped
  per API key, method and path) answers the first answer again, with the header
  ``Idempotent-Replayed: true``, and changes nothing; the same key with another body
  is a 422. Keys are stored in the database.
* Validation errors are 400 with a message naming the field.
"""

from ._app import API_KEY_HEADER, RequestRecord
from ._faults import Faults
from ._server import DEFAULT_API_KEY, LocalPayiServer, ThreadedPayiServer
from ._shapes import Shapes
from ._store import CategoryRow, ResourceRow, Store
from ._validation import DEFAULT_LIMIT, MAX_LIMIT, MAX_NAME_LENGTH

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
]
