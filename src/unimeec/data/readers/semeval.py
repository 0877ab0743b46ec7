"""SemEval-2024 Task 3 (ECAC) JSON, subtasks 1 and 2, with or without gold labels.

Source: ``NUSTM/SemEval-2024_ECAC`` @ f6054366e358a9803fcd1ab92ae9921132816eb5,
``data/Subtask_1_train.json`` (ECF 2.0 training data; ``Subtask_2_*.json`` and the test files
share the format). A JSON list of::

    {"conversation_ID": 1,
     "conversation": [{"utterance_ID": 1, "text": "...", "speaker": "Chandler",
                       "emotion": "neutral",                     # absent in evaluation input
                       "video_source": ["S01E01", "00:07:40.335", "00:07:44.880"],  # subtask 2
                       "video_name": "dia1utt1.mp4"}],           # subtask 2
     "emotion-cause_pairs": [["3_surprise", "1_I realize I am totally naked ."],   # subtask 1
                             ["3_surprise", "1"]]}                                 # subtask 2

Subtask-1 causes come in two forms. Gold files give the text (``"1_I realize I am totally
naked ."``): it becomes a :class:`CauseSpan` with the verbatim text and the whitespace-token range
of the span trimmed of punctuation, as the official scorer compares them. Prediction
(submission) files give token positions (``"1_21_27"``): the official scorer
(``CodaLab/evaluation/evaluate.py``, ``get_span_position``: "start from 0, [begin_id, end_id)")
reads ``<utterance>_<start>_<end>`` as the 0-based, end-exclusive range of ``text.split()``,
which is exactly our convention, so it becomes ``CauseSpan(start, end)`` with the text of
those tokens. ``span_format`` says which form to expect (see :data:`SPAN_FORMATS`); writing
takes the same choice. ``video_name`` becomes
``Utterance.media``; ``video_source`` is kept verbatim in ``Utterance.meta["video_source"]``.
A file without ``emotion-cause_pairs`` gives ``has_cause_labels=False``. Exact duplicate
pairs (72 in the training file) are removed as the official scorer does, and logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from unimeec.data.labels import ECF_EMOTIONS
from unimeec.data.readers._common import (
    build_conversation,
    check_gold_pairs,
    check_label,
    deduplicate,
    log,
    make,
    read_json,
    require_keys,
    split_from_name,
)
from unimeec.data.schema import CauseSpan, Conversation, EmotionCausePair, Utterance
from unimeec.data.spans import locate_span
from unimeec.errors import DataFormatError
from unimeec.outputs import write_text

PAIRS_KEY = "emotion-cause_pairs"
_UTTERANCE_KEYS = ("utterance_ID", "text", "speaker", "emotion", "video_source", "video_name")
_EMOTION_PART = re.compile(r"^(\d+)_(.+)$", re.DOTALL)
_CAUSE_PART = re.compile(r"^(\d+)(?:_(.*))?$", re.DOTALL)
_POSITIONS = re.compile(r"^(\d+)_(\d+)$")

#: How subtask-1 causes are read and written. ``"text"``: ``"1_<span text>"`` (training and
#: gold files). ``"positions"``: ``"1_<start>_<end>"`` (official submission format). ``"auto"``
#: (reading only): a cause ``"<utt>_<a>_<b>"`` is read as positions when
#: ``0 <= a < b <= n_tokens`` of that utterance and ``"<a>_<b>"`` is not itself a token of it
#: (then it is the span text); every other cause is text.
SPAN_FORMATS: tuple[str, ...] = ("auto", "text", "positions")


def read_semeval(
    path: str | Path,
    *,
    dataset: str = "semeval2024",
    split: str | None = None,
    deduplicate_pairs: bool = True,
    span_format: str = "auto",
) -> list[Conversation]:
    """Read a subtask-1 or subtask-2 file (the subtask is recognised per pair).

    ``span_format`` (see :data:`SPAN_FORMATS`) says how subtask-1 causes are given; with
    ``"positions"`` a cause that is not a valid ``<utt>_<start>_<end>`` is an error.
    """
    _check_span_format(span_format, SPAN_FORMATS)
    path = Path(path)
    data = read_json(path)
    if isinstance(data, dict) and "conversation_ID" in data:
        raise DataFormatError(
            "expected a JSON list of conversations, got a single conversation "
            "object; wrap it in [ ]",
            path=path,
        )
    if not isinstance(data, list):
        raise DataFormatError(
            f"expected a JSON list of conversations, got {type(data).__name__}", path=path
        )
    split = split if split is not None else split_from_name(path)
    conversations = []
    seen: set[str] = set()
    unlocated = 0
    for position, record in enumerate(data, start=1):
        require_keys(
            record, ("conversation_ID", "conversation"), path=path, what=f"conversation #{position}"
        )
        cid = _conversation_id(record["conversation_ID"], path, position)
        if cid in seen:
            raise DataFormatError(
                "duplicate conversation_ID", path=path, conversation=cid, field="conversation_ID"
            )
        seen.add(cid)
        if PAIRS_KEY in record and not isinstance(record[PAIRS_KEY], list):
            raise DataFormatError(
                f"{PAIRS_KEY!r} must be a list of pairs, got {type(record[PAIRS_KEY]).__name__}",
                path=path,
                conversation=cid,
                field=PAIRS_KEY,
            )
        utts = _utterances(record["conversation"], path, cid)
        has_pairs = PAIRS_KEY in record
        pairs = []
        for raw in record.get(PAIRS_KEY, []):
            pair = _pair(raw, utts, path, cid, span_format)
            unlocated += pair.span is not None and pair.span.start is None
            pairs.append(pair)
        meta: dict[str, Any] = {}
        extra = {
            k: v
            for k, v in record.items()
            if k not in ("conversation_ID", "conversation", PAIRS_KEY)
        }
        if extra:
            meta["extra"] = extra
        conversation = build_conversation(
            path,
            id=cid,
            utterances=utts,
            pairs=pairs,
            dataset=dataset,
            split=split,
            has_cause_labels=has_pairs,
            meta=meta,
        )
        check_gold_pairs(conversation, path=path)
        conversations.append(conversation)
    if unlocated:
        log.warning(
            "%s: %d cause span(s) not found in their cause utterance (text kept, no token range)",
            path,
            unlocated,
        )
    if deduplicate_pairs:
        deduplicate(conversations, path)
    return conversations


def _conversation_id(raw: Any, path: Path, position: int) -> str:
    """Official ids are integers; a non-empty string is accepted (test and user files)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or raw == "":
        raise DataFormatError(
            f"conversation #{position}: conversation_ID must be an integer or "
            f"a non-empty string, got {raw!r}",
            path=path,
            field="conversation_ID",
        )
    return str(raw)


