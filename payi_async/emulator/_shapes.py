"""JSON bodies in the seed's shapes or in the hosted API's current shapes.

``seed`` (the default) answers exactly as the seed reference describes. ``hosted``
follows the hosted API's published description: categories carry only ``category``,
the two category deletes answer a JSON array of the deleted resource versions, pages
answer ``"items": null`` when empty (both shapes give pages a ``request_id``), and a
create answers 200 instead of 201. Hosted resources carry, truthfully:

* ``active``: in effect when read (live, started, not ended; see ``_listing``);
* ``end_timestamp``: when the next live version takes over (``null`` if none does);
* ``proxy_allowed``: true in the system categories (Pay-i proxies those providers);
* ``mapped_resource`` on the Azure system resources (the OpenAI model served and the
  ``scope`` of the price: ``global``, ``datazone`` or ``region``),
  ``character_billing`` (false: every seeded price is per token) and
  ``large_context_threshold`` where the seed data has one; ``null`` where the emulator
  has nothing to say (custom resources, provisioned throughput, deprecations).

Both shapes give every unit both price keys, ``null`` for a price not set.
"""

from __future__ import annotations

from typing import Any, Literal

from ._rows import CategoryRow, ResourceRow
from ._seed_data import HOSTED_DETAILS

__all__ = ["HOSTED_EXTRAS", "Renderer", "Shapes"]

Shapes = Literal["seed", "hosted"]

#: The optional fields of the hosted API's resources (``null`` unless known).
HOSTED_EXTRAS = (
    "end_timestamp",
    "deprecated_timestamp",
    "description",
    "cost_per_hour",
    "character_billing",
    "large_context_threshold",
    "aliased_resource",
    "reservation_id",
    "mapped_resource",
    "azure_resource",
    "aws_bedrock_resource",
    "google_vertex_resource",
)


class Renderer:
    """Turns rows into response bodies for one ``Shapes`` choice."""

    def __init__(self, shapes: Shapes) -> None:
        if shapes not in ("seed", "hosted"):
            raise ValueError(f"shapes must be 'seed' or 'hosted', not {shapes!r}")
        self.shapes: Shapes = shapes

    @property
    def hosted(self) -> bool:
        """Whether this renders the hosted shapes."""
        return self.shapes == "hosted"

    @property
    def create_status(self) -> int:
        """201 in the seed's shapes, 200 in the hosted ones."""
        return 200 if self.hosted else 201

    def category(self, row: CategoryRow) -> dict[str, Any]:
        """A ``CategoryResponse``."""
        if self.hosted:
            return {"category": row.name}
        return {
            "category": row.name,
            "category_type": row.category_type,
            "category_description": row.description,
        }

    def resource(self, row: ResourceRow, request_id: str | None = None) -> dict[str, Any]:
        """A ``CategoryResourceResponse``; a top-level one also carries ``request_id``."""
        body: dict[str, Any] = {
            "resource_id": row.resource_id,
            "category": row.category,
            "resource": row.resource,
            "units": {
                name: {
                    "input_price": prices.get("input_price"),
                    "output_price": prices.get("output_price"),
                }
                for name, prices in row.units.items()
            },
            "max_input_units": row.max_input_units,
            "max_output_units": row.max_output_units,
            "max_total_units": row.max_total_units,
            "creation_timestamp": row.creation_timestamp,
            "start_timestamp": row.start_timestamp,
            "resource_scope": row.resource_scope,
            "aliases": row.aliases,
        }
        if self.hosted:
            body["active"] = row.active
            body["proxy_allowed"] = row.system
            body.update(dict.fromkeys(HOSTED_EXTRAS))
            body["end_timestamp"] = row.end_timestamp
            if row.system:
                body.update(HOSTED_DETAILS.get((row.category, row.resource), {}))
        if request_id is not None:
            body["request_id"] = request_id
        return body

    def page(self, items: list[dict[str, Any]], cursor: str | None, request_id: str) -> Any:
        """A cursor page."""
        return {
            "items": (items or None) if self.hosted else items,
            "cursor": cursor,
            "request_id": request_id,
        }

    def deleted(self, rows: list[ResourceRow], what: str, request_id: str) -> Any:
        """The answer of a category delete or a resource (all versions) delete."""
        if self.hosted:
            return [self.resource(row) for row in rows]
        count = len(rows)
        return {
            "request_id": request_id,
            "message": f"{what} deleted ({count} resource version{'s' * (count != 1)})",
        }
