"""Our JSON Lines format: one :meth:`Conversation.to_dict` record per line.

This is the format users write for their own data and for prediction input; see the README
section "Our JSONL format". Blank lines are allowed (ignored); everything else must be a
valid record, and errors name the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from unimeec.data.readers._common import deduplicate, read_text
from unimeec.data.schema import Conversation
from unimeec.errors import DataFormatError


def read_jsonl(path: str | Path, *, dataset: str | None = None,
               split: str | None = None) -> list[Conversation]:
    """Read conversations; ``dataset``/``split`` fill in records that lack them."""
    path = Path(path)
    conversations: list[Conversation] = []
    seen: set[str] = set()
    for line_no, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataFormatError(f"invalid JSON: {err.msg} (column {err.colno})", path=path,
                                  line=line_no) from None
        try:
            conv = Conversation.from_dict(record, dataset=dataset, split=split)
        except DataFormatError as err:
            raise err.located(path=path, line=line_no) from None
        if conv.id in seen:
            raise DataFormatError("duplicate conversation id", path=path, line=line_no,
                                  conversation=conv.id, field="id")
        seen.add(conv.id)
        conversations.append(conv)
    deduplicate(conversations, path)
    return conversations


def write_jsonl(conversations: Iterable[Conversation], path: str | Path) -> None:
    """Write one compact JSON object per line (UTF-8, non-ASCII kept readable)."""
    with Path(path).open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(conv.to_dict(), ensure_ascii=False) + "\n"
                       for conv in conversations)
