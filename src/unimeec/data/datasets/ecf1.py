"""ECF 1.0 (MECPE): Friends conversations with emotions and emotion-cause pairs."""

from unimeec.data.datasets import DatasetSpec, ReaderFormat, source_files, split_files
from unimeec.data.labels import ECF_EMOTIONS

#: SHA-256 of the official ``video_id_mapping.npy``, the only pickle we agree to load
#: (unpickling runs code; the ECF reader and feature tables refuse any other file).
VIDEO_ID_MAPPING_SHA256 = "80c1783d604971441bcf3dcdf51a30339f7aa984c287f7451f99057dde66ba57"

SPEC = DatasetSpec(
    name="ecf1",
    labels=ECF_EMOTIONS,
    default_task="joint",
    files=split_files("ecf1/{split}.txt"),
    file_format="ecf",
    formats=(ReaderFormat("ecf", "unimeec.data.readers.ecf:read_ecf", aliases=("ecf1",)),),
    downloads=source_files(
        "NUSTM/MECPE",
        "359c97c74416aecd6b9e62738db10a37b4aa0104",
        [
            (
                "data/train.txt",
                "ecf1/train.txt",
                "67b69faf38d67fb1a794aa44b564b371bdfcc338e7bead845668dbacab0cc1e1",
            ),
            (
                "data/dev.txt",
                "ecf1/dev.txt",
                "59a4e7a8b765438cc2006e594b901abf9c26dc76c758a9ba7aa9ab14e0130c7e",
            ),
            (
                "data/test.txt",
                "ecf1/test.txt",
                "4ae44852e3136f8b973ea818c4fc0ef162d855421124c611e56dd2c9280b2677",
            ),
            (
                "data/all_data_pair.txt",
                "ecf1/all_data_pair.txt",
                "dc7f75febe024d863d7488028e0e7be88298de6cdd4af7f000c61acde32174dc",
            ),
            (
                "data/all_data_pair_ECFvsMELD.txt",
                "ecf1/all_data_pair_ECFvsMELD.txt",
                "a25fca642936dabd2a8f8d4b20863dc3917e08f1ff6d639a436b7386c8c0fce2",
            ),
            ("data/video_id_mapping.npy", "ecf1/video_id_mapping.npy", VIDEO_ID_MAPPING_SHA256),
        ],
    ),
    description="ECF 1.0, NUSTM/MECPE's text files",
)
