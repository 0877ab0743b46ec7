"""Our JSON Lines format: one :meth:`Conversation.to_dict` record per line.

This is the format users write for their own data and for prediction input; see the README
section "Our JSONL format". Blank lines are allowed (ignored); everything else must be a
valid record, and errors name the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from unimeec.data.readers._common import deduplicate, parse_json, read_text
from unimeec.data.schema import Conversation
from unimeec.errors import DataFormatError
from unimeec.outputs import write_text


def read_jsonl(
    path: str | Path, *, dataset: str | None = None, split: str | None = None
) -> list[Conversation]:
    """Read conversations; ``dataset``/``split`` fill in records that lack them."""
    path = Path(path)
    conversations: list[Conversation] = []
    seen: set[str] = set()
    for line_no, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        record = parse_json(line, path=path, line=line_no)
        try:
            conv = Conversation.from_dict(record, dataset=dataset, split=split)
        except DataFormatError as err:
            raise err.located(path=path, line=line_no) from None
        if conv.id in seen:
            raise DataFormatError(
                "duplicate conversation id",
                path=path,
                line=line_no,
                conversation=conv.id,
                field="id",
            )
        seen.add(conv.id)
        conversations.append(conv)
    deduplicate(conversations, path)
    return conversations


def write_jsonl(conversations: Iterable[Conversation], path: str | Path) -> None:
    """Write one compact JSON object per line (UTF-8, non-ASCII kept readable).

    Only standard JSON is written: a NaN or infinity anywhere (e.g. in ``meta``) is an error
    naming the conversation, never a ``NaN`` token other readers reject.
    """
    write_text(path, "".join(to_json_line(conv) for conv in conversations))


def to_json_line(conversation: Conversation) -> str:
    """One conversation as a line of our JSONL format."""
    try:
        return json.dumps(conversation.to_dict(), ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError as err:  # NaN / infinity in a free-form field
        raise DataFormatError(
            f"cannot write as standard JSON: {err}", conversation=conversation.id
        ) from None
    except RecursionError:
        raise DataFormatError(
            "meta is nested too deeply to write as JSON", conversation=conversation.id, field="meta"
        ) from None
