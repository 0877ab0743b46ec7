"""ECF 2.0, the data of SemEval-2024 Task 3 (subtask 1 spans, subtask 2 utterance pairs)."""

from unimeec.data.datasets import DatasetSpec, ReaderFormat, source_files, split_files
from unimeec.data.labels import ECF_EMOTIONS

SPEC = DatasetSpec(
    name="semeval2024",
    labels=ECF_EMOTIONS,
    default_task="joint",
    files=split_files(
        "ecf2-semeval2024/Subtask_1_{split}.json", "ecf2-semeval2024/Subtask_2_{split}.json"
    ),
    file_format="semeval",
    formats=(
        ReaderFormat(
            "semeval",
            "unimeec.data.readers.semeval:read_semeval",
            aliases=("semeval2024", "semeval-subtask1", "semeval-subtask2"),
        ),
    ),
    downloads=source_files(
        "NUSTM/SemEval-2024_ECAC",
        "f6054366e358a9803fcd1ab92ae9921132816eb5",
        [
            (
                "data/Subtask_1_train.json",
                "ecf2-semeval2024/Subtask_1_train.json",
                "6b227b7fada28a194e63d8a8df6555956551eeda5432b49f45453e5d0f6b14f0",
            ),
        ],
    ),
    aliases=("ecf2",),
    description="ECF 2.0 / SemEval-2024 Task 3, NUSTM's JSON files",
)
