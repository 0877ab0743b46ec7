"""DailyDialog (emotion recognition), as the CoMPM repository distributes its splits."""

from unimeec.data.datasets import DatasetSpec, ReaderFormat, split_files
from unimeec.data.labels import DAILYDIALOG_EMOTIONS

SPEC = DatasetSpec(
    name="dailydialog",
    labels=DAILYDIALOG_EMOTIONS,
    default_task="emotion",
    files=split_files("dailydialog/dailydialog_{split}.txt"),
    file_format="dailydialog",
    formats=(ReaderFormat("dailydialog", "unimeec.data.readers.dailydialog:read_dailydialog"),),
    description="DailyDialog, CoMPM's tab-separated splits",
)
