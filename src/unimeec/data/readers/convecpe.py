"""ConvECPE (emotion-cause pairs on IEMOCAP) from our documented JSON export.

ConvECPE's annotations are only published inside ``Dataset/IEMOCAP_emotion_cause_features.pkl``
of ``Maxwe11y/JointEC`` / ``SenticNet/ECPEC``, bundled with IEMOCAP text (not
redistributable). Users export their copy to this JSON (IEMOCAP-like dialogues + pairs)::

    {"format": "convecpe",
     "dialogues": [
       {"id": "Ses01F_impro01",
        "utterances": [{"speaker": "F", "text": "...", "emotion": "neu"}, ...],
        "pairs": [[3, 1], [3, 3]]}]}

``emotion`` uses the IEMOCAP 6 classes (codes or full names) or ``null``; ``pairs`` are
``[emotion_utterance, cause_utterance]``, 1-based. Extra keys of a dialogue go to ``meta``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unimeec.data.readers._common import (
    build_conversation,
    check_gold_pairs,
    deduplicate,
    make,
    read_json,
    require_keys,
    split_from_name,
)
from unimeec.data.readers.iemocap import normalise_label
from unimeec.data.schema import Conversation, EmotionCausePair, Utterance
from unimeec.errors import DataFormatError

FORMAT_TAG = "convecpe"


def read_convecpe(
    path: str | Path, *, dataset: str = "convecpe", split: str | None = None
) -> list[Conversation]:
    """Read a ConvECPE JSON export."""
    path = Path(path)
    data = read_json(path)
    require_keys(data, ("format", "dialogues"), path=path, what="ConvECPE export")
    if data["format"] != FORMAT_TAG or not isinstance(data["dialogues"], list):
        raise DataFormatError(
            f"expected format {FORMAT_TAG!r} and a list of dialogues", path=path, field="format"
        )
    split = split if split is not None else split_from_name(path)
    conversations: list[Conversation] = []
    seen: set[str] = set()
    for ordinal, raw in enumerate(data["dialogues"], start=1):
        require_keys(raw, ("id", "utterances", "pairs"), path=path, what=f"dialogue #{ordinal}")
        if isinstance(raw["id"], bool) or not isinstance(raw["id"], (str, int)):
            raise DataFormatError(
                f"dialogue #{ordinal}: id must be a string or an integer, got {raw['id']!r}",
                path=path,
                field="id",
            )
        cid = str(raw["id"])
        if cid in seen:
            raise DataFormatError("duplicate dialogue id", path=path, conversation=cid, field="id")
        seen.add(cid)
        if not isinstance(raw["utterances"], list) or not isinstance(raw["pairs"], list):
            raise DataFormatError(
                "'utterances' and 'pairs' must be lists",
                path=path,
                conversation=cid,
                field="utterances",
            )
        utts = []
        for position, utt in enumerate(raw["utterances"], start=1):
            require_keys(
                utt, ("speaker", "text"), path=path, conversation=cid, what=f"utterance {position}"
            )
            unknown = sorted(set(utt) - {"speaker", "text", "emotion"})
            if unknown:
                raise DataFormatError(
                    f"utterance {position}: unknown field(s) {', '.join(unknown)}",
                    path=path,
                    conversation=cid,
                    field=unknown[0],
                )
            emotion = normalise_label(utt.get("emotion"), path=path, conversation=cid)
            utts.append(
                make(
                    Utterance,
                    path=path,
                    conversation=cid,
                    index=position,
                    speaker=utt["speaker"],
                    text=utt["text"],
                    emotion=emotion,
                )
            )
        pairs = [_pair(p, utts, path, cid) for p in raw["pairs"]]
        meta: dict[str, Any] = {
            k: v for k, v in raw.items() if k not in ("id", "utterances", "pairs")
        }
        conversation = build_conversation(
            path,
            id=cid,
            utterances=utts,
            pairs=pairs,
            dataset=dataset,
            split=split,
            has_cause_labels=True,
            meta=meta,
        )
        check_gold_pairs(conversation, path=path)
        conversations.append(conversation)
    deduplicate(conversations, path)
    return conversations


def _pair(raw: Any, utts: list[Utterance], path: Path, cid: str) -> EmotionCausePair:
    if not (
        isinstance(raw, list)
        and len(raw) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) for x in raw)
    ):
        raise DataFormatError(
            f"a pair must be [emotion_utterance, cause_utterance] integers, got {raw!r}",
            path=path,
            conversation=cid,
            field="pairs",
        )
    e, c = raw
    for name, idx in (("emotion_utterance", e), ("cause_utterance", c)):
        if not 1 <= idx <= len(utts):
            raise DataFormatError(
                f"pair {raw} points outside the conversation's {len(utts)} utterances",
                path=path,
                conversation=cid,
                field=name,
            )
    return EmotionCausePair(e, c, emotion=utts[e - 1].emotion)
