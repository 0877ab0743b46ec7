"""CSV rows with their line numbers, and a clear error for a missing column or a bad row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from unimeec.data.readers._common import read_text
from unimeec.errors import DataFormatError


def read_csv_rows(
    path: str | Path, required: Sequence[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_number, row)``; fail naming the first missing column or a bad row.

    A row must have exactly as many fields as the header (a stray comma is an error, never
    a shifted column). The file is parsed before the first row is yielded, with the csv
    module's field size limit (131,072 characters) raised to the file's length for the
    duration: no field can be longer than its file, and the limit is process-wide state.
    """
    text = read_text(path)
    rows = _parse(text, path)
    if not rows:
        raise DataFormatError("empty CSV file (no header)", path=path, line=1, field="header")
    header_line, header = rows[0]
    for column in required:
        if column not in header:
            raise DataFormatError(
                f"missing column {column!r}; header is {', '.join(header)}",
                path=path,
                line=header_line,
                field=column,
            )
    for line, fields in rows[1:]:
        if len(fields) != len(header):
            raise DataFormatError(
                f"row has {len(fields)} fields; expected {len(header)} (the header's)",
                path=path,
                line=line,
                field="row",
            )
        yield line, dict(zip(header, fields))


def _parse(text: str, path: str | Path) -> list[tuple[int, list[str]]]:
    """Every non-empty row with the line it ends on (a quoted field may span lines)."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        for fields in reader:
            if fields:  # csv yields [] for a blank line
                rows.append((reader.line_num, fields))
    except csv.Error as err:
        raise DataFormatError(f"malformed CSV: {err}", path=path, line=reader.line_num) from None
    finally:
        csv.field_size_limit(previous)
    return rows
