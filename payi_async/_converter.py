"""The package's one cattrs converter and every hook it uses, registered here once.

Response bodies become models only through ``structure_body`` and ``structure_page``;
anything that does not fit becomes ``APIResponseValidationError`` naming the field
path and the status. Request bodies are written by ``create_body``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, TypeVar, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.dispatch import StructureHook
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.json import make_converter

from ._exceptions import APIResponseValidationError
from ._models import (
    CategoryDeleteResourceResponse,
    CategoryDeleteResponse,
    CategoryResourceResponse,
    CategoryResponse,
    ResourceCreate,
    Units,
)

__all__ = [
    "ResponseContext",
    "converter",
    "create_body",
    "decode_json",
    "structure_body",
    "structure_page",
]

T = TypeVar("T")

#: The converter. Unknown keys are kept in each model's ``extra``, never rejected.
converter = make_converter(detailed_validation=True, forbid_extra_keys=False)


class _WrongType(TypeError):
    """A JSON value of the wrong type; its text is the whole explanation."""


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", str: "string", int: "number", float: "number"}.get(
        type(value), "array" if isinstance(value, list) else "object"
    )


# Strict scalars: cattrs' defaults would turn null into "None", 3.7 into 3, "5" into 5.
def _structure_str(value: Any, _: type) -> str:
    if value.__class__ is str or isinstance(value, str):
        return value
    raise _WrongType(f"expected a string, got {_json_type(value)}")


def _structure_int(value: Any, _: type) -> int:
    if value.__class__ is int or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _WrongType(f"expected an integer, got {_json_type(value)} {value!r}")


def _structure_float(value: Any, _: type) -> float:
    if value.__class__ is float:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise _WrongType(f"expected a number, got {_json_type(value)}")


converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(int, _structure_int)
converter.register_structure_hook(float, _structure_float)


def _is_list(type_: Any) -> bool:
    return get_origin(type_) is list


def _strict_list(type_: Any, conv: cattrs.BaseConverter) -> StructureHook:
    # cattrs' own list hook takes any iterable: "gpt" would become ["g", "p", "t"].
    base = list_structure_factory(type_, conv)

    def structure(value: Any, type_: Any) -> Any:
        if not isinstance(value, list):
            raise _WrongType(f"expected an array, got {_json_type(value)}")
        return base(value, type_)

    return structure


converter.register_structure_hook_factory(_is_list, _strict_list)


def _keep_extra(cls: type[T]) -> None:
    """Structure ``cls`` keeping unknown keys in ``extra``; unstructure writes them back."""
    known = frozenset(a.name for a in attrs.fields(cls) if a.name != "extra")  # type: ignore[arg-type]
    base = make_dict_structure_fn(cls, converter, extra=override(omit=True))
    unbase = make_dict_unstructure_fn(cls, converter, extra=override(omit=True))

    def structure(data: Any, _: type) -> T:
        if not isinstance(data, dict):
            raise _WrongType(f"expected an object, got {_json_type(data)}")
        obj = base(data, cls)
        if len(data) > len(known) or not known.issuperset(data):
            extra = {k: val for k, val in data.items() if k not in known}
            if extra:
                object.__setattr__(obj, "extra", MappingProxyType(extra))
        return obj

    def unstructure(obj: Any) -> dict[str, Any]:
        data: dict[str, Any] = unbase(obj)
        if obj.extra:
            data.update((k, val) for k, val in obj.extra.items() if k not in data)
        return data

    converter.register_structure_hook(cls, structure)
    converter.register_unstructure_hook(cls, unstructure)


for _cls in (
    Units,
    CategoryResponse,
    CategoryDeleteResponse,
    CategoryDeleteResourceResponse,
    CategoryResourceResponse,
):
    _keep_extra(_cls)

_unstructure_create = make_dict_unstructure_fn(
    ResourceCreate, converter, resource=override(omit=True), category=override(omit=True)
)


def create_body(params: ResourceCreate) -> bytes:
    """The JSON body of a create: the checked params, path fields and unset ones left out."""
    data = {k: val for k, val in _unstructure_create(params).items() if val is not None}
    for unit in data["units"].values():
        unit.pop("extra", None)
    return json.dumps(data, separators=(",", ":")).encode()


@attrs.frozen
class ResponseContext:
    """What an error message needs to say about the answer that did not fit."""

    method: str
    url: str
    status: int
    request_id: str | None


def _format(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, _WrongType):
        return str(exc)
    return cattrs.v.format_exception(exc, type_)


def _invalid(exc: BaseException, ctx: ResponseContext, body: Any, what: str) -> Exception:
    if isinstance(exc, (cattrs.BaseValidationError, _WrongType)):
        problems = cattrs.transform_error(exc, path="$", format_exception=_format)
    else:
        problems = [f"{exc.__class__.__name__}: {exc}"]
    message = f"the body is not a valid {what}: " + "; ".join(problems[:5])
    if len(problems) > 5:
        message += f"; and {len(problems) - 5} more"
    return APIResponseValidationError(
        message,
        method=ctx.method,
        url=ctx.url,
        status_code=ctx.status,
        body=body,
        request_id=ctx.request_id,
    )


_ACKS = (CategoryDeleteResponse, CategoryDeleteResourceResponse)


def structure_body(data: Any, cls: type[T], ctx: ResponseContext) -> T:
    """A single-object response as ``cls``."""
    if cls in _ACKS:
        data = _ack_body(data, ctx)
    try:
        return converter.structure(data, cls)
    except Exception as exc:
        raise _invalid(exc, ctx, data, cls.__name__) from exc


def _ack_body(data: Any, ctx: ResponseContext) -> Any:
    # The hosted API answers deletes with the array of what it deleted.
    if isinstance(data, list):
        data = {"deleted": data}
    if isinstance(data, dict) and data.get("request_id") is None:
        # The delete happened (2xx): a missing trace id must not make it look failed.
        data = {**data, "request_id": ctx.request_id or ""}
    return data


_page_hooks: dict[type[Any], Callable[[Any, Any], Any]] = {}


def structure_page(
    data: Any, item_cls: type[T], ctx: ResponseContext
) -> tuple[list[T], str | None, str | None]:
    """A page body ``{"items": [...], "cursor": ...}`` as items, next cursor, request id.

    ``items: null`` is an empty page; a missing, null or empty cursor ends the listing.
    """
    hook = _page_hooks.get(item_cls)
    if hook is None:
        hook = _page_hooks[item_cls] = converter.get_structure_hook(list[item_cls])  # type: ignore[valid-type]
    in_items = False
    try:
        if not isinstance(data, dict):
            raise _WrongType(f"expected a page object, got {_json_type(data)}")
        raw_items = data.get("items")
        cursor = data.get("cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise _WrongType(f"cursor: expected a string, got {_json_type(cursor)}")
        in_items = True
        items: list[T] = [] if raw_items is None else hook(raw_items, list[item_cls])  # type: ignore[valid-type]
    except Exception as exc:
        if in_items and isinstance(exc, (cattrs.BaseValidationError, _WrongType)):
            exc = _prefix(exc, "items")
        raise _invalid(exc, ctx, data, f"page of {item_cls.__name__}") from exc
    request_id = data.get("request_id")
    if not isinstance(request_id, str):
        request_id = ctx.request_id
    return items, cursor or None, request_id


def _prefix(exc: Exception, name: str) -> cattrs.BaseValidationError:
    # Paths in the message then read $.items[3].units rather than $[3].units.
    return cattrs.ClassValidationError("page", [_with_note(exc, name)], dict)


def _with_note(exc: Exception, name: str) -> Exception:
    from cattrs.errors import AttributeValidationNote

    notes = [*getattr(exc, "__notes__", ()), AttributeValidationNote(name, name, list)]
    setattr(exc, "__notes__", notes)  # noqa: B010 (add_note is 3.11+)
    return exc


def decode_json(raw: bytes) -> Any:
    """Decode a body; raises ``ValueError`` when it is not JSON."""
    try:
        return json.loads(raw)
    except RecursionError:
        # Arrays or objects nested thousands deep: refused like any other non-JSON.
        raise ValueError("nested too deeply to decode") from None
