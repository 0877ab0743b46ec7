"""MELD (Friends, emotion recognition), the official CSV files."""

from unimeec.data.datasets import DatasetSpec, ReaderFormat, source_files, split_files
from unimeec.data.labels import MELD_EMOTIONS

SPEC = DatasetSpec(
    name="meld",
    labels=MELD_EMOTIONS,
    default_task="emotion",
    files=split_files("meld/{split}_sent_emo.csv"),
    file_format="meld",
    formats=(ReaderFormat("meld", "unimeec.data.readers.meld:read_meld"),),
    downloads=source_files(
        "declare-lab/MELD",
        "2d2011b409d3ca2d7e94460cd007d434b1d0a102",
        [
            (
                "data/MELD/train_sent_emo.csv",
                "meld/train_sent_emo.csv",
                "d2fa2d6529cf03cac2989efec05c9b27d8fd2f4c8fc5974c7ae88aa537fa02db",
            ),
            (
                "data/MELD/dev_sent_emo.csv",
                "meld/dev_sent_emo.csv",
                "2e89c6f8aa182d6f62f8c6331aece905ac7273ca4999660bfb5213e1d0370c1c",
            ),
            (
                "data/MELD/test_sent_emo.csv",
                "meld/test_sent_emo.csv",
                "8d37103938f7067600839fe29d5a114a6cd1bcdafb75bec101e06464c5006888",
            ),
        ],
    ),
    description="MELD, declare-lab's CSV files",
)
