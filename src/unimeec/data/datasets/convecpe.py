"""ConvECPE: IEMOCAP conversations with emotion-cause pairs (converted by the user)."""

from unimeec.data.datasets import DatasetSpec, ReaderFormat, split_files
from unimeec.data.labels import IEMOCAP_EMOTIONS

SPEC = DatasetSpec(
    name="convecpe",
    labels=IEMOCAP_EMOTIONS,
    default_task="joint",
    files=split_files("convecpe/{split}.json"),
    file_format="convecpe",
    formats=(ReaderFormat("convecpe", "unimeec.data.readers.convecpe:read_convecpe"),),
    description="IEMOCAP with cause annotations; built on IEMOCAP, so not redistributable",
)
