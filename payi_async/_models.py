"""The API's response types, as the seed names them, and the create request.

Every model is an ``attrs`` frozen, slotted class built by the package's one cattrs
converter (``_converter``). Fields the seed does not list are kept, read-only, in
``extra`` and written back by ``to_dict()``; a missing optional field is ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

from . import _urls
from . import _validation as v
from ._timeline import version_cost

__all__ = [
    "AwsBedrockResource",
    "AzureResource",
    "CategoryDeleteResourceResponse",
    "CategoryDeleteResponse",
    "CategoryResourceResponse",
    "CategoryResponse",
    "GoogleVertexResource",
    "MappedResource",
    "ResourceCreate",
    "Units",
]

_NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


def _extra() -> Any:
    """The ``extra`` field every response model ends with."""
    return attrs.field(default=_NO_EXTRA, kw_only=True, repr=False, eq=False, hash=False)


def _plain(value: Any) -> Any:
    """A field's value as JSON-ready data."""
    if isinstance(value, _Model):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(item) for k, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class _Model:
    """``to_dict``/``to_json`` shared by the response models."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-ready Python data, unknown fields included."""
        # Field order, then the ``extra`` keys no field took: as the converter
        # unstructures (a test holds the two equal); no import of it, so no cycle.
        data = {
            a.name: _plain(getattr(self, a.name))
            for a in attrs.fields(type(self))  # type: ignore[arg-type]
            if a.name != "extra"
        }
        extra: Mapping[str, Any] = getattr(self, "extra", _NO_EXTRA)
        data.update((k, val) for k, val in extra.items() if k not in data)
        return data

    def to_json(self, *, indent: int | None = None) -> str:
        """The model as a JSON document, unknown fields included."""
        return json.dumps(self.to_dict(), indent=indent)

    def __reduce__(self) -> tuple[Any, ...]:
        # attrs' slotted pickling would copy ``extra``, a mappingproxy, which cannot be.
        values = {a.name: getattr(self, a.name) for a in attrs.fields(type(self))}  # type: ignore[arg-type]
        values["extra"] = dict(values.get("extra", _NO_EXTRA))
        return (_restore, (type(self), values))


def _restore(cls: type[Any], values: dict[str, Any]) -> Any:
    """A pickled model again (``_Model.__reduce__``)."""
    extra = values.pop("extra")
    return cls(**values, extra=MappingProxyType(extra) if extra else _NO_EXTRA)


@attrs.frozen
class Units(_Model):
    """Price of one unit type, per input unit and per output unit.

    Either price may be ``None``: the hosted API lets a unit carry only one of them
    (a cached-input unit has no output price) or neither.
    """

    input_price: float | None = None
    output_price: float | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class CategoryResponse(_Model):
    """One category, as ``categories.list()`` pages hold them.

    ``category_type`` ("system" or "custom") and ``category_description`` are
    ``None`` where the server leaves them out, as the hosted API now does.
    """

    category: str
    category_type: str | None = None
    category_description: str | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class CategoryDeleteResponse(_Model):
    """What ``categories.delete()`` answers.

    Where the server answers with the array of deleted resources (the hosted API's
    newer shape), ``request_id`` comes from the ``x-request-id`` header and the
    array is kept in ``extra["deleted"]``.
    """

    request_id: str
    message: str | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class CategoryDeleteResourceResponse(_Model):
    """What ``categories.delete_resource()`` answers (shapes as ``CategoryDeleteResponse``)."""

    request_id: str
    message: str | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class MappedResource(_Model):
    """The hosted API's ``mapped_resource``: the resource a deployment maps to."""

    host_name: str | None = None
    mapping_name: str | None = None
    resource: str | None = None
    category: str | None = None
    #: ``global``, ``datazone`` or ``region`` today; other values are kept as they come.
    scope: str | None = None
    sub_scope: str | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class AzureResource(_Model):
    """The hosted API's ``azure_resource``: provisioned throughput units."""

    ptus: int | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class AwsBedrockResource(_Model):
    """The hosted API's ``aws_bedrock_resource``: provisioned model units.

    The vendor's ``payi`` names the field ``aws_model_units``; this is the wire name.
    """

    model_units: int | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class GoogleVertexResource(_Model):
    """The hosted API's ``google_vertex_resource``: generative AI scale units."""

    gsus: int | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen
