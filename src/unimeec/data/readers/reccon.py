"""RECCON-DD JSON (emotion causes on DailyDialog).

Source: ``declare-lab/RECCON`` @ 579ea8a726f6705f7a3a02f7535b8f5595ec35aa,
``data/original_annotation/dailydialog_{train,valid,test}.json``. Each dialogue id maps to a
one-element list holding the utterance list::

    {"tr_4466": [[{"turn": 1, "speaker": "A", "utterance": "...", "emotion": "happiness",
                   "expanded emotion cause evidence": [1, "b"],
                   "expanded emotion cause span": ["...", "b"],
                   "type": ["no-context", "latent"], "explanation"?: ..., "flag"?: ...}]]}

Each integer evidence ``j`` of utterance ``i`` is a pair ``(i, j)`` with its span as
:class:`CauseSpan` (RECCON spans are raw substrings; the token range is located after
trimming punctuation). Evidence ``"b"`` (cause outside the dialogue) sets
``Utterance.latent_cause``. ``type``, ``explanation`` and ``flag`` are kept in ``meta``.

Label typos in the official files are mapped by :data:`RECCON_LABEL_FIXES` and reported
(a log warning with counts, and ``meta["original_emotion"]`` on each fixed utterance).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pydantic
from pydantic import ConfigDict, Field, StrictInt, StrictStr

from unimeec.data.labels import RECCON_EMOTIONS
from unimeec.data.readers._common import (
    build_conversation,
    check_gold_pairs,
    check_label,
    deduplicate,
    log,
    read_json,
    split_from_name,
)
from unimeec.data.schema import (
    CauseSpan,
    Conversation,
    EmotionCausePair,
    Utterance,
    validation_error,
)
from unimeec.data.spans import locate_span
from unimeec.errors import DataFormatError

#: Misspelled labels of the official files -> RECCON label. "excited" becomes "happiness":
#: DailyDialog annotates Ekman's six basic emotions, in which excitement is a form of
#: happiness (it is positive and high-arousal; none of the other five fit).
RECCON_LABEL_FIXES: dict[str, str] = {
    "sad": "sadness",
    "happy": "happiness",
    "happines": "happiness",
    "excited": "happiness",
    "surprised": "surprise",
    "angry": "anger",
}
EVIDENCE = "expanded emotion cause evidence"
SPAN = "expanded emotion cause span"
LATENT = "b"


def read_reccon(
    path: str | Path, *, dataset: str = "reccon", split: str | None = None
) -> list[Conversation]:
    """Read one RECCON-DD split; returns conversations and logs label fixes and duplicates."""
    path = Path(path)
    data = read_json(path)
    head = data[0] if isinstance(data, list) and data else data
    if isinstance(head, dict) and "conversation_ID" in head:
        raise DataFormatError(
            "expected a JSON object {dialogue_id: [[utterances]]}; this looks "
            "like SemEval-2024 JSON (format 'semeval')",
            path=path,
        )
    if not isinstance(data, dict):
        raise DataFormatError("expected a JSON object {dialogue_id: [[utterances]]}", path=path)
    split = split if split is not None else split_from_name(path)
    fixes: Counter[str] = Counter()
    conversations = []
    for cid, wrapped in data.items():
        if not (isinstance(wrapped, list) and len(wrapped) == 1 and isinstance(wrapped[0], list)):
            raise DataFormatError(
                "expected a one-element list holding the utterance list",
                path=path,
                conversation=cid,
                field=cid,
            )
        utts, pairs = _dialogue(wrapped[0], path, cid, fixes)
        conversation = build_conversation(
            path,
            id=cid,
            utterances=utts,
            pairs=pairs,
            dataset=dataset,
            split=split,
            has_cause_labels=True,
        )
        check_gold_pairs(conversation, path=path)
        conversations.append(conversation)
    if fixes:
        log.warning(
            "%s: mapped misspelled emotion labels %s (original kept in "
            "Utterance.meta['original_emotion'])",
            path,
            ", ".join(f"{k}->{RECCON_LABEL_FIXES[k]} x{n}" for k, n in sorted(fixes.items())),
        )
    unlocated = sum(
        p.span is not None and p.span.start is None for conv in conversations for p in conv.pairs
    )
    if unlocated:
        log.warning(
            "%s: %d cause span(s) not found in their cause utterance (text kept, no token range)",
            path,
            unlocated,
        )
    deduplicate(conversations, path)
    return conversations


class RecconTurn(pydantic.BaseModel):
    """One utterance of a RECCON dialogue: every key the official files use, with its type.

    Unknown keys are errors (they would be lost on conversion); ``null`` for an optional key
    is the same as leaving it out.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    turn: StrictInt
    speaker: StrictStr
    utterance: StrictStr
    emotion: StrictStr
    evidence: list[StrictInt | StrictStr] | None = Field(default=None, alias=EVIDENCE)
    spans: list[StrictStr] | None = Field(default=None, alias=SPAN)
    type: list[StrictStr] | None = None
    explanation: StrictStr | None = None
    flag: StrictStr | None = None