def _utterances(raw_utts: Any, path: Path, cid: str) -> list[Utterance]:
    if not isinstance(raw_utts, list) or not raw_utts:
        raise DataFormatError(
            "'conversation' must be a non-empty list",
            path=path,
            conversation=cid,
            field="conversation",
        )
    utts = []
    for position, raw in enumerate(raw_utts, start=1):
        what = f"utterance #{position}"
        require_keys(
            raw, ("utterance_ID", "text", "speaker"), path=path, conversation=cid, what=what
        )
        if type(raw["utterance_ID"]) is not int or raw["utterance_ID"] != position:
            raise DataFormatError(
                f"{what} has utterance_ID {raw['utterance_ID']!r}; expected {position}",
                path=path,
                conversation=cid,
                field="utterance_ID",
            )
        for key in ("text", "speaker"):
            if not isinstance(raw[key], str):
                raise DataFormatError(
                    f"{what}: {key!r} must be a string", path=path, conversation=cid, field=key
                )
        emotion = raw.get("emotion")
        if emotion is not None:
            check_label(emotion, ECF_EMOTIONS, path=path, conversation=cid)
        utt = make(
            Utterance,
            path=path,
            conversation=cid,
            fields={"media": "video_name"},
            index=position,
            speaker=raw["speaker"],
            text=raw["text"],
            emotion=emotion,
            media=raw.get("video_name"),
        )
        if "video_source" in raw:
            source = raw["video_source"]
            if not (
                isinstance(source, list)
                and len(source) == 3
                and all(isinstance(s, str) for s in source)
            ):
                raise DataFormatError(
                    f"{what}: 'video_source' must be [episode, start, end]",
                    path=path,
                    conversation=cid,
                    field="video_source",
                )
            utt.meta["video_source"] = list(source)
        extra = {k: v for k, v in raw.items() if k not in _UTTERANCE_KEYS}
        if extra:
            utt.meta["extra"] = extra
        utts.append(utt)
    return utts


