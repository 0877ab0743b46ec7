"""DailyDialog in the ERC text format (emotion labels only; no causes).

Source: ``rungjoo/CoMPM`` @ 528a904da0aa5f1303f2e0a71eef496182900911,
``dataset/dailydialog/dailydialog_{dev,test}.txt``. One utterance per line,
``speaker(0/1)<TAB>text<TAB>emotion``, a blank line between dialogues. Dialogues have no id
in the file; conversation ids are their 1-based order (``"1"``, ``"2"``, ...).
"""

from __future__ import annotations

from pathlib import Path

from unimeec.data.labels import DAILYDIALOG_EMOTIONS
from unimeec.data.readers._common import build_conversation, check_label, read_text, split_from_name
from unimeec.data.schema import Conversation, Utterance
from unimeec.errors import DataFormatError


def read_dailydialog(
    path: str | Path, *, dataset: str = "dailydialog", split: str | None = None
) -> list[Conversation]:
    """Read one DailyDialog ERC split file."""
    path = Path(path)
    split = split if split is not None else split_from_name(path)
    conversations: list[Conversation] = []
    utts: list[Utterance] = []
    start_line = 1

    def flush() -> None:
        if utts:
            cid = str(len(conversations) + 1)
            conversations.append(
                build_conversation(
                    path,
                    start_line,
                    id=cid,
                    utterances=list(utts),
                    dataset=dataset,
                    split=split,
                    has_cause_labels=False,
                )
            )
            utts.clear()

    for line_no, line in enumerate(read_text(path).split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            flush()
            continue
        if not utts:
            start_line = line_no
        fields = line.split("\t")
        if len(fields) != 3:
            raise DataFormatError(
                f"expected 'speaker<TAB>text<TAB>emotion' (3 fields), got {len(fields)}",
                path=path,
                line=line_no,
                field="line",
            )
        speaker, text, emotion = fields
        check_label(
            emotion.strip(),
            DAILYDIALOG_EMOTIONS,
            path=path,
            line=line_no,
            conversation=str(len(conversations) + 1),
        )
        utts.append(
            Utterance(
                index=len(utts) + 1, speaker=speaker.strip(), text=text, emotion=emotion.strip()
            )
        )
    flush()
    return conversations