_TURN_FIELDS = frozenset(f.alias or name for name, f in RecconTurn.model_fields.items())


def _turn(raw: Any, position: int, path: Path, cid: str) -> RecconTurn:
    what = f"turn {position}"
    if not isinstance(raw, dict):
        raise DataFormatError(
            f"{what} must be a JSON object, got {type(raw).__name__}",
            path=path,
            conversation=cid,
            field=what,
        )
    try:
        return RecconTurn.model_validate(raw)
    except pydantic.ValidationError as err:
        raise validation_error(err, what=what, fields=_TURN_FIELDS).located(
            path=path, conversation=cid
        ) from None


def _dialogue(
    raw_utts: list[Any], path: Path, cid: str, fixes: Counter[str]
) -> tuple[list[Utterance], list[EmotionCausePair]]:
    utts: list[Utterance] = []
    evidence: list[tuple[int, list[Any], list[Any]]] = []
    for position, raw in enumerate(raw_utts, start=1):
        what = f"turn {position}"
        turn = _turn(raw, position, path, cid)
        if turn.turn != position:
            raise DataFormatError(
                f"{what} has turn {turn.turn!r}", path=path, conversation=cid, field="turn"
            )
        label = turn.emotion
        meta: dict[str, Any] = {}
        if label in RECCON_LABEL_FIXES:
            fixes[label] += 1
            meta["original_emotion"] = label
            label = RECCON_LABEL_FIXES[label]
        check_label(label, RECCON_EMOTIONS, path=path, conversation=cid)
        for key, value in (
            ("cause_types", turn.type),
            ("explanation", turn.explanation),
            ("flag", turn.flag),
        ):
            if value is not None:
                meta[key] = value
        utts.append(
            Utterance(
                index=position, speaker=turn.speaker, text=turn.utterance, emotion=label, meta=meta
            )
        )
        if turn.evidence is not None or turn.spans is not None:
            ev, spans = turn.evidence or [], turn.spans or []
            if len(spans) != len(ev) or turn.evidence is None:
                raise DataFormatError(
                    f"{what}: evidence and span lists must be lists of equal length",
                    path=path,
                    conversation=cid,
                    field=EVIDENCE,
                )
            evidence.append((position, ev, spans))
    pairs = []
    for position, ev, spans in evidence:
        for cause, span in zip(ev, spans):
            if cause == LATENT:
                utts[position - 1].latent_cause = True
                continue
            if not isinstance(cause, int) or not 1 <= cause <= len(utts):
                raise DataFormatError(
                    f"turn {position}: evidence {cause!r} is neither 'b' nor a turn 1..{len(utts)}",
                    path=path,
                    conversation=cid,
                    field=EVIDENCE,
                )
            found = locate_span(span, utts[cause - 1].text, partial=True)
            pairs.append(
                EmotionCausePair(
                    position,
                    cause,
                    emotion=utts[position - 1].emotion,
                    span=CauseSpan(
                        text=span,
                        start=found[0] if found else None,
                        end=found[1] if found else None,
                    ),
                )
            )
    return utts, pairs
