"""Helpers shared by the readers: decoding, locating errors, label checks, de-duplication.

Every reader funnels its file access through :func:`read_text` so that non-UTF-8 bytes
become a :class:`DataFormatError` naming the file and line instead of a bare
``UnicodeDecodeError`` with a byte offset.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from unimeec.data.schema import Conversation
from unimeec.errors import DataFormatError

log = logging.getLogger("unimeec.data")

_TIME = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2}(?:[.,]\d+)?)$")


def read_text(path: str | Path) -> str:
    """The file decoded as UTF-8 (a BOM is dropped); bad bytes name their line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataFormatError(f"cannot read file: {err.strerror or err}", path=path) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise DataFormatError(
            f"not valid UTF-8: byte 0x{raw[err.start]:02x} at byte offset {err.start}",
            path=path, line=line, field="encoding") from None


def read_json(path: str | Path) -> Any:
    """Parse a JSON file; syntax errors name their line."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataFormatError(f"invalid JSON: {err.msg} (column {err.colno})", path=path,
                              line=err.lineno) from None


def parse_clock(value: str, *, path: str | Path | None = None, line: int | None = None,
                conversation: str | None = None, field: str = "time") -> float:
    """``HH:MM:SS.mmm`` (or MELD's ``HH:MM:SS,mmm``) as seconds."""
    match = _TIME.match(value.strip())
    if match is None:
        raise DataFormatError(f"expected a time HH:MM:SS.mmm, got {value!r}", path=path,
                              line=line, conversation=conversation, field=field)
    hours, minutes, seconds = match.groups()
    return round(int(hours) * 3600 + int(minutes) * 60 + float(seconds.replace(",", ".")), 3)


def check_label(label: str, labels: Sequence[str], *, path: str | Path | None = None,
                line: int | None = None, conversation: str | None = None) -> str:
    """Return ``label`` if allowed; otherwise fail naming where it was found."""
    if label not in labels:
        raise DataFormatError(f"unknown emotion {label!r}; expected one of {', '.join(labels)}",
                              path=path, line=line, conversation=conversation, field="emotion")
    return label


def build_conversation(path: str | Path, line: int | None = None, **kwargs: Any) -> Conversation:
    """Construct a :class:`Conversation`, adding the file (and line) to a validation error."""
    try:
        return Conversation(**kwargs)
    except DataFormatError as err:
        raise err.located(path=path, line=line, conversation=str(kwargs.get("id"))) from None


def deduplicate(conversations: Iterable[Conversation], path: str | Path) -> int:
    """Drop exact duplicate pairs in place and log how many (nothing is dropped silently)."""
    removed = 0
    touched = 0
    for conv in conversations:
        n = conv.deduplicate_pairs()
        removed += n
        touched += bool(n)
    if removed:
        log.info("%s: removed %d exact duplicate emotion-cause pair(s) in %d conversation(s) "
                 "(kept in Conversation.duplicate_pairs)", path, removed, touched)
    return removed


def require_keys(record: Mapping[str, Any], keys: Iterable[str], *, path: str | Path,
                 conversation: str | None = None, what: str = "record") -> None:
    """Fail on the first missing key, naming it."""
    if not isinstance(record, Mapping):
        raise DataFormatError(f"{what} must be a JSON object, got {type(record).__name__}",
                              path=path, conversation=conversation)
    for key in keys:
        if key not in record:
            raise DataFormatError(f"{what} has no {key!r}", path=path,
                                  conversation=conversation, field=key)


def split_from_name(path: str | Path) -> str | None:
    """``train`` / ``dev`` / ``test`` when the file name says so (RECCON's ``valid`` is ``dev``)."""
    stem = Path(path).name.lower()
    for token, split in (("train", "train"), ("valid", "dev"), ("dev", "dev"), ("test", "test")):
        if re.search(rf"(^|[^a-z]){token}([^a-z]|$)", stem):
            return split
    return None
