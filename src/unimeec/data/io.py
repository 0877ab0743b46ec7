"""Read and write conversations in any supported format (the public entry points)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from unimeec.data.readers import detect_format, get_reader
from unimeec.data.schema import Conversation
from unimeec.errors import DataFormatError

#: Formats :func:`write_conversations` produces.
WRITE_FORMATS: tuple[str, ...] = ("jsonl", "semeval-subtask1", "semeval-subtask2")


def read_conversations(path: str | Path, format: str | None = None,
                       **options: Any) -> list[Conversation]:
    """Read every conversation of ``path``; ``format`` is detected when ``None``.

    ``options`` go to the format's reader (e.g. ``split=``, ``dataset=``, ECF's ``meld_ids=``).
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError("no such file", path=path)
    fmt = format or detect_format(path)
    return get_reader(fmt)(path, **options)


def write_conversations(conversations: Iterable[Conversation], path: str | Path,
                        format: str = "jsonl") -> None:
    """Write ``conversations`` as our JSONL or as SemEval-2024 subtask-1/2 JSON."""
    conversations = list(conversations)
    if format == "jsonl":
        from unimeec.data.readers.jsonl import write_jsonl

        write_jsonl(conversations, path)
    elif format in ("semeval-subtask1", "semeval-subtask2"):
        from unimeec.data.readers.semeval import write_semeval

        write_semeval(conversations, path, subtask=int(format[-1]))
    else:
        raise DataFormatError(f"cannot write format {format!r}; choose one of "
                              f"{', '.join(WRITE_FORMATS)}", field="format")
