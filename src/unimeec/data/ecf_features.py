"""The official ECF audio/visual features, read as the MECPE authors distribute them.

``audio_embedding_6373.npy`` (openSMILE ComParE_2016 functionals) and
``video_embedding_4096.npy`` (3D-CNN) are tables of shape ``[13620, dim]``: row 0 is
padding and utterance rows start at 1. ``video_id_mapping.npy`` maps ``"dia{conv}utt{utt}"``
(both 1-based) to a row; it is a pickled 0-d object array holding a dict. We read it with a
restricted unpickler that only rebuilds NumPy arrays of builtin values, so the file cannot
run code. The tables are memory-mapped, never loaded whole.
"""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from unimeec.data.feature_store import (
    ExtractorInfo,
    FeatureStore,
    FeatureStoreWriter,
    running_statistics,
)
from unimeec.errors import FeatureError
from unimeec.hashing import file_sha256

_KEY_PATTERN = re.compile(r"dia(\d+)utt(\d+)")
_TRAILING_NUMBER = re.compile(r"(\d+)$")
#: The only globals a NumPy object-array pickle needs.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays of builtin objects and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if name == "_reconstruct":
            from numpy._core import multiarray

            return multiarray._reconstruct
        return getattr(np, name)


def load_video_id_mapping(path: str | Path) -> dict[str, int]:
    """``{"dia1utt1": 1, ...}`` from the official ``video_id_mapping.npy`` (or a JSON dict)."""
    path = Path(path)
    if not path.is_file():
        raise FeatureError(f"ECF row mapping not found: {path}")
    if path.suffix == ".json":
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    else:
        try:
            with open(path, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
                if dtype != np.dtype(object) or shape != ():
                    raise FeatureError(
                        f"{path}: expected a 0-d object array holding a dict, "
                        f"got dtype {dtype} shape {shape}"
                    )
                raw = _ArrayOnlyUnpickler(handle).load().item()
        except (ValueError, pickle.UnpicklingError, EOFError) as err:
            raise FeatureError(f"{path}: not a video id mapping ({err})") from err
    if not isinstance(raw, dict):
        raise FeatureError(f"{path}: expected a dict, got {type(raw).__name__}")
    mapping: dict[str, int] = {}
    for key, row in raw.items():
        if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key):
            raise FeatureError(f"{path}: key {key!r} is not of the form 'dia<conv>utt<utt>'")
        if isinstance(row, bool) or not isinstance(row, (int, np.integer)):
            raise FeatureError(f"{path}: key {key}: row {row!r} is not an integer")
        mapping[key] = int(row)
    return mapping


def ecf_conversation_number(conversation_id: str | int) -> int | None:
    """The ECF conversation number in an id: ``"12"``, ``12`` or a prefixed ``"ecf1-12"``."""
    match = _TRAILING_NUMBER.search(str(conversation_id))
    return int(match.group(1)) if match else None


class EcfFeatures:
    """An official ECF embedding table as a :class:`~unimeec.data.modalities.FeatureLookup`.

    ``get("1", 1)`` returns row ``mapping["dia1utt1"]`` (raw, as distributed; MECPE min-max
    normalises them, we standardise in the model). Conversation ids are matched by their
    trailing number, so ``"1"`` and ``"ecf1_1"`` both name ECF conversation 1.
    """

    def __init__(
        self,
        table: str | Path,
        mapping: str | Path | Mapping[str, int],
        modality: str | None = None,
    ) -> None:
        self.table_path = Path(table)
        if not self.table_path.is_file():
            raise FeatureError(f"ECF feature table not found: {self.table_path}")
        try:
            self._table = np.load(self.table_path, mmap_mode="r", allow_pickle=False)
        except ValueError as err:
            raise FeatureError(f"{self.table_path}: not a numeric .npy table ({err})") from err
        if self._table.ndim != 2:
            raise FeatureError(
                f"{self.table_path}: expected a 2-D table, got shape {list(self._table.shape)}"
            )
        self._modality = modality or _guess_modality(self.table_path)
        rows = (
            load_video_id_mapping(mapping)
            if isinstance(mapping, (str, Path))
            else {str(k): int(v) for k, v in mapping.items()}
        )
        n_rows = self._table.shape[0]
        self._rows: dict[tuple[str, int], int] = {}
        for name, row in rows.items():
            match = _KEY_PATTERN.fullmatch(name)
            if match is None:
                raise FeatureError(f"mapping key {name!r} is not of the form 'dia<conv>utt<utt>'")
            if not 1 <= row < n_rows:
                raise FeatureError(
                    f"{self.table_path}: mapping sends {name} to row {row}, but the table has "
                    f"{n_rows} rows; official tables have row 0 as padding and utterance rows "
                    f"1..{len(rows)} (shape [{len(rows) + 1}, dim])"
                )
            self._rows[(str(int(match.group(1))), int(match.group(2)))] = row

    @property
    def dim(self) -> int:
        return int(self._table.shape[1])

    @property
    def modality(self) -> str:
        return self._modality

    def keys(self) -> list[tuple[str, int]]:
        """``(conversation number as str, utterance index)`` of every mapped utterance."""
        return list(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and len(key) == 2 and self._lookup(*key) is not None

    def _lookup(self, conversation_id: str | int, utterance_index: int) -> int | None:
        number = ecf_conversation_number(conversation_id)
        if number is None:
            return None
        return self._rows.get((str(number), int(utterance_index)))

    def row(self, conversation_id: str | int, utterance_index: int) -> int | None:
        """The table row of an utterance (``None`` when not mapped)."""
        return self._lookup(conversation_id, utterance_index)

    def get(self, conversation_id: str, utterance_index: int) -> np.ndarray | None:
        row = self._lookup(conversation_id, utterance_index)
        return None if row is None else np.array(self._table[row], dtype=np.float32)

    def statistics(
        self, keys: Iterable[tuple[str, int]] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` over the rows of ``keys`` (all mapped utterances when ``None``)."""
        if keys is None:
            rows = sorted(self._rows.values())
        else:
            rows = sorted({r for k in keys if (r := self._lookup(*k)) is not None})
        chunks = (self._table[rows[i : i + 1024]] for i in range(0, len(rows), 1024))
        return running_statistics(chunks, self.dim, where=str(self.table_path))

    def to_store(self, path: str | Path, shard_size: int = 2048) -> FeatureStore:
        """Copy into a :class:`FeatureStore` (keys ``(str(conversation number), utterance)``)."""
        info = ExtractorInfo(
            name=f"ecf-official-{self.table_path.stem}",
            settings={"table": self.table_path.name, "rows": len(self._table)},
            versions={"numpy": np.__version__},
        )
        writer = FeatureStoreWriter(
            path, modality=self.modality, dim=self.dim, extractor=info, shard_size=shard_size
        )
        writer.record_media(self.table_path.name, file_sha256(self.table_path))
        for (conversation, utterance), row in sorted(
            self._rows.items(), key=lambda kv: (int(kv[0][0]), kv[0][1])
        ):
            if (conversation, utterance) not in writer:
                writer.add(conversation, utterance, self._table[row])
        return writer.close()


def modality_from_name(path: str | Path) -> str | None:
    """The modality an official table's file name says (``audio_embedding_6373.npy``)."""
    name = Path(path).name.lower()
    if "audio" in name:
        return "audio"
    if "video" in name or "visual" in name:
        return "visual"
    return None


def _guess_modality(path: Path) -> str:
    modality = modality_from_name(path)
    if modality is None:
        raise FeatureError(
            f"{path}: cannot tell the modality from the file name; pass "
            "modality='audio' or 'visual'"
        )
    return modality
