"""Read and write conversations in any supported format (the public entry points)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from unimeec.data.readers import detect_format, get_reader
from unimeec.data.readers.jsonl import write_jsonl
from unimeec.data.readers.semeval import write_semeval
from unimeec.data.schema import Conversation
from unimeec.errors import DataFormatError

#: Formats :func:`write_conversations` produces.
WRITE_FORMATS: tuple[str, ...] = ("jsonl", "semeval-subtask1", "semeval-subtask2")


def read_conversations(
    path: str | Path, format: str | None = None, **options: Any
) -> list[Conversation]:
    """Read every conversation of ``path``; ``format`` is detected when ``None``.

    ``options`` go to the format's reader (e.g. ``split=``, ``dataset=``, ECF's ``meld_ids=``).
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError("no such file", path=path)
    fmt = format or detect_format(path)
    conversations = get_reader(fmt)(path, **options)
    if not conversations:  # an empty input is a mistake (wrong file), not zero results
        raise DataFormatError(f"no conversations in the file (read as {fmt!r})", path=path)
    return conversations


def write_conversations(
    conversations: Iterable[Conversation],
    path: str | Path,
    format: str = "jsonl",
    *,
    span_format: str | None = None,
) -> None:
    """Write ``conversations`` as our JSONL or as SemEval-2024 subtask-1/2 JSON.

    ``span_format`` (``semeval-subtask1`` only): ``"text"`` (default; the training file's
    ``"1_<span text>"``, lossless) or ``"positions"`` (``"1_<start>_<end>"``, the official
    submission format: 0-based whitespace-token range, end exclusive).
    """
    conversations = list(conversations)
    if span_format is not None and format != "semeval-subtask1":
        raise DataFormatError(
            f"span_format applies only to format 'semeval-subtask1', not {format!r}",
            field="span_format",
        )
    if format == "jsonl":
        write_jsonl(conversations, path)
    elif format in ("semeval-subtask1", "semeval-subtask2"):
        write_semeval(
            conversations, path, subtask=int(format[-1]), span_format=span_format or "text"
        )
    else:
        raise DataFormatError(
            f"cannot write format {format!r}; choose one of {', '.join(WRITE_FORMATS)}",
            field="format",
        )
