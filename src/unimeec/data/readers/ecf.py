"""ECF 1.0 (Emotion-Cause-in-Friends) text files.

Source: ``NUSTM/MECPE`` @ 359c97c74416aecd6b9e62738db10a37b4aa0104, ``data/``
(``train.txt``, ``dev.txt``, ``test.txt``, ``all_data_pair.txt``,
``all_data_pair_ECFvsMELD.txt``, ``video_id_mapping.npy``). Per conversation::

    <conv_id> <n_utts>
    (emo_utt,cause_utt),(emo_utt,cause_utt),...      # empty line if no pairs
    <utt_no> | <speaker> | <emotion> | <text> | Friends_S1E1: 00:16:45.504 - 00:16:46.672

The last field becomes ``Utterance.media`` (the episode, ``Friends_S1E1``) with
``start``/``end`` in seconds inside that episode. In ``all_data_pair_ECFvsMELD.txt`` the last
field is the MELD utterance id (``train_dia559_utt0``, empty for utterances new in ECF); it
is exposed as ``Utterance.meta["meld_id"]`` (``None`` when empty), either by reading that file
directly or, for the other files, from a sibling ``all_data_pair_ECFvsMELD.txt``.
``video_id_mapping.npy`` maps ``dia{conv}utt{utt}`` to the row of the official audio/visual
feature tables; it is exposed as ``Utterance.meta["feature_row"]``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from unimeec.data.labels import ECF_EMOTIONS
from unimeec.data.readers._common import (
    build_conversation,
    check_gold_pairs,
    check_label,
    log,
    parse_clock,
    read_text,
    split_from_name,
)
from unimeec.data.schema import Conversation, EmotionCausePair, Utterance
from unimeec.data.sources import VIDEO_ID_MAPPING_SHA256
from unimeec.errors import DataFormatError

MELD_ID_FILE = "all_data_pair_ECFvsMELD.txt"
FEATURE_ROW_FILE = "video_id_mapping.npy"

#: ECF train conversation 544 holds MELD **test** dialogue 73 (its first 11 utterances) plus
#: MELD train dialogue 393. Exclude it when training on ECF-train and testing on MELD-test.
#: The reader also marks it: ``Conversation.meta["meld_test_overlap"] == "test_dia73"``.
ECF1_MELD_TEST_OVERLAP: dict[str, str] = {"544": "test_dia73"}

_HEADER = re.compile(r"^(\d+) (\d+)$")
_PAIRS = re.compile(r"^(\(\d+,\d+\))(,\(\d+,\d+\))*,?$")
_PAIR = re.compile(r"\((\d+),(\d+)\)")
_EPISODE_TIME = re.compile(r"^(\S+): (\S+) - (\S+)$")
_MELD_ID = re.compile(r"^(train|dev|test)_dia\d+_utt\d+$")


def read_ecf(
    path: str | Path,
    *,
    meld_ids: str | Path | bool | None = None,
    feature_rows: str | Path | bool | None = None,
    dataset: str = "ecf1",
    split: str | None = None,
) -> list[Conversation]:
    """Read an ECF 1.0 text file.

    ``meld_ids`` / ``feature_rows``: a path to ``all_data_pair_ECFvsMELD.txt`` /
    ``video_id_mapping.npy``, ``False`` to skip, or ``None`` (default) to use the sibling file
    when it exists. ``split`` defaults to the one in the file name (none for ``all_data_pair``).
    """
    path = Path(path)
    split = split if split is not None else split_from_name(path)
    blocks = list(_parse_blocks(path))
    meld_table = _meld_table(path, meld_ids)
    row_table = _feature_rows(path, feature_rows)
    conversations = []
    for cid, header_line, pairs, utts in blocks:
        for utt in utts:
            key = (cid, utt.index)
            if meld_table is not None and "meld_id" not in utt.meta and key in meld_table:
                utt.meta["meld_id"] = meld_table[key]
            if row_table is not None:
                row = row_table.get(f"dia{cid}utt{utt.index}")
                if row is not None:
                    utt.meta["feature_row"] = int(row)
        emotions = {u.index: u.emotion for u in utts}
        conv_pairs = [EmotionCausePair(e, c, emotion=emotions.get(e)) for e, c in pairs]
        meta: dict[str, Any] = {}
        if cid in ECF1_MELD_TEST_OVERLAP and split in (None, "train"):
            meta["meld_test_overlap"] = ECF1_MELD_TEST_OVERLAP[cid]
        conversation = build_conversation(
            path,
            header_line,
            id=cid,
            utterances=utts,
            pairs=conv_pairs,
            dataset=dataset,
            split=split,
            has_cause_labels=True,
            meta=meta,
        )
        check_gold_pairs(conversation, path=path, line=header_line + 1)
        conversations.append(conversation)
    return conversations


def _parse_blocks(path: Path):  # type: ignore[no-untyped-def]
    """Yield ``(conv_id, header_line, pairs, utterances)`` per conversation."""
    lines = read_text(path).split("\n")
    i = 0
    seen: set[str] = set()
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        header_no = i + 1
        match = _HEADER.match(lines[i].strip())
        if match is None:
            raise DataFormatError(
                f"expected a conversation header '<id> <n_utterances>', got {lines[i][:60]!r}",
                path=path,
                line=header_no,
                field="header",
            )
        cid, n_utts = match.group(1), int(match.group(2))
        if cid in seen:
            raise DataFormatError(
                "duplicate conversation id", path=path, line=header_no, conversation=cid, field="id"
            )
        seen.add(cid)
        if n_utts < 1:
            raise DataFormatError(
                "conversation has no utterances",
                path=path,
                line=header_no,
                conversation=cid,
                field="n_utterances",
            )
        pair_no = header_no + 1
        pair_text = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if pair_text and _PAIRS.match(pair_text) is None:
            raise DataFormatError(
                f"malformed pair list {pair_text[:60]!r}; expected '(emo_utt,cause_utt),...'",
                path=path,
                line=pair_no,
                conversation=cid,
                field="pairs",
            )
        pairs = [(int(e), int(c)) for e, c in _PAIR.findall(pair_text)]
        for e, c in pairs:
            for name, idx in (("emotion_utterance", e), ("cause_utterance", c)):
                if not 1 <= idx <= n_utts:
                    raise DataFormatError(
                        f"pair ({e},{c}) points outside the conversation's {n_utts} utterances",
                        path=path,
                        line=pair_no,
                        conversation=cid,
                        field=name,
                    )
        utts = []
        for k in range(n_utts):
            line_no = pair_no + 1 + k
            if line_no - 1 >= len(lines) or not lines[line_no - 1].strip():
                raise DataFormatError(
                    f"expected utterance {k + 1} of {n_utts}, found "
                    f"{'end of file' if line_no - 1 >= len(lines) else 'a blank line'}",
                    path=path,
                    line=line_no,
                    conversation=cid,
                    field="utterances",
                )
            utts.append(_parse_utterance(lines[line_no - 1], k + 1, path, line_no, cid))
        yield cid, header_no, pairs, utts
        i = pair_no + n_utts


def _parse_utterance(line: str, position: int, path: Path, line_no: int, cid: str) -> Utterance:
    fields = line.rstrip("\r").split(" | ")
    if len(fields) < 5:
        raise DataFormatError(
            f"expected 5 fields 'no | speaker | emotion | text | source' "
            f"separated by ' | ', got {len(fields)}",
            path=path,
            line=line_no,
            conversation=cid,
            field="utterance",
        )
    number, speaker, emotion, last = fields[0].strip(), fields[1], fields[2].strip(), fields[-1]
    text = " | ".join(fields[3:-1])
    if number != str(position):
        raise DataFormatError(
            f"utterance number {number!r} where {position} was expected",
            path=path,
            line=line_no,
            conversation=cid,
            field="index",
        )
    check_label(emotion, ECF_EMOTIONS, path=path, line=line_no, conversation=cid)
    utt = Utterance(index=position, speaker=speaker, text=text, emotion=emotion)
    last = last.strip()
    if not last or _MELD_ID.match(last):
        utt.meta["meld_id"] = last or None
        return utt
    match = _EPISODE_TIME.match(last)
    if match is None:
        raise DataFormatError(
            f"expected 'Friends_S1E1: HH:MM:SS.mmm - HH:MM:SS.mmm' or a MELD id, got {last!r}",
            path=path,
            line=line_no,
            conversation=cid,
            field="source",
        )
    utt.media = match.group(1)
    utt.start = parse_clock(
        match.group(2), path=path, line=line_no, conversation=cid, field="start"
    )
    utt.end = parse_clock(match.group(3), path=path, line=line_no, conversation=cid, field="end")
    if utt.end < utt.start:
        raise DataFormatError(
            f"time span ends ({utt.end}) before it starts ({utt.start})",
            path=path,
            line=line_no,
            conversation=cid,
            field="end",
        )
    return utt


def _meld_table(
    path: Path, option: str | Path | bool | None
) -> dict[tuple[str, int], str | None] | None:
    if option is False or path.name == MELD_ID_FILE:
        return None
    source = path.with_name(MELD_ID_FILE) if option in (None, True) else Path(option)  # type: ignore[arg-type]
    if not source.is_file():
        if option not in (None,):
            raise DataFormatError("MELD id file not found", path=source)
        return None
    table = {}
    for cid, _, _, utts in _parse_blocks(source):
        for utt in utts:
            table[(cid, utt.index)] = utt.meta.get("meld_id")
    log.debug("%s: MELD ids from %s", path, source)
    return table


def _feature_rows(path: Path, option: str | Path | bool | None) -> dict[str, int] | None:
    """Load ``video_id_mapping.npy``.

    The file is a pickled 0-d object array, so ``np.load`` needs ``allow_pickle=True``, which
    can execute code from an untrusted file. We therefore unpickle only the official file,
    recognised by its SHA-256 (:data:`~unimeec.data.sources.VIDEO_ID_MAPPING_SHA256`).
    """
    if option is False:
        return None
    source = path.with_name(FEATURE_ROW_FILE) if option in (None, True) else Path(option)  # type: ignore[arg-type]
    if not source.is_file():
        if option is not None:
            raise DataFormatError("feature-row mapping not found", path=source)
        return None
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != VIDEO_ID_MAPPING_SHA256:
        raise DataFormatError(
            f"SHA-256 {digest} is not the official video_id_mapping.npy "
            f"({VIDEO_ID_MAPPING_SHA256}); refusing to unpickle an unknown file",
            path=source,
            field="sha256",
        )
    import numpy as np

    mapping = np.load(source, allow_pickle=True).item()
    if not isinstance(mapping, dict):
        raise DataFormatError("expected a pickled dict", path=source)
    return {str(k): int(v) for k, v in mapping.items()}
