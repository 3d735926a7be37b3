"""Price-list files: rows in, create items out (with line numbers), and back again.

Three formats, chosen by the file's extension or ``--format``:

``jsonl`` (``.jsonl``, ``.ndjson``)
    One JSON object per line with ``create``'s parameter names: ``category``,
    ``resource``, ``units`` (``{"text": {"input_price": 1e-06, "output_price":
    2e-06}}``) and, optionally, ``max_input_units``, ``max_output_units``,
    ``max_total_units`` and ``start_timestamp`` (ISO 8601 with a UTC offset). Blank
    lines are skipped. ``resource_id`` (written by ``export --with-ids``) and fields
    whose names start with ``_`` (``_error`` and ``_line`` in an ``--report`` file)
    are accepted and ignored, so those files import as they are.
    This is what ``export`` writes by default; it streams, so it suits any size.

``json`` (``.json``)
    One JSON array of such objects. The whole file is read into memory.

``csv`` (``.csv``)
    A header line, then one row per unit type, with the columns
    ``category,resource,unit,input_price,output_price,max_input_units,``
    ``max_output_units,max_total_units,start_timestamp`` (the last four may be
    left out of the header, and any optional cell may be empty). Consecutive rows
    with the same ``category``, ``resource``, ``start_timestamp`` and ``max_*``
    cells form one create, with one unit type per row; a unit type that repeats
    starts the next create, so two versions with equal cells stay two versions.
    A ``resource_id`` column (``export --with-ids``) is accepted and ignored. A
    UTF-8 byte order mark (Excel's "CSV UTF-8") is skipped, in every format.

Timestamps follow the SDK's one rule (``payi_async._validation.parse_timestamp``):
ISO 8601 with a UTC offset; one without is refused as a naive ``datetime`` is,
unless ``assume_utc`` (``import --assume-utc``) reads it as UTC.

Every item is checked here with ``ResourceCreate.of``, so that a whole file can be
validated before anything is sent.
Reading yields ``Parsed`` items and ``Problem`` entries, each with its line number.
``write_row``/``csv_rows`` turn a ``CategoryResourceResponse`` back into an import
row, so ``export`` output imports again as it is.
"""

from __future__ import annotations

import csv
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final, Literal

import attrs

from .._models import CategoryResourceResponse, ResourceCreate
from .._validation import timestamp

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "Format",
    "Parsed",
    "Problem",
    "csv_rows",
    "detect_format",
    "import_row",
    "read_items",
    "write_csv_header",
    "write_row",
]

Format = Literal["jsonl", "json", "csv"]

#: Every format ``import`` reads.
FORMATS: Final[tuple[Format, ...]] = ("jsonl", "json", "csv")

#: The CSV columns, in the order ``export`` writes them.
CSV_COLUMNS: Final[tuple[str, ...]] = (
    "category",
    "resource",
    "unit",
    "input_price",
    "output_price",
    "max_input_units",
    "max_output_units",
    "max_total_units",
    "start_timestamp",
)
_CSV_REQUIRED: Final = frozenset(CSV_COLUMNS[:5])
#: Accepted in a file and ignored: a version's id, as ``export --with-ids`` writes it.
ID_COLUMN: Final = "resource_id"
_LIMITS: Final = ("max_input_units", "max_output_units", "max_total_units")

_EXTENSIONS: Final[Mapping[str, Format]] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
}


@attrs.frozen
class Parsed:
    """A valid create item and the line it starts on."""

    line: int
    item: ResourceCreate


@attrs.frozen
class Problem:
    """A row that cannot become a create item: its line and what is wrong."""

    line: int
    message: str
    #: The row as read, when it was a JSON object (CSV: the item it would have made),
    #: so that ``--report`` can write it back for fixing and importing again.
    row: Mapping[str, Any] | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class FormatError(ValueError):
    """The file's format cannot be told from its name."""


def detect_format(path: str | Path, given: str | None = None) -> Format:
    """``given`` when set, else the format that ``path``'s extension names."""
    if given is not None:
        if given not in FORMATS:
            raise FormatError(f"unknown format {given!r}; expected one of {', '.join(FORMATS)}")
        return given
    suffix = Path(path).suffix.lower()
    try:
        return _EXTENSIONS[suffix]
    except KeyError:
        raise FormatError(
            f"cannot tell the format of {str(path)!r} from its extension; "
            f"pass --format ({', '.join(FORMATS)})"
        ) from None