def _check_span_format(span_format: str, allowed: tuple[str, ...]) -> None:
    if span_format not in allowed:
        raise DataFormatError(
            f"unknown span_format {span_format!r}; choose one of {', '.join(allowed)}",
            field="span_format",
        )


def _pair(
    raw: Any, utts: list[Utterance], path: Path, cid: str, span_format: str
) -> EmotionCausePair:
    if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(x, str) for x in raw)):
        raise DataFormatError(
            f"a pair must be two strings ['3_surprise', '1_span' or '1'], got {raw!r}",
            path=path,
            conversation=cid,
            field=PAIRS_KEY,
        )
    emo_match = _EMOTION_PART.match(raw[0])
    cause_match = _CAUSE_PART.match(raw[1])
    if emo_match is None or cause_match is None:
        raise DataFormatError(
            f"malformed pair {raw!r}", path=path, conversation=cid, field=PAIRS_KEY
        )
    e, emotion = int(emo_match.group(1)), emo_match.group(2)
    c, span_text = int(cause_match.group(1)), cause_match.group(2)
    for name, idx in (("emotion_utterance", e), ("cause_utterance", c)):
        if not 1 <= idx <= len(utts):
            raise DataFormatError(
                f"pair {raw!r} points outside the conversation's {len(utts)} utterances",
                path=path,
                conversation=cid,
                field=name,
            )
    check_label(emotion, ECF_EMOTIONS, path=path, conversation=cid)
    span = None
    if span_text is not None:
        text = utts[c - 1].text
        positions = _positions(span_text, text, span_format)
        if positions is not None:
            start, end = positions
            span = CauseSpan(text=" ".join(text.split()[start:end]), start=start, end=end)
        elif span_format == "positions":
            raise DataFormatError(
                f"cause {raw[1]!r} is not '<utterance>_<start>_<end>' with 0 <= start < end <= "
                f"{len(text.split())} (the whitespace tokens of utterance {c})",
                path=path,
                conversation=cid,
                field=PAIRS_KEY,
            )
        else:
            found = locate_span(span_text, text, partial=True)
            span = CauseSpan(
                text=span_text, start=found[0] if found else None, end=found[1] if found else None
            )
    return EmotionCausePair(e, c, emotion=emotion, span=span)


def _positions(span_text: str, utterance: str, span_format: str) -> tuple[int, int] | None:
    """``(start, end)`` when ``span_text`` is read as token positions (rule: :data:`SPAN_FORMATS`)."""
    if span_format == "text":
        return None
    match = _POSITIONS.match(span_text)
    if match is None:
        return None
    start, end = int(match.group(1)), int(match.group(2))
    tokens = utterance.split()
    if not 0 <= start < end <= len(tokens):
        return None
    if span_format == "auto" and span_text in tokens:  # literally a token: the span's text
        return None
    return start, end


# ---------------------------------------------------------------------- writing
def to_semeval(
    conversations: Iterable[Conversation], subtask: int, span_format: str = "text"
) -> list[dict[str, Any]]:
    """The SemEval JSON records (subtask 1: span causes; subtask 2: utterance causes).

    Subtask-1 causes are written as ``"<utt>_<span text>"`` (``span_format="text"``, the form
    of the training file, so reading then writing it is lossless) or as
    ``"<utt>_<start>_<end>"`` (``"positions"``, the form the official scorer requires of a
    submission).
    """
    if subtask not in (1, 2):
        raise ValueError(f"subtask must be 1 or 2, got {subtask}")
    _check_span_format(span_format, ("text", "positions"))
    return [_record(conv, subtask, span_format) for conv in conversations]


