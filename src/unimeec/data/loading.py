"""``load_dataset(name, split)``: the official files of a benchmark, found by its layout.

Each dataset declares its layout in :mod:`unimeec.data.datasets`; it is that of the shared
data directory (and of ``unimeec data download``), e.g. ``<data_dir>/ecf1/train.txt`` or
``<data_dir>/meld/dev_sent_emo.csv``. ``data_dir`` defaults to ``$UNIMEEC_DATA``.
"""

from __future__ import annotations

import os
from pathlib import Path

from unimeec.data.datasets import DATASETS, SPLITS, DatasetSpec, get_dataset
from unimeec.data.io import read_conversations
from unimeec.data.schema import Conversation
from unimeec.errors import UnimeecError

DATA_ENV = "UNIMEEC_DATA"


class DatasetNotFoundError(UnimeecError, FileNotFoundError):
    """The files of a dataset split are not where the layout expects them."""


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """``data_dir``, else ``$UNIMEEC_DATA``; fails when neither is set."""
    if data_dir is None:
        data_dir = os.environ.get(DATA_ENV)
        if not data_dir:
            raise DatasetNotFoundError(
                f"no data directory: pass data_dir / --data-dir or set {DATA_ENV}"
            )
    return Path(data_dir).expanduser()


def _spec(name: str) -> DatasetSpec:
    spec = get_dataset(name)
    if spec is None:
        raise DatasetNotFoundError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return spec


def dataset_path(name: str, split: str, data_dir: str | Path | None = None) -> Path:
    """The file ``load_dataset(name, split)`` reads."""
    spec = _spec(name)
    split = "dev" if split == "valid" else split
    candidates = spec.files.get(split)
    if candidates is None:
        raise DatasetNotFoundError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    root = resolve_data_dir(data_dir)
    for candidate in candidates:
        if (root / candidate).is_file():
            return root / candidate
    raise DatasetNotFoundError(
        f"{name} {split}: none of {', '.join(candidates)} exists under {root}"
    )


def load_dataset(name: str, split: str, data_dir: str | Path | None = None) -> list[Conversation]:
    """The conversations of one split of a benchmark, with ``dataset`` and ``split`` set."""
    spec = _spec(name)
    path = dataset_path(name, split, data_dir)
    split = "dev" if split == "valid" else split
    return read_conversations(path, spec.file_format, dataset=spec.name, split=split)