def read_items(
    path: str | Path, fmt: Format, *, assume_utc: bool = False
) -> Iterator[Parsed | Problem]:
    """Every item of the file, in order, as ``Parsed`` or ``Problem``.

    Reading is lazy for ``jsonl`` and ``csv``; a ``json`` array is read whole. A
    leading UTF-8 byte order mark is skipped. With ``assume_utc``, a
    ``start_timestamp`` without a UTC offset is read as UTC instead of refused.
    ``OSError`` and ``UnicodeDecodeError`` are left to the caller.
    """
    check = functools.partial(_check, assume_utc=assume_utc)
    newline = "" if fmt == "csv" else None
    with open(path, encoding="utf-8-sig", newline=newline) as stream:
        if fmt == "jsonl":
            yield from _read_jsonl(stream, check)
        elif fmt == "json":
            yield from _read_json_array(stream.read(), check)
        else:
            yield from _read_csv(stream, check)


# ---------------------------------------------------------------- checking one item


Check = Callable[[int, object], "Parsed | Problem"]


def _check(line: int, value: object, *, assume_utc: bool = False) -> Parsed | Problem:
    if not isinstance(value, Mapping):
        return Problem(line, f"expected a JSON object, not {_json_kind(value)}")
    fields = value
    if any(key == ID_COLUMN or (isinstance(key, str) and key[:1] == "_") for key in value):
        fields = {k: v for k, v in value.items() if k != ID_COLUMN and not str(k).startswith("_")}
    try:
        if assume_utc and isinstance(fields.get("start_timestamp"), str):
            start = timestamp("start_timestamp", fields["start_timestamp"], assume_utc=True)
            fields = {**fields, "start_timestamp": start}
        item = ResourceCreate.of(fields)
    except (TypeError, ValueError) as exc:
        return Problem(line, str(exc), dict(fields))
    return Parsed(line, item)


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


# ---------------------------------------------------------------- JSON Lines and JSON


def _read_jsonl(stream: IO[str], check: Check) -> Iterator[Parsed | Problem]:
    for line, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Problem(line, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        except ValueError as exc:  # a number of more digits than Python reads
            yield Problem(line, f"invalid JSON: {exc}")
            continue
        yield check(line, value)


_SPACE = re.compile(r"\s*")


def _read_json_array(text: str, check: Check) -> Iterator[Parsed | Problem]:
    decoder = json.JSONDecoder()
    counted_to, line = 0, 1

    def line_at(pos: int) -> int:
        nonlocal counted_to, line
        line += text.count("\n", counted_to, pos)
        counted_to = pos
        return line

    def skip(pos: int) -> int:
        match = _SPACE.match(text, pos)
        assert match is not None
        return match.end()

    pos = skip(0)
    if text[pos : pos + 1] != "[":
        yield Problem(line_at(pos), "a .json file must hold one JSON array of objects")
        return
    pos = skip(pos + 1)
    if text[pos : pos + 1] == "]":
        pos = skip(pos + 1)
    else:
        while True:
            try:
                value, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                yield Problem(exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})")
                return
            except ValueError as exc:  # a number of more digits than Python reads
                yield Problem(line_at(pos), f"invalid JSON: {exc}")
                return
            yield check(line_at(pos), value)
            pos = skip(end)
            separator = text[pos : pos + 1]
            pos = skip(pos + 1)
            if separator == "]":
                break
            if separator != ",":
                yield Problem(line_at(end), "invalid JSON: expected ',' or ']' after an item")
                return
    if pos < len(text):
        yield Problem(line_at(pos), "invalid JSON: extra data after the array")


# ---------------------------------------------------------------- CSV


@attrs.define
class _Group:
    """Consecutive CSV rows that make one create."""

    line: int
    key: tuple[str, ...]
    row: dict[str, str]
    units: dict[str, dict[str, float]] = attrs.field(factory=dict)
    problems: list[Problem] = attrs.field(factory=list)

    def finish(self, check: Check) -> Iterator[Parsed | Problem]:
        if self.problems:
            yield from self.problems
            return
        item: dict[str, Any] = {
            "category": self.row["category"],
            "resource": self.row["resource"],
            "units": self.units,
        }
        for name in _LIMITS:
            cell = self.row.get(name, "")
            if cell:
                item[name] = int(cell)  # checked when the row was read
        if self.row.get("start_timestamp"):
            item["start_timestamp"] = self.row["start_timestamp"]
        yield check(self.line, item)


