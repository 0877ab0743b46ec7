"""CSV rows with their line numbers, and a clear error for a missing column."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from unimeec.data.readers._common import read_text
from unimeec.errors import DataFormatError


def read_csv_rows(path: str | Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_number, row)``; fail naming the first missing column or a short row."""
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    for column in required:
        if column not in header:
            raise DataFormatError(f"missing column {column!r}; header is {', '.join(header)}",
                                  path=path, line=1, field=column)
    for row in reader:
        line = reader.line_num  # line where this row ends (rows may span lines)
        if None in row or any(row[c] is None for c in required):
            raise DataFormatError(f"row has {len(row) - (None in row)} fields; expected "
                                  f"{len(header)}", path=path, line=line, field="row")
        yield line, row
