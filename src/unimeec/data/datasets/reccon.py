"""RECCON-DD (DailyDialog with emotion causes): cause extraction by default."""

from unimeec.data.datasets import DatasetSpec, ReaderFormat, split_files
from unimeec.data.labels import RECCON_EMOTIONS

SPEC = DatasetSpec(
    name="reccon",
    labels=RECCON_EMOTIONS,
    default_task="cause",
    files=split_files("reccon/dailydialog_{split}.json", dev="valid"),
    file_format="reccon",
    formats=(
        ReaderFormat("reccon", "unimeec.data.readers.reccon:read_reccon", aliases=("reccon-dd",)),
    ),
    description="RECCON-DD, declare-lab's JSON files",
)
