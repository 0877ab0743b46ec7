"""IEMOCAP, 6-class setting. It cannot be redistributed: users place their copy in either of
its two public forms (a TSV export or the JSON of the COSMIC/DialogueRNN pickles), detected
per file."""

from unimeec.data.datasets import DatasetSpec, ReaderFormat, split_files
from unimeec.data.labels import IEMOCAP_EMOTIONS

SPEC = DatasetSpec(
    name="iemocap",
    labels=IEMOCAP_EMOTIONS,
    default_task="emotion",
    files=split_files("iemocap/{split}.tsv", "iemocap/{split}.json"),
    file_format=None,
    formats=(
        ReaderFormat(
            "iemocap-tsv", "unimeec.data.readers.iemocap:read_iemocap_tsv", aliases=("iemocap",)
        ),
        ReaderFormat("iemocap-json", "unimeec.data.readers.iemocap:read_iemocap_json"),
    ),
    description="IEMOCAP (user-supplied)",
)
