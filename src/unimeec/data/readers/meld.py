"""MELD CSV (emotion labels only; no causes).

Source: ``declare-lab/MELD`` @ 2d2011b409d3ca2d7e94460cd007d434b1d0a102,
``data/MELD/{train,dev,test}_sent_emo.csv``. Header
``Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime``.

A conversation is a ``Dialogue_ID``; its id is that number. Utterance indices are positions
(1..N): ``Utterance_ID`` has gaps in a few dialogues, so the original id is kept in
``meta["meld_id"]`` (``train_dia0_utt0``, the form ECF's ``all_data_pair_ECFvsMELD.txt``
uses) and ``media`` is MELD's clip name ``dia0_utt0.mp4``; ``start``/``end`` are seconds
inside the episode (``meta`` has ``sentiment``). **Train dialogue 60 does not exist** in the
official CSV (ids 0-1038), hence 1,038 train dialogues; this is the official file, not a
reading error (see :data:`MELD_MISSING_DIALOGUES`).
"""

from __future__ import annotations

from pathlib import Path

from unimeec.data.labels import MELD_EMOTIONS
from unimeec.data.readers._common import (
    build_conversation,
    check_label,
    parse_clock,
    split_from_name,
)
from unimeec.data.readers._csv import read_csv_rows
from unimeec.data.schema import Conversation, Utterance
from unimeec.errors import DataFormatError

COLUMNS = (
    "Utterance",
    "Speaker",
    "Emotion",
    "Sentiment",
    "Dialogue_ID",
    "Utterance_ID",
    "StartTime",
    "EndTime",
)
#: Dialogue ids absent from the official CSVs.
MELD_MISSING_DIALOGUES: dict[str, tuple[int, ...]] = {"train": (60,)}


def read_meld(
    path: str | Path, *, dataset: str = "meld", split: str | None = None
) -> list[Conversation]:
    """Read one MELD split CSV."""
    path = Path(path)
    split = split if split is not None else split_from_name(path)
    prefix = split or "meld"
    dialogues: dict[str, list[Utterance]] = {}
    first_line: dict[str, int] = {}
    utterance_lines: dict[tuple[str, str], int] = {}
    previous: str | None = None
    for line, row in read_csv_rows(path, COLUMNS):
        did, uid = row["Dialogue_ID"].strip(), row["Utterance_ID"].strip()
        for name, value in (("Dialogue_ID", did), ("Utterance_ID", uid)):
            if not value.isdigit():
                raise DataFormatError(
                    f"{name} must be a non-negative integer, got {value!r}",
                    path=path,
                    line=line,
                    field=name,
                )
        if did != previous and did in dialogues:
            raise DataFormatError(
                "rows of this dialogue are not contiguous",
                path=path,
                line=line,
                conversation=did,
                field="Dialogue_ID",
            )
        previous = did
        key = (did, str(int(uid)))
        if key in utterance_lines:  # two rows would become two utterances of one clip
            raise DataFormatError(
                f"duplicate Utterance_ID {uid} in dialogue {did} (first on "
                f"line {utterance_lines[key]})",
                path=path,
                line=line,
                conversation=did,
                field="Utterance_ID",
            )
        utterance_lines[key] = line
        utts = dialogues.setdefault(did, [])
        first_line.setdefault(did, line)
        emotion = check_label(
            row["Emotion"].strip(), MELD_EMOTIONS, path=path, line=line, conversation=did
        )
        start = parse_clock(
            row["StartTime"], path=path, line=line, conversation=did, field="StartTime"
        )
        end = parse_clock(row["EndTime"], path=path, line=line, conversation=did, field="EndTime")
        if end < start:
            raise DataFormatError(
                f"EndTime {row['EndTime']} is before StartTime",
                path=path,
                line=line,
                conversation=did,
                field="EndTime",
            )
        utts.append(
            Utterance(
                index=len(utts) + 1,
                speaker=row["Speaker"],
                text=row["Utterance"],
                emotion=emotion,
                media=f"dia{did}_utt{uid}.mp4",
                start=start,
                end=end,
                meta={"meld_id": f"{prefix}_dia{did}_utt{uid}", "sentiment": row["Sentiment"]},
            )
        )
    return [
        build_conversation(
            path,
            first_line[did],
            id=did,
            utterances=utts,
            dataset=dataset,
            split=split,
            has_cause_labels=False,
        )
        for did, utts in dialogues.items()
    ]
