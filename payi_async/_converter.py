"""The package's cattrs converters and every hook they use, registered here once.

Response bodies become models only through ``structure_body`` and ``structure_page``;
anything that does not fit becomes ``APIResponseValidationError`` naming the field
path and the status. Request bodies are written by ``create_body``.

Two converters share one configuration: ``_fast`` (no ``detailed_validation``) builds
every body first; only when it fails does ``converter`` (detailed) run again on the
same body, to name the field path in the error or, should it take the body after
all, to return its result. So a body is either structured as the detailed converter
would structure it or refused with the detailed converter's message.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from types import MappingProxyType, NoneType, UnionType
from typing import Any, NamedTuple, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.dispatch import StructureHook
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.json import make_converter

from . import _json
from ._exceptions import APIResponseValidationError
from ._models import (
    AwsBedrockResource,
    AzureResource,
    CategoryDeleteResourceResponse,
    CategoryDeleteResponse,
    CategoryResourceResponse,
    CategoryResponse,
    GoogleVertexResource,
    MappedResource,
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
#: The same hooks without per-field error bookkeeping: the first try at every body.
_fast = make_converter(detailed_validation=False, forbid_extra_keys=False)
_CONVERTERS = (converter, _fast)


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


#: The integers a field typed ``int`` takes: what 64 bits hold, signed or not.
_INT_MIN, _INT_END = -(2**63), 2**64


def _structure_int(value: Any, _: type) -> int:
    if value.__class__ is int or (isinstance(value, int) and not isinstance(value, bool)):
        if _INT_MIN <= value < _INT_END:
            return value
        raise _WrongType(f"expected an integer within 64 bits, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        # orjson makes an integer beyond 64 bits a float: refused as the int is.
        if -(2.0**63) < value < 2.0**63:
            return int(value)
        raise _WrongType(f"expected an integer within 64 bits, got {value!r}")
    raise _WrongType(f"expected an integer, got {_json_type(value)} {value!r}")


def _structure_float(value: Any, _: type) -> float:
    if value.__class__ is float:
        return value  # decode_json lets no NaN or infinity through
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            raise _WrongType("expected a number a float can hold, got a larger one") from None
        if number - number != 0:
            raise _WrongType(f"expected a finite number, got {value!r}")
        return number
    raise _WrongType(f"expected a number, got {_json_type(value)}")


def _structure_bool(value: Any, _: type) -> bool:
    if value is True or value is False:
        return value
    raise _WrongType(f"expected a boolean, got {_json_type(value)}")


_SCALAR_HOOKS: dict[type, Callable[[Any, type], Any]] = {
    str: _structure_str,
    int: _structure_int,
    float: _structure_float,
    bool: _structure_bool,
}

for _conv in _CONVERTERS:
    _conv.register_structure_hook(bool, _structure_bool)
    _conv.register_structure_hook(str, _structure_str)
    _conv.register_structure_hook(int, _structure_int)
    _conv.register_structure_hook(float, _structure_float)


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


def _is_optional(type_: Any) -> bool:
    args = get_args(type_)
    return get_origin(type_) in (Union, UnionType) and len(args) == 2 and NoneType in args


def _optional(type_: Any, conv: cattrs.BaseConverter) -> StructureHook:
    # cattrs' own optional hook looks the inner hook up on every call.
    (inner_type,) = (arg for arg in get_args(type_) if arg is not NoneType)
    inner = conv.get_structure_hook(inner_type)

    def structure(value: Any, _: Any) -> Any:
        return None if value is None else inner(value, inner_type)

    return structure


#: How many wrong items of one list or mapping the detailed converter explains.
_EXPLAINED = 5


def _bounded_list(type_: Any, conv: cattrs.BaseConverter) -> StructureHook:
    # The detailed pass only words an error: it stops after a few wrong items, so that
    # a page of 100,000 wrong items costs as little as one of five.
    (item_type,) = get_args(type_) or (Any,)
    item_hook = conv.get_structure_hook(item_type)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, list):
            raise _WrongType(f"expected an array, got {_json_type(value)}")
        items: list[Any] = []
        errors: list[Exception] = []
        for index, item in enumerate(value):
            try:
                items.append(item_hook(item, item_type))
            except Exception as exc:
                note = IterableValidationNote(f"Structuring @ index {index}", index, item_type)
                errors.append(_noted(exc, note))
                if len(errors) >= _EXPLAINED:
                    break
        if errors:
            raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
        return items

    return structure


def _is_dict(type_: Any) -> bool:
    return get_origin(type_) is dict


def _bounded_dict(type_: Any, conv: cattrs.BaseConverter) -> StructureHook:
    key_type, value_type = get_args(type_) or (Any, Any)
    key_hook = conv.get_structure_hook(key_type)
    value_hook = conv.get_structure_hook(value_type)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise _WrongType(f"expected an object, got {_json_type(value)}")
        result: dict[Any, Any] = {}
        errors: list[Exception] = []
        for key, item in value.items():
            try:
                result[key_hook(key, key_type)] = value_hook(item, value_type)
            except Exception as exc:
                note = IterableValidationNote(f"Structuring @ key {key!r}", key, value_type)
                errors.append(_noted(exc, note))
                if len(errors) >= _EXPLAINED:
                    break
        if errors:
            raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
        return result

    return structure


def _noted(exc: Exception, note: Any) -> Exception:
    setattr(exc, "__notes__", [*getattr(exc, "__notes__", ()), note])  # noqa: B010
    return exc


def _str_keyed_dict(type_: Any, conv: cattrs.BaseConverter) -> StructureHook:
    # JSON object keys are strings already: only the values need structuring.
    value_type = get_args(type_)[1]
    value_hook = conv.get_structure_hook(value_type)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise _WrongType(f"expected an object, got {_json_type(value)}")
        for key in value:
            if key.__class__ is not str:
                raise _WrongType(f"expected string keys, got {key!r}")
        return {key: value_hook(item, value_type) for key, item in value.items()}

    return structure


def _is_str_keyed_dict(type_: Any) -> bool:
    return _is_dict(type_) and get_args(type_)[:1] == (str,)


_fast.register_structure_hook_factory(_is_list, _strict_list)
_fast.register_structure_hook_factory(_is_str_keyed_dict, _str_keyed_dict)
converter.register_structure_hook_factory(_is_list, _bounded_list)
converter.register_structure_hook_factory(_is_dict, _bounded_dict)
for _conv in _CONVERTERS:
    _conv.register_structure_hook_factory(_is_optional, _optional)


def _keep_extra(cls: type[T], conv: cattrs.BaseConverter) -> StructureHook:
    """A hook structuring ``cls`` that keeps unknown keys in ``extra``."""
    known = frozenset(a.name for a in attrs.fields(cls) if a.name != "extra")  # type: ignore[arg-type]
    names = tuple(known)
    if conv is _fast:
        return _fast_structure_fn(cls, known)
    base = make_dict_structure_fn(cls, conv, extra=override(omit=True))

    def structure(data: Any, _: type) -> T:
        if not isinstance(data, dict):
            raise _WrongType(f"expected an object, got {_json_type(data)}")
        obj = base(data, cls)
        if len(data) > len(known) or not known.issuperset(data):
            extra = _extra_of(data, names)
            if extra is not _NO_EXTRA:
                object.__setattr__(obj, "extra", extra)
        return obj

    return structure


_NO_EXTRA: Any = attrs.fields(Units).extra.default


def _extra_of(data: dict[str, Any], names: tuple[str, ...]) -> Any:
    """The keys of ``data`` not in ``names``, read-only (``_NO_EXTRA`` when none)."""
    # A copy less the known keys: cheaper than testing every key, same order.
    extra = data.copy()
    pop = extra.pop
    for name in names:
        pop(name, None)
    return MappingProxyType(extra) if extra else _NO_EXTRA


def _not_object(data: Any) -> _WrongType:
    return _WrongType(f"expected an object, got {_json_type(data)}")


def _fast_structure_fn(cls: type[T], known: frozenset[str]) -> Callable[[Any, Any], T]:
    """The fast converter's structure function for ``cls``, unknown keys kept in ``extra``.

    Like cattrs' generated one, but a null optional field is skipped (it is the
    default) and a scalar of the exact type is taken without a call: models have many
    optional fields, most of them null or plain scalars. Anything unusual goes to the
    same hooks, and any failure to the detailed converter, so results are the same.

    The instance is made with ``object.__new__`` and each slot filled through its
    descriptor, as the frozen ``__init__`` would with ``object.__setattr__`` but without
    a keyword dict and a bound-method call per field (the models have no validators,
    converters or ``__attrs_post_init__``; ``_check_plain`` makes sure of it).
    """
    _check_plain(cls)
    namespace: dict[str, Any] = {
        "cls": cls,
        "new": object.__new__,
        "dict": dict,
        "not_object": _not_object,
        "extra_of": _extra_of,
        "names": tuple(known),
        "superset": known.issuperset,
        "n_known": len(known),
    }
    lines = [
        "def structure(o, _):",
        "    if not isinstance(o, dict):",
        "        raise not_object(o)",
        "    obj = new(cls)",
    ]
    for i, a in enumerate(attrs.fields(attrs.resolve_types(cls))):  # type: ignore[arg-type, type-var]
        namespace[f"s{i}"] = getattr(cls, a.name).__set__
        if a.name == "extra":
            lines.append(f"    s{i}(obj, extra_of(o, names) if len(o) > n_known or not superset(o)")
            lines.append(f"         else {_NO_EXTRA_NAME})")
            namespace[_NO_EXTRA_NAME] = a.default
            continue
        optional = _is_optional(a.type)
        type_ = next(t for t in get_args(a.type) if t is not NoneType) if optional else a.type
        namespace[f"h{i}"] = _fast.get_structure_hook(type_)
        namespace[f"t{i}"] = type_
        get = f"o.get({a.name!r})" if optional else f"o[{a.name!r}]"
        lines.append(f"    v = {get}")
        if type_ in _SCALAR_HOOKS:
            check = f"v.__class__ is t{i}"
            if type_ is int:  # the hook words an integer beyond 64 bits
                check = f"({check} and {_INT_MIN} <= v < {_INT_END})"
            if optional:
                check = f"v is None or {check}"
            lines.append(f"    s{i}(obj, v if {check} else h{i}(v, t{i}))")
        elif optional:
            lines.append(f"    s{i}(obj, None if v is None else h{i}(v, t{i}))")
        else:
            lines.append(f"    s{i}(obj, h{i}(v, t{i}))")
    lines.append("    return obj")
    exec("\n".join(lines), namespace)  # noqa: S102 (our own generated code)
    result: Callable[[dict[str, Any], Any], T] = namespace["structure"]
    return result


_NO_EXTRA_NAME = "no_extra"


def _check_plain(cls: type[Any]) -> None:
    """Refuse to build ``cls`` slot by slot if its ``__init__`` does more than assign."""
    for a in attrs.fields(cls):
        if a.validator is not None or a.converter is not None or not a.init:
            raise TypeError(f"{cls.__name__}.{a.name} needs its __init__")
        if a.name != "extra" and a.default not in (attrs.NOTHING, None):
            raise TypeError(f"{cls.__name__}.{a.name} has a default other than None")
    if hasattr(cls, "__attrs_post_init__") or hasattr(cls, "__attrs_pre_init__"):
        raise TypeError(f"{cls.__name__} needs its __init__")
    if "__dict__" in dir(cls) and not hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__} is not slotted")


def _unstructure_keeping_extra(cls: type[T]) -> Callable[[Any], dict[str, Any]]:
    """Unstructure ``cls`` writing the keys kept in ``extra`` back."""
    unbase = make_dict_unstructure_fn(cls, converter, extra=override(omit=True))

    def unstructure(obj: Any) -> dict[str, Any]:
        data: dict[str, Any] = unbase(obj)
        if obj.extra:
            data.update((k, val) for k, val in obj.extra.items() if k not in data)
        return data

    return unstructure


for _cls in (
    Units,
    MappedResource,
    AzureResource,
    AwsBedrockResource,
    GoogleVertexResource,
    CategoryResponse,
    CategoryDeleteResponse,
    CategoryDeleteResourceResponse,
    CategoryResourceResponse,
):
    for _conv in _CONVERTERS:
        _conv.register_structure_hook(_cls, _keep_extra(_cls, _conv))
    converter.register_unstructure_hook(_cls, _unstructure_keeping_extra(_cls))

#: The fields of a create's body after ``units``, each sent only when not ``None``.
_CREATE_OPTIONAL = tuple(
    a.name for a in attrs.fields(ResourceCreate) if a.name not in ("resource", "category", "units")
)


def create_body(params: ResourceCreate) -> dict[str, Any]:
    """The JSON object of a create: the checked params, path fields and unset ones left out.

    A price that is ``None`` is left out of its unit (never sent as ``null``), as the
    vendor's client leaves out what the caller did not give; a unit with neither price
    is sent as ``{}``.
    """
    units: dict[str, dict[str, float]] = {}
    for name, unit in params.units.items():
        prices = units[name] = {}
        if unit.input_price is not None:
            prices["input_price"] = unit.input_price
        if unit.output_price is not None:
            prices["output_price"] = unit.output_price
    data: dict[str, Any] = {"units": units}
    for field in _CREATE_OPTIONAL:
        value = getattr(params, field)
        if value is not None:
            data[field] = value
    return data


class ResponseContext(NamedTuple):
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
    message = f"the body is not a valid {what}: " + "; ".join(problems[:_EXPLAINED])
    if len(problems) > _EXPLAINED:
        message += f"; and {len(problems) - _EXPLAINED} more"
    return APIResponseValidationError(
        message,
        method=ctx.method,
        url=ctx.url,
        status_code=ctx.status,
        body=body,
        request_id=ctx.request_id,
    )


_ACKS = (CategoryDeleteResponse, CategoryDeleteResourceResponse)
_fast_hooks: dict[type[Any], Callable[[Any, Any], Any]] = {}


def _fast_hook(cls: type[Any]) -> Callable[[Any, Any], Any]:
    hook = _fast_hooks.get(cls)
    if hook is None:
        hook = _fast_hooks[cls] = _fast.get_structure_hook(cls)
    return hook


def structure_body(data: Any, cls: type[T], ctx: ResponseContext) -> T:
    """A single-object response as ``cls``."""
    if cls in _ACKS:
        data = _ack_body(data, ctx)
    try:
        result: T = _fast_hook(cls)(data, cls)
        return result
    except Exception:  # noqa: S110 (the detailed converter then tells what is wrong)
        pass
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


_page_hooks: dict[tuple[cattrs.BaseConverter, type[Any]], Callable[[Any, Any], Any]] = {}


def _list_hook(conv: cattrs.BaseConverter, item_cls: type[Any]) -> Callable[[Any, Any], Any]:
    hook = _page_hooks.get((conv, item_cls))
    if hook is None:
        hook = _page_hooks[conv, item_cls] = conv.get_structure_hook(list[item_cls])  # type: ignore[valid-type]
    return hook


def structure_page(
    data: Any, item_cls: type[T], ctx: ResponseContext
) -> tuple[list[T], str | None, str | None]:
    """A page body ``{"items": [...], "cursor": ...}`` as items, next cursor, request id.

    ``items: null`` is an empty page; a missing, null or empty cursor ends the listing.
    """
    if isinstance(data, dict):
        raw_items = data.get("items")
        cursor = data.get("cursor")
        if cursor is None or isinstance(cursor, str):
            # On failure the detailed pass below tells what is wrong.
            with contextlib.suppress(Exception):
                hook = _list_hook(_fast, item_cls)
                items: list[T] = [] if raw_items is None else hook(raw_items, list[item_cls])  # type: ignore[valid-type]
                return items, cursor or None, _page_request_id(data, ctx)
    return _structure_page_detailed(data, item_cls, ctx)


def _structure_page_detailed(
    data: Any, item_cls: type[T], ctx: ResponseContext
) -> tuple[list[T], str | None, str | None]:
    hook = _list_hook(converter, item_cls)
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
    return items, cursor or None, _page_request_id(data, ctx)


def _page_request_id(data: dict[str, Any], ctx: ResponseContext) -> str | None:
    request_id = data.get("request_id")
    return request_id if isinstance(request_id, str) else ctx.request_id


def _prefix(exc: Exception, name: str) -> cattrs.BaseValidationError:
    # Paths in the message then read $.items[3].units rather than $[3].units.
    return cattrs.ClassValidationError("page", [_with_note(exc, name)], dict)


def _with_note(exc: Exception, name: str) -> Exception:
    from cattrs.errors import AttributeValidationNote

    notes = [*getattr(exc, "__notes__", ()), AttributeValidationNote(name, name, list)]
    setattr(exc, "__notes__", notes)  # noqa: B010 (add_note is 3.11+)
    return exc


class NonFiniteNumber(ValueError):
    """A body holds NaN, Infinity or a number too large for a float."""


class _Refused(Exception):
    pass


def _finite_float(text: str) -> float:
    value = float(text)
    if value - value != 0:  # inf - inf is nan
        raise _Refused
    return value


def _no_constant(text: str) -> Any:
    raise _Refused


class _Mark:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _mark_float(text: str) -> Any:
    value = float(text)
    return _Mark(text) if value - value != 0 else value


def _first_mark(data: Any) -> tuple[str, str]:
    """The path and text of the first non-finite number in ``data`` (marked)."""
    todo: list[tuple[Any, str]] = [(data, "$")]
    while todo:
        value, path = todo.pop()
        if isinstance(value, _Mark):
            return path, value.text
        if isinstance(value, dict):
            todo.extend(
                (item, f"{path}.{key}" if key.isidentifier() else f"{path}[{key!r}]")
                for key, item in reversed(value.items())
            )
        elif isinstance(value, list):
            todo.extend((item, f"{path}[{i}]") for i, item in reversed(list(enumerate(value))))
    return "$", "?"


def _int(text: str) -> int:
    return int(text)


def _object(value: dict[str, Any]) -> dict[str, Any]:
    return value


def decode_json(raw: bytes, *, yielding: bool = False) -> Any:
    """Decode a body; raises ``ValueError`` when it is not JSON.

    JSON has no NaN or infinity: ``NaN``, ``Infinity``, ``-Infinity`` and literals too
    large for a float (``1e999``) raise ``NonFiniteNumber`` naming where they are.
    ``yielding`` (for a worker thread) calls Python for every number and object, so
    that the interpreter can hand the GIL to the event loop's thread while a big body
    decodes (a body of nothing but strings still decodes in one go). Otherwise
    ``orjson`` decodes first where installed; what it refuses the standard library
    judges (``_json``), so both backends accept, refuse and word errors alike.
    """
    if not yielding:
        value = _json.fast_loads(raw)
        if value is not _json.FALLBACK:
            return value
    try:
        if yielding:
            return json.loads(
                raw,
                parse_float=_finite_float,
                parse_int=_int,
                parse_constant=_no_constant,
                object_hook=_object,
            )
        return json.loads(raw, parse_float=_finite_float, parse_constant=_no_constant)
    except RecursionError:
        # Arrays or objects nested thousands deep: refused like any other non-JSON.
        raise ValueError("nested too deeply to decode") from None
    except _Refused:
        pass
    path, text = _first_mark(json.loads(raw, parse_float=_mark_float, parse_constant=_Mark))
    raise NonFiniteNumber(f"{text} is not a finite number @ {path}; JSON has no NaN or Infinity")
