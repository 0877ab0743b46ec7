"""Helpers shared by the readers: decoding, locating errors, label checks, de-duplication.

Every reader funnels its file access through :func:`read_text` so that non-UTF-8 bytes
become a :class:`DataFormatError` naming the file and line instead of a bare
``UnicodeDecodeError`` with a byte offset.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from unimeec.data.labels import is_neutral
from unimeec.data.schema import Conversation
from unimeec.errors import DataFormatError

log = logging.getLogger("unimeec.data")

_T = TypeVar("_T")
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
            path=path,
            line=line,
            field="encoding",
        ) from None


def read_json(path: str | Path) -> Any:
    """Parse a JSON file; syntax errors name their line."""
    return parse_json(read_text(path), path=path)


class _NonStandardConstant(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonStandardConstant(name)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):  # 1e999: standard JSON, but no float holds it
        raise _NonStandardConstant(literal)
    return value


def parse_json(text: str, *, path: str | Path | None = None, line: int | None = None) -> Any:
    """Standard JSON only: syntax errors, ``NaN``/``Infinity`` and nesting too deep to parse
    are :class:`DataFormatError` naming the line (``line`` is the number of the text's first
    line when it is one line of a bigger file)."""
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as err:
        where = err.lineno if line is None else line
        raise DataFormatError(
            f"invalid JSON: {err.msg} (column {err.colno})", path=path, line=where
        ) from None
    except _NonStandardConstant as err:
        name = str(err)
        where = line if line is not None else _line_of_constant(text, name)
        reason = (
            f"number {name} is too large for a float"
            if name[-1].isdigit()
            else f"{name} is not a JSON value (standard JSON has no NaN or Infinity)"
        )
        raise DataFormatError(reason, path=path, line=where) from None
    except RecursionError:
        depth, where = _deepest_line(text)
        raise DataFormatError(
            f"JSON nested too deeply to read (more than {depth} levels)",
            path=path,
            line=line if line is not None else where,
        ) from None


def _line_of_constant(text: str, name: str) -> int | None:
    """The first line where ``name`` occurs outside a string (JSON strings never span lines)."""
    for number, line in enumerate(text.split("\n"), start=1):
        for match in re.finditer(re.escape(name), line):
            quotes = len(re.findall(r'(?<!\\)(?:\\\\)*"', line[: match.start()]))
            if quotes % 2 == 0:
                return number
    return None


def _deepest_line(text: str, limit: int = 500) -> tuple[int, int | None]:
    """``(limit, line)`` where nesting first exceeds ``limit`` levels (strings skipped)."""
    depth, line, in_string, escaped = 0, 1, False, False
    for char in text:
        if char == "\n":
            line += 1
        elif in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return limit, line
        elif char in "]}":
            depth -= 1
    return limit, None


def parse_clock(
    value: str,
    *,
    path: str | Path | None = None,
    line: int | None = None,
    conversation: str | None = None,
    field: str = "time",
) -> float:
    """``HH:MM:SS.mmm`` (or MELD's ``HH:MM:SS,mmm``) as seconds."""
    match = _TIME.match(value.strip())
    if match is None:
        raise DataFormatError(
            f"expected a time HH:MM:SS.mmm, got {value!r}",
            path=path,
            line=line,
            conversation=conversation,
            field=field,
        )
    hours, minutes, seconds = match.groups()
    return round(int(hours) * 3600 + int(minutes) * 60 + float(seconds.replace(",", ".")), 3)


def check_label(
    label: str,
    labels: Sequence[str],
    *,
    path: str | Path | None = None,
    line: int | None = None,
    conversation: str | None = None,
) -> str:
    """Return ``label`` if allowed; otherwise fail naming where it was found."""
    if label not in labels:
        raise DataFormatError(
            f"unknown emotion {label!r}; expected one of {', '.join(labels)}",
            path=path,
            line=line,
            conversation=conversation,
            field="emotion",
        )
    return label


def build_conversation(path: str | Path, line: int | None = None, **kwargs: Any) -> Conversation:
    """Construct a :class:`Conversation`, adding the file (and line) to a validation error."""
    try:
        return Conversation(**kwargs)
    except DataFormatError as err:
        raise err.located(path=path, line=line, conversation=str(kwargs.get("id"))) from None


def make(
    cls: type[_T],
    *,
    path: str | Path,
    line: int | None = None,
    conversation: str | None = None,
    fields: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> _T:
    """Construct a schema object (``Utterance``, ``EmotionCausePair``...) from a reader.

    The schema's strict types reject what the file holds (a number as a speaker, say); the
    error then names the file, line and the file's own name of the field (``fields`` maps
    schema names to format names, e.g. ``{"text": "utterance"}`` for RECCON).
    """
    try:
        return cls(**kwargs)
    except DataFormatError as err:
        name = (fields or {}).get(err.field or "", err.field)
        raise DataFormatError(
            err.reason,
            path=err.path or path,
            line=err.line or line,
            conversation=err.conversation or conversation,
            field=name,
        ) from None


def check_gold_pairs(
    conversation: Conversation, *, path: str | Path, line: int | None = None
) -> None:
    """Annotated pairs must start at an emotion utterance and agree with its emotion.

    Applied by the readers of annotated datasets (ECF, SemEval, RECCON, ConvECPE), not by the
    schema: predictions may pair an utterance they labelled neutral (scorers ignore those).
    """
    for pair in conversation.pairs:
        emotion = conversation.utterance(pair.emotion_utterance).emotion
        if emotion is None:
            continue
        if is_neutral(emotion):
            raise DataFormatError(
                f"pair ({pair.emotion_utterance}, {pair.cause_utterance}): emotion utterance "
                f"{pair.emotion_utterance} is labelled {emotion!r}; a cause needs an emotion",
                path=path,
                line=line,
                conversation=conversation.id,
                field="emotion_utterance",
            )
        if pair.emotion is not None and pair.emotion != emotion:
            raise DataFormatError(
                f"pair ({pair.emotion_utterance}, {pair.cause_utterance}) says {pair.emotion!r} "
                f"but utterance {pair.emotion_utterance} is labelled {emotion!r}",
                path=path,
                line=line,
                conversation=conversation.id,
                field="emotion",
            )


def deduplicate(conversations: Iterable[Conversation], path: str | Path) -> int:
    """Drop exact duplicate pairs in place and log how many (nothing is dropped silently)."""
    removed = 0
    touched = 0
    for conv in conversations:
        n = conv.deduplicate_pairs()
        removed += n
        touched += bool(n)
    if removed:
        log.info(
            "%s: removed %d exact duplicate emotion-cause pair(s) in %d conversation(s) "
            "(kept in Conversation.duplicate_pairs)",
            path,
            removed,
            touched,
        )
    return removed


def require_keys(
    record: Mapping[str, Any],
    keys: Iterable[str],
    *,
    path: str | Path,
    conversation: str | None = None,
    what: str = "record",
) -> None:
    """Fail on the first missing key, naming it."""
    if not isinstance(record, Mapping):
        raise DataFormatError(
            f"{what} must be a JSON object, got {type(record).__name__}",
            path=path,
            conversation=conversation,
        )
    for key in keys:
        if key not in record:
            raise DataFormatError(
                f"{what} has no {key!r}", path=path, conversation=conversation, field=key
            )


def split_from_name(path: str | Path) -> str | None:
    """``train`` / ``dev`` / ``test`` when the file name says so (RECCON's ``valid`` is ``dev``)."""
    stem = Path(path).name.lower()
    for token, split in (("train", "train"), ("valid", "dev"), ("dev", "dev"), ("test", "test")):
        if re.search(rf"(^|[^a-z]){token}([^a-z]|$)", stem):
            return split
    return None