def _read_csv(stream: IO[str], check: Check) -> Iterator[Parsed | Problem]:
    reader = csv.reader(stream)
    header: list[str] | None = None
    group: _Group | None = None
    for cells in reader:
        end = reader.line_num
        line = end - sum(cell.count("\n") for cell in cells)
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if header is None:
            header = [cell.strip() for cell in cells]
            problem = _check_header(line, header)
            if problem is not None:
                yield problem
                return
            continue
        if len(cells) != len(header):
            yield Problem(line, f"expected {len(header)} cells as in the header, not {len(cells)}")
            continue
        row = dict(zip(header, (cell.strip() for cell in cells), strict=True))
        key = (
            row["category"],
            row["resource"],
            *(row.get(n, "") for n in (*_LIMITS, "start_timestamp", ID_COLUMN)),
        )
        unit = row["unit"]
        if group is None or group.key != key or unit in group.units:
            if group is not None:
                yield from group.finish(check)
            group = _Group(line, key, row)
        _add_unit(group, line, row)
    if group is not None:
        yield from group.finish(check)


def _check_header(line: int, header: list[str]) -> Problem | None:
    unknown = [name for name in header if name not in CSV_COLUMNS and name != ID_COLUMN]
    if unknown:
        return Problem(
            line, f"unknown column(s) {unknown}; the columns are {','.join(CSV_COLUMNS)}"
        )
    missing = [name for name in CSV_COLUMNS if name in _CSV_REQUIRED and name not in header]
    if missing:
        return Problem(line, f"missing column(s) {missing}; the header must name them")
    if len(set(header)) != len(header):
        return Problem(line, "a column is named twice in the header")
    return None


def _add_unit(group: _Group, line: int, row: dict[str, str]) -> None:
    problems: list[str] = []
    if not row["unit"]:
        problems.append("unit must not be empty")
    prices: dict[str, float] = {}
    for name in ("input_price", "output_price"):
        if not row[name]:
            continue  # a unit may carry one price, or neither
        try:
            prices[name] = float(row[name])
        except ValueError:
            problems.append(f"{name} is not a number: {row[name]!r}")
    for name in _LIMITS:
        cell = row.get(name, "")
        if cell and not _is_int(cell):
            problems.append(f"{name} is not a whole number: {cell!r}")
    if problems:
        group.problems.extend(Problem(line, p) for p in problems)
    else:
        group.units[row["unit"]] = prices


def _is_int(cell: str) -> bool:
    try:
        int(cell)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- writing


def import_row(
    version: CategoryResourceResponse | ResourceCreate, *, with_id: bool = False
) -> dict[str, Any]:
    """A version (or a create item) as an import row: a JSON Lines object, unset
    optional fields left out; with ``with_id``, a version's ``resource_id`` first."""
    row: dict[str, Any] = {}
    if with_id and isinstance(version, CategoryResourceResponse):
        row[ID_COLUMN] = version.resource_id
    row["category"] = version.category
    row["resource"] = version.resource
    row["units"] = {
        name: {
            k: price
            for k, price in (("input_price", u.input_price), ("output_price", u.output_price))
            if price is not None
        }
        for name, u in version.units.items()
    }
    for name in _LIMITS:
        value = getattr(version, name)
        if value is not None:
            row[name] = value
    if version.start_timestamp is not None:
        row["start_timestamp"] = _server_time(version.start_timestamp)
    return row


def _server_time(value: str) -> str:
    """A server's timestamp, which is UTC: given an offset if it lacks one, so that
    the row imports again under the one timestamp rule."""
    try:
        return timestamp("start_timestamp", value, assume_utc=True) or value
    except ValueError:
        return value


def csv_rows(version: CategoryResourceResponse, *, with_id: bool = False) -> Iterator[list[str]]:
    """A version as CSV rows in ``CSV_COLUMNS`` order (then ``resource_id`` with
    ``with_id``), one per unit type."""
    limits = ["" if getattr(version, n) is None else str(getattr(version, n)) for n in _LIMITS]
    start = "" if version.start_timestamp is None else _server_time(version.start_timestamp)
    ids = [version.resource_id] if with_id else []
    for name, units in version.units.items():
        yield [
            version.category,
            version.resource,
            name,
            "" if units.input_price is None else repr(float(units.input_price)),
            "" if units.output_price is None else repr(float(units.output_price)),
            *limits,
            start,
            *ids,
        ]


def write_csv_header(stream: IO[str], *, with_id: bool = False) -> None:
    """The CSV header line."""
    columns = (*CSV_COLUMNS, ID_COLUMN) if with_id else CSV_COLUMNS
    csv.writer(stream, lineterminator="\n").writerow(columns)


def write_row(
    stream: IO[str],
    fmt: Literal["jsonl", "csv"],
    version: CategoryResourceResponse,
    *,
    with_id: bool = False,
) -> int:
    """Write one version as import rows; returns how many lines were written."""
    if fmt == "jsonl":
        stream.write(json.dumps(import_row(version, with_id=with_id)) + "\n")
        return 1
    csv.writer(stream, lineterminator="\n").writerows(csv_rows(version, with_id=with_id))
    return len(version.units)
