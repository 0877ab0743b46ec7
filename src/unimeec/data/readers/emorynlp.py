"""EmoryNLP CSV, ERC version (emotion labels only; no causes).

Source: ``declare-lab/MELD`` @ 2d2011b409d3ca2d7e94460cd007d434b1d0a102,
``data/emorynlp/emorynlp_{train,dev,test}_final.csv``. Header
``Utterance,Speaker,Emotion,Scene_ID,Utterance_ID,Season,Episode,Start_Time,End_Time``.

A conversation is a scene, ``(Season, Episode, Scene_ID)``, with id ``s1_e2_c3``. Utterance
indices are positions (``Utterance_ID`` has gaps; it is kept in ``meta["utterance_id"]``).
``Speaker`` is a Python-list string (``['Ross Geller']``), parsed with
:func:`ast.literal_eval` (literals only, never code); several speakers are joined with
``", "`` and the list is kept in ``meta["speakers"]``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from unimeec.data.labels import EMORYNLP_EMOTIONS
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
    "Scene_ID",
    "Utterance_ID",
    "Season",
    "Episode",
    "Start_Time",
    "End_Time",
)


def parse_speakers(
    value: str, *, path: str | Path | None = None, line: int | None = None
) -> list[str]:
    """``"['Ross Geller', 'Joey']"`` -> ``['Ross Geller', 'Joey']`` (safe literal parsing)."""
    try:
        speakers = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        speakers = None
    if not isinstance(speakers, list) or not all(isinstance(s, str) for s in speakers):
        raise DataFormatError(
            f"Speaker must be a list of names like ['Ross Geller'], got {value!r}",
            path=path,
            line=line,
            field="Speaker",
        )
    return speakers


def read_emorynlp(
    path: str | Path, *, dataset: str = "emorynlp", split: str | None = None
) -> list[Conversation]:
    """Read one EmoryNLP split CSV."""
    path = Path(path)
    split = split if split is not None else split_from_name(path)
    scenes: dict[str, list[Utterance]] = {}
    first_line: dict[str, int] = {}
    utterance_lines: dict[tuple[str, int], int] = {}
    previous: str | None = None
    for line, row in read_csv_rows(path, COLUMNS):
        parts = [row[k].strip() for k in ("Season", "Episode", "Scene_ID", "Utterance_ID")]
        for name, value in zip(("Season", "Episode", "Scene_ID", "Utterance_ID"), parts):
            if not value.isdigit():
                raise DataFormatError(
                    f"{name} must be an integer, got {value!r}", path=path, line=line, field=name
                )
        cid = f"s{parts[0]}_e{parts[1]}_c{parts[2]}"
        if cid != previous and cid in scenes:
            raise DataFormatError(
                "rows of this scene are not contiguous",
                path=path,
                line=line,
                conversation=cid,
                field="Scene_ID",
            )
        previous = cid
        key = (cid, int(parts[3]))
        if key in utterance_lines:
            raise DataFormatError(
                f"duplicate Utterance_ID {parts[3]} in scene {cid} (first on "
                f"line {utterance_lines[key]})",
                path=path,
                line=line,
                conversation=cid,
                field="Utterance_ID",
            )
        utterance_lines[key] = line
        utts = scenes.setdefault(cid, [])
        first_line.setdefault(cid, line)
        speakers = parse_speakers(row["Speaker"], path=path, line=line)
        emotion = check_label(
            row["Emotion"].strip(), EMORYNLP_EMOTIONS, path=path, line=line, conversation=cid
        )
        start = parse_clock(
            row["Start_Time"], path=path, line=line, conversation=cid, field="Start_Time"
        )
        end = parse_clock(row["End_Time"], path=path, line=line, conversation=cid, field="End_Time")
        if end < start:
            raise DataFormatError(
                f"End_Time {row['End_Time']} is before Start_Time",
                path=path,
                line=line,
                conversation=cid,
                field="End_Time",
            )
        meta: dict[str, object] = {"utterance_id": int(parts[3])}
        if len(speakers) != 1:
            meta["speakers"] = speakers
        utts.append(
            Utterance(
                index=len(utts) + 1,
                speaker=", ".join(speakers),
                text=row["Utterance"],
                emotion=emotion,
                start=start,
                end=end,
                meta=meta,
            )
        )
    return [
        build_conversation(
            path,
            first_line[cid],
            id=cid,
            utterances=utts,
            dataset=dataset,
            split=split,
            has_cause_labels=False,
        )
        for cid, utts in scenes.items()
    ]
