"""IEMOCAP in its two common public forms (6 classes: hap, sad, neu, ang, exc, fru).

IEMOCAP cannot be redistributed (USC licence), so no official copy is pinned here; users
bring their own. Forms:

* **TSV** (e.g. the ERC exports of COSMIC/CoMPM): ``speaker<TAB>text<TAB>label`` per line, a
  blank line between dialogues; an empty label means an unlabelled context utterance.
* **JSON**: a list of dialogues, each a list of ``{"text", "speaker", "label"?}``; the
  speaker field carries the session id (``Ses01F_impro01_F`` or ``Ses01F_impro01_F000``) and
  utterances without ``label`` (or ``null``) are context only (``emotion=None``).

Labels are the short codes or their full names (:data:`IEMOCAP_LABEL_ALIASES`). When the
speaker field is an IEMOCAP utterance id, the conversation id is the dialogue part
(``Ses01F_impro01``), the speaker is the actor's gender letter, the full field is kept in
``meta["speaker_id"]`` and the session (``Ses01``) in the conversation's ``meta["session"]``
(the standard split tests on ``Ses05``). Otherwise conversations are numbered ``1, 2, ...``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from unimeec.data.labels import IEMOCAP_EMOTIONS, IEMOCAP_LABEL_ALIASES
from unimeec.data.readers._common import (
    build_conversation,
    check_label,
    read_json,
    read_text,
    split_from_name,
)
from unimeec.data.schema import Conversation, Utterance
from unimeec.errors import DataFormatError

SPEAKER_ID = re.compile(r"^((Ses\d{2})[FM]_.+)_([FM])(\d*)$")


def normalise_label(
    label: Any, *, path: Path, line: int | None = None, conversation: str | None = None
) -> str | None:
    """A 6-class code from a code or full name; empty/None -> None (unlabelled)."""
    if label is None or (isinstance(label, str) and not label.strip()):
        return None
    if not isinstance(label, str):
        raise DataFormatError(
            f"label must be a string, got {label!r}",
            path=path,
            line=line,
            conversation=conversation,
            field="label",
        )
    label = label.strip()
    label = IEMOCAP_LABEL_ALIASES.get(label.lower(), label)
    return check_label(label, IEMOCAP_EMOTIONS, path=path, line=line, conversation=conversation)


def looks_like_iemocap(text: str) -> bool:
    """True when the third TAB field of the first lines uses IEMOCAP-only labels."""
    only_iemocap = set(IEMOCAP_EMOTIONS) | {"happy", "angry", "excited", "frustrated"}
    for line in [ln for ln in text.split("\n") if ln.strip()][:50]:
        fields = line.split("\t")
        if len(fields) == 3 and fields[2].strip().lower() in only_iemocap - {"sad"}:
            return True
    return False


def _speaker(field: str) -> tuple[str, str | None, str | None, dict[str, Any]]:
    """(speaker, dialogue id, session, utterance meta) from a speaker field."""
    match = SPEAKER_ID.match(field.strip())
    if match is None:
        return field, None, None, {}
    return match.group(3), match.group(1), match.group(2), {"speaker_id": field.strip()}


class _DialogueIds:
    """One block is one dialogue: its utterance ids share the dialogue part and never repeat.

    Why: two rows with one id, or two dialogues without a blank line between them, would
    otherwise silently become one conversation. Only full utterance ids (``..._F000``) are
    unique; the bare ``..._F`` of some JSON exports names a speaker and may repeat.
    """

    def __init__(self, path: Path, unit: str) -> None:
        self.path, self.unit = path, unit  # unit: "line" (TSV) or "utterance" (JSON)
        self.dialogue: str | None = None
        self.first: dict[str, int] = {}

    def add(self, did: str | None, meta: dict[str, Any], where: int) -> None:
        uid = meta.get("speaker_id")
        line = where if self.unit == "line" else None
        prefix = "" if line is not None else f"utterance {where}: "
        if self.dialogue is not None and did is not None and did != self.dialogue:
            raise DataFormatError(
                f"{prefix}utterance id {uid} belongs to dialogue {did}, not to "
                f"{self.dialogue} like the utterances before it (dialogues "
                "are separate)",
                path=self.path,
                line=line,
                conversation=self.dialogue,
                field="speaker",
            )
        self.dialogue = self.dialogue or did
        if uid is None or not uid[-1:].isdigit():
            return
        if uid in self.first:
            raise DataFormatError(
                f"{prefix}duplicate utterance id {uid} (first at {self.unit} {self.first[uid]})",
                path=self.path,
                line=line,
                conversation=self.dialogue,
                field="speaker",
            )
        self.first[uid] = where


def _conversation(
    path: Path,
    line: int | None,
    utts: list[Utterance],
    dialogue: str | None,
    session: str | None,
    ordinal: int,
    dataset: str,
    split: str | None,
    seen: set[str],
) -> Conversation:
    cid = dialogue or str(ordinal)
    if cid in seen:
        raise DataFormatError(
            "duplicate dialogue", path=path, line=line, conversation=cid, field="speaker"
        )
    seen.add(cid)
    meta = {"session": session} if session else {}
    return build_conversation(
        path,
        line,
        id=cid,
        utterances=utts,
        dataset=dataset,
        split=split,
        has_cause_labels=False,
        meta=meta,
    )


def read_iemocap_tsv(
    path: str | Path, *, dataset: str = "iemocap", split: str | None = None
) -> list[Conversation]:
    """Read the tab-separated form."""
    path = Path(path)
    split = split if split is not None else split_from_name(path)
    conversations: list[Conversation] = []
    seen: set[str] = set()
    block: list[tuple[int, list[str]]] = []

    def flush() -> None:
        if not block:
            return
        utts, dialogue, session = [], None, None
        ids = _DialogueIds(path, "line")
        for line_no, (speaker_field, text, label) in block:
            speaker, did, sess, meta = _speaker(speaker_field)
            ids.add(did, meta, line_no)
            dialogue, session = dialogue or did, session or sess
            emotion = normalise_label(
                label, path=path, line=line_no, conversation=did or str(len(conversations) + 1)
            )
            utts.append(
                Utterance(
                    index=len(utts) + 1, speaker=speaker, text=text, emotion=emotion, meta=meta
                )
            )
        conversations.append(
            _conversation(
                path,
                block[0][0],
                utts,
                dialogue,
                session,
                len(conversations) + 1,
                dataset,
                split,
                seen,
            )
        )
        block.clear()

    for line_no, line in enumerate(read_text(path).split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            flush()
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise DataFormatError(
                f"expected 'speaker<TAB>text<TAB>label' (3 fields), got {len(fields)}",
                path=path,
                line=line_no,
                field="line",
            )
        block.append((line_no, fields))
    flush()
    return conversations


def read_iemocap_json(
    path: str | Path, *, dataset: str = "iemocap", split: str | None = None
) -> list[Conversation]:
    """Read the JSON list-of-dialogues form."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, list):
        raise DataFormatError("expected a JSON list of dialogues", path=path)
    split = split if split is not None else split_from_name(path)
    conversations: list[Conversation] = []
    seen: set[str] = set()
    for ordinal, dialogue_utts in enumerate(data, start=1):
        if not isinstance(dialogue_utts, list) or not dialogue_utts:
            raise DataFormatError(
                f"dialogue #{ordinal} must be a non-empty list of utterances",
                path=path,
                conversation=str(ordinal),
                field="dialogue",
            )
        utts, dialogue, session = [], None, None
        ids = _DialogueIds(path, "utterance")
        for position, raw in enumerate(dialogue_utts, start=1):
            if not isinstance(raw, dict) or "text" not in raw or "speaker" not in raw:
                missing = "text" if isinstance(raw, dict) and "text" not in raw else "speaker"
                raise DataFormatError(
                    f"utterance {position} needs 'text' and 'speaker'",
                    path=path,
                    conversation=dialogue or str(ordinal),
                    field=missing,
                )
            unknown = set(raw) - {"text", "speaker", "label"}
            if unknown:
                raise DataFormatError(
                    f"utterance {position}: unknown field(s) {', '.join(sorted(unknown))}",
                    path=path,
                    conversation=dialogue or str(ordinal),
                    field=min(unknown),
                )
            for key in ("text", "speaker"):
                if not isinstance(raw[key], str):
                    raise DataFormatError(
                        f"utterance {position}: {key!r} must be a string, got {raw[key]!r}",
                        path=path,
                        conversation=dialogue or str(ordinal),
                        field=key,
                    )
            speaker, did, sess, meta = _speaker(raw["speaker"])
            ids.add(did, meta, position)
            dialogue, session = dialogue or did, session or sess
            emotion = normalise_label(
                raw.get("label"), path=path, conversation=dialogue or str(ordinal)
            )
            utts.append(
                Utterance(
                    index=position, speaker=speaker, text=raw["text"], emotion=emotion, meta=meta
                )
            )
        conversations.append(
            _conversation(path, None, utts, dialogue, session, ordinal, dataset, split, seen)
        )
    return conversations
