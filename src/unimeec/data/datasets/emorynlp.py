"""EmoryNLP (Friends, emotion recognition with Willcox's feeling wheel)."""

from unimeec.data.datasets import DatasetSpec, ReaderFormat, split_files
from unimeec.data.labels import EMORYNLP_EMOTIONS

SPEC = DatasetSpec(
    name="emorynlp",
    labels=EMORYNLP_EMOTIONS,
    default_task="emotion",
    files=split_files("emorynlp/emorynlp_{split}_final.csv"),
    file_format="emorynlp",
    formats=(ReaderFormat("emorynlp", "unimeec.data.readers.emorynlp:read_emorynlp"),),
    description="EmoryNLP emotion detection, the official CSV files",
)