class CategoryResourceResponse(_Model):
    """One version of a resource: its prices per unit type and its limits.

    The fields after ``aliases`` are the hosted API's additions; they are ``None``
    where the server leaves them out (the seed's shapes do).
    """

    resource_id: str
    category: str
    resource: str
    units: dict[str, Units]
    max_input_units: int | None = None
    max_output_units: int | None = None
    max_total_units: int | None = None
    creation_timestamp: str | None = None
    start_timestamp: str | None = None
    resource_scope: str | None = None
    aliases: list[str] | None = None
    active: bool | None = None
    proxy_allowed: bool | None = None
    end_timestamp: str | None = None
    deprecated_timestamp: str | None = None
    description: str | None = None
    cost_per_hour: float | None = None
    character_billing: bool | None = None
    large_context_threshold: int | None = None
    aliased_resource: str | None = None
    reservation_id: str | None = None
    mapped_resource: MappedResource | None = None
    azure_resource: AzureResource | None = None
    aws_bedrock_resource: AwsBedrockResource | None = None
    google_vertex_resource: GoogleVertexResource | None = None
    extra: Mapping[str, Any] = _extra()

    def cost(self, usage: Mapping[str, tuple[int, int]]) -> Decimal:
        """What ``usage`` (unit type -> ``(input_units, output_units)``) costs at this
        version's prices, exactly: each price is taken from its shortest repr, so
        1,000,000 units at 0.000015 cost exactly ``Decimal(15)``. A unit type this
        version does not price, or a missing price for units used, raises
        ``ValueError`` naming it.
        """
        return version_cost(self, usage)


def _to_timestamp(value: str | datetime | None) -> str | None:
    return v.timestamp("start_timestamp", value)


def _to_units(value: Any) -> dict[str, Units]:
    checked = v.units("units", value)
    return {name: Units(p[0], p[1]) for name, p in checked.items()}


@attrs.frozen
class ResourceCreate:
    """The arguments of one ``resources.create()`` call, checked when built.

    ``create_many`` takes these (or mappings with the same keys). Building one
    raises ``ValueError``/``TypeError`` naming the field, so bad input never
    reaches the wire.
    """

    resource: str = attrs.field(validator=lambda _i, _a, x: _urls.check("resource", x))
    category: str = attrs.field(validator=lambda _i, _a, x: _urls.check("category", x))
    units: dict[str, Units] = attrs.field(converter=_to_units)
    max_input_units: int | None = attrs.field(
        default=None, validator=lambda _i, _a, x: v.optional_count("max_input_units", x)
    )
    max_output_units: int | None = attrs.field(
        default=None, validator=lambda _i, _a, x: v.optional_count("max_output_units", x)
    )
    max_total_units: int | None = attrs.field(
        default=None, validator=lambda _i, _a, x: v.optional_count("max_total_units", x)
    )
    start_timestamp: str | None = attrs.field(default=None, converter=_to_timestamp)

    @classmethod
    def of(cls, item: ResourceCreate | Mapping[str, Any]) -> ResourceCreate:
        """An item as given to ``create_many``: a ``ResourceCreate`` or a mapping."""
        if isinstance(item, ResourceCreate):
            return item
        if not isinstance(item, Mapping):
            raise TypeError(
                f"each item must be a ResourceCreate or a mapping, not {type(item).__name__}"
            )
        fine = type(item) is dict and item.keys() <= _CREATE_FIELDS
        unknown = () if fine else set(item) - _CREATE_FIELDS
        if unknown:
            raise ValueError(
                f"unknown field(s) {sorted(unknown)}; expected some of {sorted(_CREATE_FIELDS)}"
            )
        for name in ("resource", "category", "units"):
            if name not in item:
                raise ValueError(f"{name} is required")
        return cls(**item)


_CREATE_FIELDS = frozenset(a.name for a in attrs.fields(ResourceCreate))
