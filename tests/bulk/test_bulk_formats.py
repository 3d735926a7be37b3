"""The price-list formats of the command line, without a server."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from payi_async import CategoryResourceResponse, Units
from payi_async.cli._formats import (
    Parsed,
    Problem,
    csv_rows,
    detect_format,
    import_row,
    read_items,
    write_csv_header,
    write_row,
)

HEADER = "category,resource,unit,input_price,output_price,max_input_units,start_timestamp\n"


def parsed(path: Path, fmt: str = "csv") -> list[Parsed | Problem]:
    return list(read_items(path, detect_format(path, fmt)))


def test_consecutive_csv_rows_of_one_version_form_one_create(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        HEADER + "c.x,a,text,1,2,100,2025-01-01T00:00:00Z\n"
        "c.x,a,image,3,4,100,2025-01-01T00:00:00Z\n"
        "c.x,a,text,5,6,100,2025-01-01T00:00:00Z\n"  # text again: a second version
        "c.x,a,text,7,8,200,2025-01-01T00:00:00Z\n"  # other max: a third
        "c.x,b,text,9,9,,\n",
        "utf-8",
    )
    entries = parsed(path)
    assert all(isinstance(e, Parsed) for e in entries)
    assert [(e.line, sorted(e.item.units)) for e in entries if isinstance(e, Parsed)] == [
        (2, ["image", "text"]),
        (4, ["text"]),
        (5, ["text"]),
        (6, ["text"]),
    ]
    last = entries[-1]
    assert isinstance(last, Parsed)
    assert last.item.max_input_units is None and last.item.start_timestamp is None


def test_csv_header_must_name_the_required_columns_and_no_others(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("category,resource,units,input_price,output_price\n", "utf-8")
    (problem,) = parsed(path)
    assert isinstance(problem, Problem) and problem.line == 1 and "units" in problem.message


def test_json_arrays_empty_and_malformed(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(" [ ] \n", "utf-8")
    assert parsed(path, "json") == []
    path.write_text('[\n{"category": "c", "resource": "r", "units": {}}\n,\n', "utf-8")
    problems = parsed(path, "json")
    assert [p.line for p in problems if isinstance(p, Problem)] == [2, 4]
    path.write_text('{"category": "c"}', "utf-8")
    (problem,) = parsed(path, "json")
    assert isinstance(problem, Problem) and "array" in problem.message


def test_format_by_extension_or_given() -> None:
    assert detect_format("a.JSONL") == "jsonl"
    assert detect_format("a.ndjson") == "jsonl"
    assert detect_format("a.json") == "json"
    assert detect_format("a.csv") == "csv"
    assert detect_format("a.txt", "csv") == "csv"
    with pytest.raises(ValueError, match="--format"):
        detect_format("a.txt")


def test_a_version_written_as_rows_reads_back_as_the_same_create(tmp_path: Path) -> None:
    version = CategoryResourceResponse(
        resource_id="rsrc_1",
        category="custom.x",
        resource='a,b\n"c"',
        units={"text": Units(1e-07, 3.3e-07), "image": Units(0.1, 0.0)},
        max_output_units=10,
        start_timestamp="2025-03-01T00:00:00.000000Z",
    )
    for fmt in ("jsonl", "csv"):
        stream = io.StringIO()
        if fmt == "csv":
            write_csv_header(stream)
        assert write_row(stream, fmt, version) == (1 if fmt == "jsonl" else 2)
        path = tmp_path / f"v.{fmt}"
        path.write_text(stream.getvalue(), "utf-8", newline="")
        (entry,) = parsed(path, fmt)
        assert isinstance(entry, Parsed), entry
        assert import_row(entry.item) == import_row(version)
    assert len(list(csv_rows(version))) == 2


def test_a_version_with_partial_units_exports_and_imports_again(tmp_path: Path) -> None:
    version = CategoryResourceResponse(
        resource_id="rsrc_2",
        category="custom.x",
        resource="m",
        units={
            "text": Units(1e-07, 3.3e-07),
            "text_cached": Units(input_price=2.5e-08),
            "out_only": Units(output_price=0.5),
            "neither": Units(),
        },
    )
    assert import_row(version)["units"] == {
        "text": {"input_price": 1e-07, "output_price": 3.3e-07},
        "text_cached": {"input_price": 2.5e-08},
        "out_only": {"output_price": 0.5},
        "neither": {},
    }
    rows = list(csv_rows(version))
    assert rows[1][3:5] == ["2.5e-08", ""]
    assert rows[3][3:5] == ["", ""]
    for fmt in ("jsonl", "csv"):
        stream = io.StringIO()
        if fmt == "csv":
            write_csv_header(stream)
        write_row(stream, fmt, version)
        path = tmp_path / f"p.{fmt}"
        path.write_text(stream.getvalue(), "utf-8", newline="")
        (entry,) = parsed(path, fmt)
        assert isinstance(entry, Parsed), entry
        assert import_row(entry.item) == import_row(version)
