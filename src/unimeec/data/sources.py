"""The official files we read, pinned to a commit and a SHA-256.

One table serves three purposes: readers name their source from it, ``unimeec data
download`` fetches and verifies from it, and the ECF reader refuses to unpickle a
``video_id_mapping.npy`` whose hash is not the official one (unpickling runs code).
Local paths mirror ``/work/shared/data`` so ``load_dataset(data_dir=...)`` finds them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceFile:
    """One file of an official GitHub repository at a fixed commit."""

    repo: str
    commit: str
    remote_path: str
    local_path: str
    sha256: str

    @property
    def url(self) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.remote_path}"


MELD_REPO = ("declare-lab/MELD", "2d2011b409d3ca2d7e94460cd007d434b1d0a102")
ECF1_REPO = ("NUSTM/MECPE", "359c97c74416aecd6b9e62738db10a37b4aa0104")
SEMEVAL2024_REPO = ("NUSTM/SemEval-2024_ECAC", "f6054366e358a9803fcd1ab92ae9921132816eb5")
RECCON_REPO = ("declare-lab/RECCON", "579ea8a726f6705f7a3a02f7535b8f5595ec35aa")
DAILYDIALOG_REPO = ("rungjoo/CoMPM", "528a904da0aa5f1303f2e0a71eef496182900911")


def _files(repo: tuple[str, str], rows: list[tuple[str, str, str]]) -> tuple[SourceFile, ...]:
    return tuple(SourceFile(repo[0], repo[1], remote, local, sha) for remote, local, sha in rows)


#: Downloadable datasets (official files publicly on GitHub).
DOWNLOADS: dict[str, tuple[SourceFile, ...]] = {
    "meld": _files(MELD_REPO, [
        ("data/MELD/train_sent_emo.csv", "meld/train_sent_emo.csv",
         "d2fa2d6529cf03cac2989efec05c9b27d8fd2f4c8fc5974c7ae88aa537fa02db"),
        ("data/MELD/dev_sent_emo.csv", "meld/dev_sent_emo.csv",
         "2e89c6f8aa182d6f62f8c6331aece905ac7273ca4999660bfb5213e1d0370c1c"),
        ("data/MELD/test_sent_emo.csv", "meld/test_sent_emo.csv",
         "8d37103938f7067600839fe29d5a114a6cd1bcdafb75bec101e06464c5006888"),
    ]),
    "ecf1": _files(ECF1_REPO, [
        ("data/train.txt", "ecf1/train.txt",
         "67b69faf38d67fb1a794aa44b564b371bdfcc338e7bead845668dbacab0cc1e1"),
        ("data/dev.txt", "ecf1/dev.txt",
         "59a4e7a8b765438cc2006e594b901abf9c26dc76c758a9ba7aa9ab14e0130c7e"),
        ("data/test.txt", "ecf1/test.txt",
         "4ae44852e3136f8b973ea818c4fc0ef162d855421124c611e56dd2c9280b2677"),
        ("data/all_data_pair.txt", "ecf1/all_data_pair.txt",
         "dc7f75febe024d863d7488028e0e7be88298de6cdd4af7f000c61acde32174dc"),
        ("data/all_data_pair_ECFvsMELD.txt", "ecf1/all_data_pair_ECFvsMELD.txt",
         "a25fca642936dabd2a8f8d4b20863dc3917e08f1ff6d639a436b7386c8c0fce2"),
        ("data/video_id_mapping.npy", "ecf1/video_id_mapping.npy",
         "80c1783d604971441bcf3dcdf51a30339f7aa984c287f7451f99057dde66ba57"),
    ]),
    "semeval2024": _files(SEMEVAL2024_REPO, [
        ("data/Subtask_1_train.json", "ecf2-semeval2024/Subtask_1_train.json",
         "6b227b7fada28a194e63d8a8df6555956551eeda5432b49f45453e5d0f6b14f0"),
    ]),
}

#: SHA-256 of the official ``video_id_mapping.npy`` (the only pickle we agree to load).
VIDEO_ID_MAPPING_SHA256 = DOWNLOADS["ecf1"][5].sha256
