"""``load_dataset(name, split)``: the official files of a benchmark, found by a fixed layout.

The layout is that of the shared data directory (and of ``unimeec data download``), e.g.
``<data_dir>/ecf1/train.txt`` or ``<data_dir>/meld/dev_sent_emo.csv``. ``data_dir``
defaults to the ``UNIMEEC_DATA`` environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from unimeec.data.io import read_conversations
from unimeec.data.schema import Conversation
from unimeec.errors import UnimeecError

SPLITS: tuple[str, ...] = ("train", "dev", "test")

#: Per dataset: (reader format, candidate file names per split relative to data_dir,
#: has cause labels). The first candidate that exists is read.
LAYOUT: dict[str, tuple[str | None, dict[str, tuple[str, ...]], bool]] = {
    "ecf1": ("ecf", {s: (f"ecf1/{s}.txt",) for s in SPLITS}, True),
    "semeval2024": ("semeval", {s: (f"ecf2-semeval2024/Subtask_1_{s}.json",
                                    f"ecf2-semeval2024/Subtask_2_{s}.json") for s in SPLITS}, True),
    "meld": ("meld", {s: (f"meld/{s}_sent_emo.csv",) for s in SPLITS}, False),
    "emorynlp": ("emorynlp", {s: (f"emorynlp/emorynlp_{s}_final.csv",) for s in SPLITS}, False),
    "dailydialog": ("dailydialog", {s: (f"dailydialog/dailydialog_{s}.txt",) for s in SPLITS},
                    False),
    "reccon": ("reccon", {"train": ("reccon/dailydialog_train.json",),
                          "dev": ("reccon/dailydialog_valid.json",),
                          "test": ("reccon/dailydialog_test.json",)}, True),
    # IEMOCAP cannot be redistributed: users place their copy in either public form.
    "iemocap": (None, {s: (f"iemocap/{s}.tsv", f"iemocap/{s}.json") for s in SPLITS}, False),
    "convecpe": ("convecpe", {s: (f"convecpe/{s}.json",) for s in SPLITS}, True),
}

DATA_ENV = "UNIMEEC_DATA"


class DatasetNotFoundError(UnimeecError, FileNotFoundError):
    """The files of a dataset split are not where the layout expects them."""


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """``data_dir``, else ``$UNIMEEC_DATA``; fails when neither is set."""
    if data_dir is None:
        data_dir = os.environ.get(DATA_ENV)
        if not data_dir:
            raise DatasetNotFoundError(f"no data directory: pass data_dir / --data-dir or set "
                                       f"{DATA_ENV}")
    return Path(data_dir).expanduser()


def dataset_path(name: str, split: str, data_dir: str | Path | None = None) -> Path:
    """The file ``load_dataset(name, split)`` reads."""
    if name not in LAYOUT:
        raise DatasetNotFoundError(f"unknown dataset {name!r}; known: {', '.join(LAYOUT)}")
    split = "dev" if split == "valid" else split
    candidates = LAYOUT[name][1].get(split)
    if candidates is None:
        raise DatasetNotFoundError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    root = resolve_data_dir(data_dir)
    for candidate in candidates:
        if (root / candidate).is_file():
            return root / candidate
    raise DatasetNotFoundError(f"{name} {split}: none of {', '.join(candidates)} exists under "
                               f"{root}")


def load_dataset(name: str, split: str, data_dir: str | Path | None = None) -> list[Conversation]:
    """The conversations of one split of a benchmark, with ``dataset`` and ``split`` set."""
    path = dataset_path(name, split, data_dir)
    fmt = LAYOUT[name][0]
    split = "dev" if split == "valid" else split
    conversations = read_conversations(path, fmt, dataset=name, split=split)
    return conversations
