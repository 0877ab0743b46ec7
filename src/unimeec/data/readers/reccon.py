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

from unimeec.data.labels import RECCON_EMOTIONS
from unimeec.data.readers._common import (
    build_conversation,
    check_label,
    deduplicate,
    log,
    read_json,
    require_keys,
    split_from_name,
)
from unimeec.data.schema import CauseSpan, Conversation, EmotionCausePair, Utterance
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


def read_reccon(path: str | Path, *, dataset: str = "reccon",
                split: str | None = None) -> list[Conversation]:
    """Read one RECCON-DD split; returns conversations and logs label fixes and duplicates."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataFormatError("expected a JSON object {dialogue_id: [[utterances]]}", path=path)
    split = split if split is not None else split_from_name(path)
    fixes: Counter[str] = Counter()
    conversations = []
    for cid, wrapped in data.items():
        if not (isinstance(wrapped, list) and len(wrapped) == 1 and isinstance(wrapped[0], list)):
            raise DataFormatError("expected a one-element list holding the utterance list",
                                  path=path, conversation=cid, field=cid)
        utts, pairs = _dialogue(wrapped[0], path, cid, fixes)
        conversations.append(build_conversation(path, id=cid, utterances=utts, pairs=pairs,
                                                dataset=dataset, split=split,
                                                has_cause_labels=True))
    if fixes:
        log.warning("%s: mapped misspelled emotion labels %s (original kept in "
                    "Utterance.meta['original_emotion'])", path,
                    ", ".join(f"{k}->{RECCON_LABEL_FIXES[k]} x{n}" for k, n in sorted(fixes.items())))
    deduplicate(conversations, path)
    return conversations


def _dialogue(raw_utts: list[Any], path: Path, cid: str,
              fixes: Counter[str]) -> tuple[list[Utterance], list[EmotionCausePair]]:
    utts: list[Utterance] = []
    evidence: list[tuple[int, list[Any], list[Any]]] = []
    for position, raw in enumerate(raw_utts, start=1):
        what = f"turn {position}"
        require_keys(raw, ("turn", "speaker", "utterance", "emotion"), path=path,
                     conversation=cid, what=what)
        if raw["turn"] != position:
            raise DataFormatError(f"{what} has turn {raw['turn']!r}", path=path, conversation=cid,
                                  field="turn")
        label = raw["emotion"]
        meta: dict[str, Any] = {}
        if label in RECCON_LABEL_FIXES:
            fixes[label] += 1
            meta["original_emotion"] = label
            label = RECCON_LABEL_FIXES[label]
        check_label(label, RECCON_EMOTIONS, path=path, conversation=cid)
        for key in ("type", "explanation", "flag"):
            if key in raw:
                meta["cause_types" if key == "type" else key] = raw[key]
        utt = Utterance(index=position, speaker=str(raw["speaker"]), text=raw["utterance"],
                        emotion=label, meta=meta)
        utts.append(utt)
        if EVIDENCE in raw:
            ev, spans = raw[EVIDENCE], raw.get(SPAN, [])
            if not isinstance(ev, list) or not isinstance(spans, list) or len(spans) != len(ev):
                raise DataFormatError(f"{what}: evidence and span lists must be lists of equal "
                                      "length", path=path, conversation=cid, field=EVIDENCE)
            evidence.append((position, ev, spans))
    pairs = []
    for position, ev, spans in evidence:
        for cause, span in zip(ev, spans):
            if cause == LATENT:
                utts[position - 1].latent_cause = True
                continue
            if not isinstance(cause, int) or isinstance(cause, bool) or not 1 <= cause <= len(utts):
                raise DataFormatError(f"turn {position}: evidence {cause!r} is neither 'b' nor a "
                                      f"turn 1..{len(utts)}", path=path, conversation=cid,
                                      field=EVIDENCE)
            found = locate_span(span, utts[cause - 1].text, partial=True) if isinstance(span, str) else None
            pairs.append(EmotionCausePair(
                position, cause, emotion=utts[position - 1].emotion,
                span=CauseSpan(text=span if isinstance(span, str) else None,
                               start=found[0] if found else None, end=found[1] if found else None)))
    return utts, pairs
