"""One reader per dataset format, all returning :class:`~unimeec.data.schema.Conversation`.

:data:`READERS` maps a format name to ``(module, function)``; modules are imported on use so
that reading one format never pays for the others. :func:`detect_format` guesses the
format from the file name and a peek at the content.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from unimeec.data.readers._common import read_text
from unimeec.errors import DataFormatError

READERS: dict[str, tuple[str, str]] = {
    "ecf": ("unimeec.data.readers.ecf", "read_ecf"),
    "semeval": ("unimeec.data.readers.semeval", "read_semeval"),
    "meld": ("unimeec.data.readers.meld", "read_meld"),
    "emorynlp": ("unimeec.data.readers.emorynlp", "read_emorynlp"),
    "dailydialog": ("unimeec.data.readers.dailydialog", "read_dailydialog"),
    "reccon": ("unimeec.data.readers.reccon", "read_reccon"),
    "iemocap-tsv": ("unimeec.data.readers.iemocap", "read_iemocap_tsv"),
    "iemocap-json": ("unimeec.data.readers.iemocap", "read_iemocap_json"),
    "convecpe": ("unimeec.data.readers.convecpe", "read_convecpe"),
    "jsonl": ("unimeec.data.readers.jsonl", "read_jsonl"),
}

#: Other spellings accepted for ``format``.
ALIASES: dict[str, str] = {
    "ecf1": "ecf", "semeval2024": "semeval", "semeval-subtask1": "semeval",
    "semeval-subtask2": "semeval", "iemocap": "iemocap-tsv", "reccon-dd": "reccon",
}

_ECF_HEADER = re.compile(r"^\d+ \d+\s*$")


def get_reader(name: str) -> Callable[..., Any]:
    """The reader function of format ``name`` (or an alias)."""
    key = ALIASES.get(name, name)
    if key not in READERS:
        raise DataFormatError(f"unknown format {name!r}; known formats: {', '.join(READERS)}",
                              field="format")
    module, function = READERS[key]
    return getattr(importlib.import_module(module), function)


def detect_format(path: str | Path) -> str:
    """The format of ``path`` from its suffix and content; fails with the reason."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".json":
        return _detect_json(path)
    text = read_text(path)
    first = next((line for line in text.split("\n") if line.strip()), "")
    if suffix == ".csv":
        header = first.lower()
        if "dialogue_id" in header:
            return "meld"
        if "scene_id" in header:
            return "emorynlp"
        raise DataFormatError("CSV header matches neither MELD (Dialogue_ID) nor EmoryNLP "
                              "(Scene_ID); pass format=", path=path, line=1)
    if _ECF_HEADER.match(first):
        return "ecf"
    if "\t" in first:
        from unimeec.data.readers.iemocap import looks_like_iemocap

        return "iemocap-tsv" if suffix == ".tsv" or looks_like_iemocap(text) else "dailydialog"
    raise DataFormatError("cannot detect the format; pass format= (one of "
                          f"{', '.join(READERS)})", path=path)


def _detect_json(path: Path) -> str:
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        if "\n{" in text.strip():  # several JSON objects, one per line
            return "jsonl"
        raise DataFormatError("invalid JSON; cannot detect the format", path=path) from None
    if isinstance(data, dict):
        if data.get("format") == "convecpe":
            return "convecpe"
        if "utterances" in data and "id" in data:
            return "jsonl"
        return "reccon"
    if isinstance(data, list) and data:
        head = data[0]
        if isinstance(head, list):
            return "iemocap-json"
        if isinstance(head, dict) and "conversation_ID" in head:
            return "semeval"
    raise DataFormatError("JSON structure matches no known format; pass format=", path=path)
