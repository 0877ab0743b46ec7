"""One reader per dataset format, all returning :class:`~unimeec.data.schema.Conversation`.

Each dataset declares the formats it brings in :mod:`unimeec.data.datasets`; our own JSONL
format is declared here. :data:`READERS` is the view ``format name -> ReaderFormat`` and
:data:`ALIASES` the other spellings; reader modules are imported on use so that reading one
format never pays for the others. :func:`detect_format` guesses the format from the file
name and a peek at the content.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from unimeec.data.datasets import FORMATS, ReaderFormat
from unimeec.data.readers._common import parse_json, read_text
from unimeec.data.readers.iemocap import looks_like_iemocap
from unimeec.errors import DataFormatError

#: Our own format (``Conversation.to_dict`` per line); the readers of every other format
#: are declared by the datasets that use them.
JSONL = ReaderFormat("jsonl", "unimeec.data.readers.jsonl:read_jsonl")

READERS: Mapping[str, ReaderFormat] = MappingProxyType({**FORMATS, JSONL.name: JSONL})

#: Other spellings accepted for ``format``.
ALIASES: Mapping[str, str] = MappingProxyType(
    {alias: fmt.name for fmt in READERS.values() for alias in fmt.aliases}
)

_ECF_HEADER = re.compile(r"^\d+ \d+\s*$")


def get_reader(name: str) -> Callable[..., Any]:
    """The reader function of format ``name`` (or an alias)."""
    key = ALIASES.get(name, name)
    if key not in READERS:
        raise DataFormatError(
            f"unknown format {name!r}; known formats: {', '.join(READERS)}", field="format"
        )
    module, _, function = READERS[key].reader.partition(":")
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
        raise DataFormatError(
            "CSV header matches neither MELD (Dialogue_ID) nor EmoryNLP "
            "(Scene_ID); name the format explicitly",
            path=path,
            line=1,
        )
    if _ECF_HEADER.match(first):
        return "ecf"
    if "\t" in first:
        return "iemocap-tsv" if suffix == ".tsv" or looks_like_iemocap(text) else "dailydialog"
    raise DataFormatError(
        f"cannot detect the format; name it explicitly (one of {', '.join(READERS)})", path=path
    )


def _detect_json(path: Path) -> str:
    text = read_text(path)
    try:
        data = parse_json(text, path=path)
    except DataFormatError as err:
        if "\n{" in text.strip():  # several JSON objects, one per line
            return "jsonl"
        raise DataFormatError(
            f"{err.reason}; cannot detect the format", path=path, line=err.line
        ) from None
    if isinstance(data, dict):
        if data.get("format") == "convecpe":
            return "convecpe"
        if "utterances" in data and "id" in data:
            return "jsonl"
        if "conversation_ID" in data:  # one SemEval conversation: its reader says what is wrong
            return "semeval"
        return "reccon"
    if isinstance(data, list) and data:
        head = data[0]
        if isinstance(head, list):
            return "iemocap-json"
        if isinstance(head, dict) and "conversation_ID" in head:
            return "semeval"
    raise DataFormatError(
        "JSON structure matches no known format; name the format explicitly", path=path
    )
