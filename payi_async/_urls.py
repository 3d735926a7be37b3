"""Where each request goes: names become path segments, the query is built, the URL joined.

The one module for it: every method's names pass through ``segment`` (checked by
``check``, then percent-encoded as exactly one segment) in path order, category first;
``ResourceCreate`` checks its names with the same ``check`` when it is built. Other
modules hand paths and query pairs made here to ``join``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

__all__ = [
    "MAX_SEGMENT_BYTES",
    "ROOT",
    "category_path",
    "check",
    "checked_resource_path",
    "flatten_query",
    "join",
    "merge_query",
    "page_query",
    "query_pairs",
    "quote_segment",
    "resource_path",
    "resources_path",
    "segment",
    "version_path",
]

#: The path every method's URL starts with, after the base URL.
ROOT = "/api/v1/categories"

#: A path segment longer than this (after percent-encoding) is refused: servers and
#: proxies cap a request line near 8 KiB and would answer with an unrelated error.
MAX_SEGMENT_BYTES = 2048


def check(name: str, value: object) -> str:
    """A required name that becomes one URL path segment, checked (not encoded)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if value.isascii() and 2 < len(value) <= MAX_SEGMENT_BYTES // 3:
        return value  # no surrogate, not "." or "..", short enough quoted: the common case
    if not value:
        raise ValueError(f"Expected a non-empty value for `{name}` but received {value!r}")
    if value in (".", ".."):
        raise ValueError(
            f"{name} must not be {value!r}: servers and proxies resolve such a path "
            "segment away, so the request would reach another path"
        )
    try:
        encoded = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{name} is not valid text: it holds a lone surrogate {value[exc.start]!r} "
            f"at position {exc.start}, which has no UTF-8 form"
        ) from None
    # Quoting at most triples a byte, so only long names need quoting to be measured.
    if encoded > MAX_SEGMENT_BYTES // 3 and len(quote_segment(value)) > MAX_SEGMENT_BYTES:
        raise ValueError(
            f"{name} is too long: {len(value)} characters encode to more than "
            f"{MAX_SEGMENT_BYTES} bytes in the URL"
        )
    return value


#: What ``quote`` never encodes: such a segment is its own quoted form.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*").fullmatch


def quote_segment(value: str) -> str:
    """``value`` percent-encoded as exactly one URL path segment."""
    # safe="" so "/", "?", "#", "%" and ":" are encoded and each name stays one segment.
    return value if _UNRESERVED(value) else quote(value, safe="")


def segment(name: str, value: object) -> str:
    """``value`` checked (``check``) and percent-encoded as one path segment."""
    return quote_segment(check(name, value))


def category_path(category: object) -> str:
    """``/api/v1/categories/{category}``."""
    return f"{ROOT}/{segment('category', category)}"


def resources_path(category: object) -> str:
    """``/api/v1/categories/{category}/resources``."""
    return f"{category_path(category)}/resources"


def resource_path(category: object, resource: object) -> str:
    """``/api/v1/categories/{category}/resources/{resource}``."""
    return f"{resources_path(category)}/{segment('resource', resource)}"


def checked_resource_path(category: str, resource: str) -> str:
    """``resource_path`` of names ``check`` took already (a ``ResourceCreate``'s)."""
    return f"{ROOT}/{quote_segment(category)}/resources/{quote_segment(resource)}"


def version_path(category: object, resource: object, resource_id: object) -> str:
    """``/api/v1/categories/{category}/resources/{resource}/{resource_id}``."""
    return f"{resource_path(category, resource)}/{segment('resource_id', resource_id)}"


def page_query(
    limit: int | None, sort_ascending: bool | None, active: bool | None = None
) -> list[tuple[str, str]]:
    """The query pairs of a list method's page parameters (checked by the caller)."""
    query: list[tuple[str, str]] = []
    if limit is not None:
        query.append(("limit", str(limit)))
    if sort_ascending is not None:
        query.append(("sort_ascending", "true" if sort_ascending else "false"))
    if active is not None:
        # The hosted API spells the filter with a capital A.
        query.append(("Active", "true" if active else "false"))
    return query


def query_pairs(name: str, values: Mapping[str, object] | None) -> list[tuple[str, str]]:
    """``values`` as query pairs: ``True`` is ``true``, ``None`` is left out, else ``str``."""
    if values is None:
        return []
    if not isinstance(values, Mapping):
        raise TypeError(f"{name} must be a mapping of parameter names to values")
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        if not isinstance(key, str):
            raise TypeError(f"{name} keys must be str, not {type(key).__name__}")
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        else:
            pairs.append((key, str(value)))
    return pairs


def merge_query(layers: Sequence[Sequence[tuple[str, str]]]) -> list[tuple[str, str]]:
    """Query layers in order; a name given again replaces the earlier layers' values."""
    merged: list[tuple[str, str]] = []
    for layer in layers:
        if not layer:
            continue
        names = {name for name, _ in layer}
        merged = [pair for pair in merged if pair[0] not in names]
        merged.extend(layer)
    return merged


def join(base_url: str, path: str, pairs: Sequence[tuple[str, str]] = ()) -> str:
    """The URL of ``path`` (made here) under ``base_url`` (no trailing "/"), with ``pairs``."""
    url = base_url + path
    if pairs:
        url += "?" + urlencode(pairs, quote_via=quote)
    return url


def _query_text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def flatten_query(extra: Mapping[str, object] | None) -> Mapping[str, object] | None:
    """``extra_query`` with list values comma-joined and mappings as bracketed keys
    (``filter[name]=x``), as the vendor's client sends them; other values unchanged."""
    if extra is None or not isinstance(extra, Mapping):
        return extra  # the client names what is wrong with it
    flat: dict[Any, object] = {}

    def add(key: Any, value: object) -> None:
        if isinstance(value, Mapping):
            for sub, each in value.items():
                add(f"{key}[{sub}]", each)
        elif isinstance(value, (list, tuple)):
            flat[key] = ",".join(_query_text(v) for v in value if v is not None)
        else:
            flat[key] = value

    for key, value in extra.items():
        add(key, value)
    return flat