def write_semeval(
    conversations: Iterable[Conversation], path: str | Path, subtask: int, span_format: str = "text"
) -> None:
    """Write a SemEval-2024 Task 3 JSON file (indented like the official files)."""
    records = to_semeval(conversations, subtask, span_format)
    try:
        text = json.dumps(records, ensure_ascii=False, indent=4, allow_nan=False)
    except ValueError as err:  # NaN / infinity in a kept extra field
        raise DataFormatError(f"cannot write as standard JSON: {err}") from None
    write_text(path, text + "\n")


def _record(conv: Conversation, subtask: int, span_format: str) -> dict[str, Any]:
    cid: str | int = int(conv.id) if conv.id.isdigit() else conv.id  # official ids are ints
    record: dict[str, Any] = {
        "conversation_ID": cid,
        "conversation": [_utterance(u) for u in conv.utterances],
    }
    extra = conv.meta.get("extra")
    if isinstance(extra, Mapping):
        record.update(extra)
    labelled = conv.has_cause_labels or bool(conv.pairs) or conv.has_emotion_labels
    if labelled:
        record[PAIRS_KEY] = _pairs(conv, subtask, span_format)
    return record


def _utterance(utt: Utterance) -> dict[str, Any]:
    out: dict[str, Any] = {"utterance_ID": utt.index, "text": utt.text, "speaker": utt.speaker}
    if utt.emotion is not None:
        out["emotion"] = utt.emotion
    if "video_source" in utt.meta:
        out["video_source"] = list(utt.meta["video_source"])
    if utt.media is not None:
        out["video_name"] = utt.media
    extra = utt.meta.get("extra")
    if isinstance(extra, Mapping):
        out.update(extra)
    return out


def _pairs(conv: Conversation, subtask: int, span_format: str) -> list[list[str]]:
    out: list[list[str]] = []
    seen: set[tuple[str, str]] = set()
    for pair in conv.pairs:
        emotion = pair.emotion or conv.utterance(pair.emotion_utterance).emotion
        if emotion is None:
            raise DataFormatError(
                f"pair {pair.key} has no emotion (neither on the pair nor on "
                "its emotion utterance); SemEval pairs need one",
                conversation=conv.id,
                field="emotion",
            )
        left = f"{pair.emotion_utterance}_{emotion}"
        if subtask == 2:
            right = str(pair.cause_utterance)
            if (left, right) in seen:  # several spans of one utterance pair: one utterance pair
                continue
            seen.add((left, right))
        elif span_format == "positions":
            start, end = _span_positions(conv, pair)
            right = f"{pair.cause_utterance}_{start}_{end}"
        else:
            right = f"{pair.cause_utterance}_{_span_text(conv, pair)}"
        out.append([left, right])
    return out


def _span_text(conv: Conversation, pair: EmotionCausePair) -> str:
    """The verbatim span; the token range's text; or the whole utterance (no span known)."""
    text = conv.utterance(pair.cause_utterance).text
    if pair.span is None:
        return text
    if pair.span.text is not None:
        return pair.span.text
    return " ".join(text.split()[pair.span.start : pair.span.end])


def _span_positions(conv: Conversation, pair: EmotionCausePair) -> tuple[int, int]:
    """The token range; the located text's; or the whole utterance (no span known)."""
    text = conv.utterance(pair.cause_utterance).text
    span = pair.span
    if span is not None and span.start is not None and span.end is not None:
        return span.start, span.end
    if span is None or span.text is None:
        return 0, len(text.split())
    found = locate_span(span.text, text, partial=True)
    if found is None:
        raise DataFormatError(
            f"pair {pair.key}: span {span.text!r} is not in cause "
            f"utterance {pair.cause_utterance}, so it has no token positions "
            "to write",
            conversation=conv.id,
            field="span",
        )
    return found
