"""Feature stores: per-utterance feature vectors keyed by (conversation id, utterance index).

Why: peer projects ship features as pickled positional arrays with no record of how they
were made. A store is a directory of safetensors shards (one float32 matrix ``features``
each, memory-mapped when read) and a human-readable ``index.json`` that maps every key to
its row and records the extractor, its settings, library versions and the SHA-256 of each
input media file. Nothing is pickled. An utterance whose features could not be made (no
face in any frame, say) gets an explicit *missing* record with the reason, which is not the
same as a key that was never extracted.

Layout::

    STORE/
      index.json              # see FeatureStore / README "Feature stores"
      shard-00000.safetensors # tensor "features": float32 [rows, dim]
      shard-00001.safetensors
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from unimeec.data.modalities import MODALITIES
from unimeec.errors import FeatureError
from unimeec.hashing import file_sha256

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "ExtractorInfo",
    "FeatureStore",
    "FeatureStoreWriter",
    "file_sha256",
    "running_statistics",
]

log = logging.getLogger(__name__)

INDEX_FILE = "index.json"
STORE_FORMAT = "unimeec-feature-store"
STORE_FORMAT_VERSION = 1
TENSOR_NAME = "features"

Key = tuple[str, int]


@dataclass(frozen=True)
class ExtractorInfo:
    """How a store's vectors were made; stores with different name or settings never mix."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "settings": self.settings, "versions": self.versions}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ExtractorInfo:
        return cls(
            name=str(raw["name"]),
            settings=dict(raw.get("settings", {})),
            versions={str(k): str(v) for k, v in raw.get("versions", {}).items()},
        )


def _key(conversation_id: str | int, utterance_index: int) -> Key:
    return (str(conversation_id), int(utterance_index))


def _shard_name(number: int) -> str:
    return f"shard-{number:05d}.safetensors"


def _read_index(path: Path) -> dict[str, Any]:
    index_path = path / INDEX_FILE
    if not index_path.is_file():
        raise FeatureError(f"{path}: not a feature store (no {INDEX_FILE})")
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise FeatureError(f"{index_path}:{err.lineno}: invalid JSON ({err.msg})") from err
    if not isinstance(index, dict) or index.get("format") != STORE_FORMAT:
        raise FeatureError(f"{index_path}: not a {STORE_FORMAT} index")
    if index.get("format_version") != STORE_FORMAT_VERSION:
        raise FeatureError(
            f"{index_path}: format version {index.get('format_version')!r}; this "
            f"unimeec reads version {STORE_FORMAT_VERSION}"
        )
    for name in ("modality", "dim", "extractor", "shards", "records"):
        if name not in index:
            raise FeatureError(f"{index_path}: missing field {name!r}")
    return index


def _parse_records(index: Mapping[str, Any], where: Path) -> dict[Key, dict[str, Any]]:
    records: dict[Key, dict[str, Any]] = {}
    n_shards = len(index["shards"])
    for position, record in enumerate(index["records"]):
        try:
            key = _key(record["conversation"], record["utterance"])
            if "missing" not in record and not 0 <= int(record["shard"]) < n_shards:
                raise ValueError(f"shard {record['shard']} does not exist")
        except (KeyError, TypeError, ValueError) as err:
            raise FeatureError(f"{where / INDEX_FILE}: record {position}: {err}") from err
        if key in records:
            raise FeatureError(f"{where / INDEX_FILE}: record {position}: duplicate key {key}")
        records[key] = record
    return records


class FeatureStore:
    """Read-only, memory-mapped view of a feature store (implements
    :class:`~unimeec.data.modalities.FeatureLookup`).

    ``get`` returns the raw float32 vector, or ``None`` when the utterance is missing (a
    *missing* record) or was never extracted (an absent key); :meth:`missing_reason` and
    ``in`` tell the two apart.
    """

    def __init__(self, path: str | Path, index: dict[str, Any]) -> None:
        self.path = Path(path)
        self._index = index
        self._records = _parse_records(index, self.path)
        self._handles: dict[int, Any] = {}

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls, path: str | Path, *, expected_dim: int | None = None, modality: str | None = None
    ) -> FeatureStore:
        """Open the store at ``path``; check its dimension/modality when given."""
        path = Path(path)
        store = cls(path, _read_index(path))
        if expected_dim is not None and store.dim != expected_dim:
            raise FeatureError(
                f"{path}: features have dimension {store.dim}, expected {expected_dim}"
            )
        if modality is not None and store.modality != modality:
            raise FeatureError(f"{path}: holds {store.modality} features, expected {modality}")
        highest_row: dict[int, tuple[int, Key]] = {}
        for key, record in store._records.items():
            if "missing" not in record:
                shard_number, row = int(record["shard"]), int(record["row"])
                if row < 0:
                    raise FeatureError(f"{path}: key {key} has a negative row {row}")
                if row >= highest_row.get(shard_number, (-1, key))[0]:
                    highest_row[shard_number] = (row, key)
        for number, name in enumerate(store._index["shards"]):
            shard = path / name
            if not shard.is_file():
                raise FeatureError(f"{path}: shard {name} listed in {INDEX_FILE} is missing")
            with safe_open(str(shard), framework="numpy") as handle:
                shape = handle.get_slice(TENSOR_NAME).get_shape()
            if len(shape) != 2 or shape[1] != store.dim:
                raise FeatureError(
                    f"{shard}: tensor shape {list(shape)}, index says dimension {store.dim}"
                )
            row, key = highest_row.get(number, (-1, ("", 0)))
            if row >= shape[0]:
                raise FeatureError(
                    f"{path}: key {key} points at row {row} of {name}, which has {shape[0]} rows"
                )
        return store

    # ------------------------------------------------------------------ metadata
    @property
    def dim(self) -> int:
        return int(self._index["dim"])

    @property
    def modality(self) -> str:
        return str(self._index["modality"])

    @property
    def extractor(self) -> ExtractorInfo:
        return ExtractorInfo.from_dict(self._index["extractor"])

    @property
    def media(self) -> dict[str, str]:
        """SHA-256 of each input media file, by the name the manifest used."""
        return dict(self._index.get("media", {}))

    def keys(self) -> list[Key]:
        """Every recorded key, with features or marked missing, in writing order."""
        return list(self._records)

    def missing_keys(self) -> list[Key]:
        return [k for k, r in self._records.items() if "missing" in r]

    def missing_reason(self, conversation_id: str, utterance_index: int) -> str | None:
        """Why a recorded utterance has no features; ``None`` if it has some or is absent."""
        record = self._records.get(_key(conversation_id, utterance_index))
        return None if record is None else record.get("missing")

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        return _key(*key) in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._records)

    def __repr__(self) -> str:
        return (
            f"FeatureStore({str(self.path)!r}, modality={self.modality!r}, dim={self.dim}, "
            f"keys={len(self)}, missing={len(self.missing_keys())})"
        )

    # ------------------------------------------------------------------ reading
    def _shard(self, number: int) -> Any:
        handle = self._handles.get(number)
        if handle is None:
            handle = safe_open(str(self.path / self._index["shards"][number]), framework="numpy")
            self._handles[number] = handle
        return handle

    def get(self, conversation_id: str, utterance_index: int) -> np.ndarray | None:
        """The raw ``float32 [dim]`` vector, or ``None`` (missing record or absent key)."""
        record = self._records.get(_key(conversation_id, utterance_index))
        if record is None or "missing" in record:
            return None
        row = int(record["row"])
        return self._shard(int(record["shard"])).get_slice(TENSOR_NAME)[row : row + 1][0]

    def statistics(
        self, keys: Iterable[tuple[str, int]] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-dimension ``(mean, std)`` over the vectors of ``keys`` (all when ``None``).

        Meant for standardising with training-split statistics: pass the training keys.
        Keys without a vector are skipped; ``std`` is the population standard deviation with
        zeros replaced by 1, so constant dimensions pass through standardisation unchanged.
        """
        wanted = None if keys is None else {_key(*k) for k in keys}
        rows_by_shard: dict[int, list[int]] = {}
        for key, record in self._records.items():
            if "missing" in record or (wanted is not None and key not in wanted):
                continue
            rows_by_shard.setdefault(int(record["shard"]), []).append(int(record["row"]))
        chunks = (
            self._shard(s).get_tensor(TENSOR_NAME)[sorted(rows)]
            for s, rows in sorted(rows_by_shard.items())
        )
        return running_statistics(chunks, self.dim, where=str(self.path))

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        """Drop open shard handles so the store can go to DataLoader worker processes."""
        state = dict(self.__dict__)
        state["_handles"] = {}
        return state


def running_statistics(
    chunks: Iterable[np.ndarray], dim: int, *, where: str = "features"
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std over row chunks, merged chunk by chunk (Chan et al.)."""
    count = 0
    mean = np.zeros(dim, dtype=np.float64)
    m2 = np.zeros(dim, dtype=np.float64)
    for chunk in chunks:
        block = np.asarray(chunk, dtype=np.float64).reshape(-1, dim)
        n = block.shape[0]
        if n == 0:
            continue
        block_mean = block.mean(axis=0)
        block_m2 = ((block - block_mean) ** 2).sum(axis=0)
        delta = block_mean - mean
        total = count + n
        mean = mean + delta * (n / total)
        m2 = m2 + block_m2 + delta**2 * (count * n / total)
        count = total
    if count == 0:
        raise FeatureError(f"{where}: no feature vectors among the given keys")
    std = np.sqrt(m2 / count)
    std[std == 0] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


class FeatureStoreWriter:
    """Append vectors to a new or existing store; resumable and crash-safe.

    Rows are buffered and written as a new shard every ``shard_size`` rows; the index is
    rewritten atomically after each shard, so an interrupted run loses at most the buffered
    rows, and a rerun skips every key already recorded (``key in writer``). Reopening with a
    different modality, dimension, extractor name or settings is an error, so one store never
    mixes two kinds of vectors.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        modality: str,
        dim: int,
        extractor: ExtractorInfo,
        shard_size: int = 2048,
    ) -> None:
        if modality not in MODALITIES:
            raise FeatureError(
                f"unknown modality {modality!r}; expected one of {', '.join(MODALITIES)}"
            )
        if dim < 1:
            raise FeatureError(f"feature dimension must be >= 1, got {dim}")
        self.path = Path(path)
        self.shard_size = shard_size
        if (self.path / INDEX_FILE).is_file():
            index = _read_index(self.path)
            self._check_compatible(index, modality, dim, extractor)
            index["extractor"]["versions"] = extractor.versions
        else:
            if self.path.exists() and any(self.path.iterdir()):
                raise FeatureError(f"{self.path}: exists, is not empty and is not a feature store")
            index = {
                "format": STORE_FORMAT,
                "format_version": STORE_FORMAT_VERSION,
                "modality": modality,
                "dim": dim,
                "dtype": "float32",
                "extractor": extractor.to_dict(),
                "shards": [],
                "media": {},
                "records": [],
            }
        self._index = index
        self._records = _parse_records(index, self.path)
        self._pending_rows: list[np.ndarray] = []
        self._pending_records: list[dict[str, Any]] = []
        self.dim = dim
        self.modality = modality

    def _check_compatible(
        self, index: Mapping[str, Any], modality: str, dim: int, extractor: ExtractorInfo
    ) -> None:
        old = ExtractorInfo.from_dict(index["extractor"])
        problems = []
        if index["modality"] != modality:
            problems.append(f"modality {index['modality']!r} (now {modality!r})")
        if int(index["dim"]) != dim:
            problems.append(f"dimension {index['dim']} (now {dim})")
        if old.name != extractor.name:
            problems.append(f"extractor {old.name!r} (now {extractor.name!r})")
        if json.dumps(old.settings, sort_keys=True) != json.dumps(
            extractor.settings, sort_keys=True
        ):
            problems.append(f"settings {old.settings} (now {extractor.settings})")
        if problems:
            raise FeatureError(
                f"{self.path}: cannot resume, the store was written with "
                f"{'; '.join(problems)}; write to a new store"
            )

    # ------------------------------------------------------------------ writing
    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and len(key) == 2 and _key(*key) in self._records

    def record(self, conversation_id: str, utterance_index: int) -> dict[str, Any] | None:
        """The index record of a key (``None`` when absent); ``"missing"`` marks a failure."""
        return self._records.get(_key(conversation_id, utterance_index))

    def media_sha256(self, name: str) -> str | None:
        """The SHA-256 recorded for a media name, if any."""
        return self._index.get("media", {}).get(name)

    def keys_with_media(self, name: str) -> list[Key]:
        """Every recorded key whose features came from media ``name``."""
        return [k for k, r in self._records.items() if r.get("media") == name]

    def forget(self, keys: Iterable[tuple[str, int]]) -> int:
        """Drop the records of ``keys`` so they can be extracted again; return how many.

        Why: a resumed extraction retries failed utterances and redoes those whose media
        changed. The rows the dropped records pointed at stay in their shards, unreferenced
        (shards are immutable; the space is not reclaimed).
        """
        drop = {_key(*k) for k in keys} & self._records.keys()
        if not drop:
            return 0
        for key in drop:
            del self._records[key]

        def kept(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [r for r in records if _key(r["conversation"], r["utterance"]) not in drop]

        self._index["records"] = kept(self._index["records"])
        self._pending_records = kept(self._pending_records)
        return len(drop)

    def record_media(self, name: str, sha256: str, *, replace: bool = False) -> None:
        """Remember an input's hash; a changed file under a recorded name is an error unless
        ``replace`` (the caller has forgotten every key extracted from the old file)."""
        media = self._index.setdefault("media", {})
        if not replace and media.get(name, sha256) != sha256:
            raise FeatureError(
                f"{self.path}: media file {name} changed since features were "
                f"extracted from it (SHA-256 {media[name][:12]}... now "
                f"{sha256[:12]}...); write to a new store"
            )
        media[name] = sha256

    def add(
        self,
        conversation_id: str,
        utterance_index: int,
        vector: np.ndarray,
        media: str | None = None,
    ) -> None:
        """Store one utterance's vector (float32, shape ``[dim]``)."""
        key = self._new_key(conversation_id, utterance_index)
        array = np.asarray(vector, dtype=np.float32)
        if array.shape != (self.dim,):
            raise FeatureError(
                f"{self.path}: conversation {key[0]}, utterance {key[1]}: vector "
                f"of shape {list(array.shape)}, the store holds dimension "
                f"{self.dim}"
            )
        if not np.isfinite(array).all():
            raise FeatureError(
                f"{self.path}: conversation {key[0]}, utterance {key[1]}: vector "
                "has NaN or infinite values"
            )
        record: dict[str, Any] = {
            "conversation": key[0],
            "utterance": key[1],
            "shard": len(self._index["shards"]),
            "row": len(self._pending_rows),
        }
        if media is not None:
            record["media"] = media
        self._pending_rows.append(array)
        self._remember(key, record)
        if len(self._pending_rows) >= self.shard_size:
            self.flush()

    def add_missing(
        self, conversation_id: str, utterance_index: int, reason: str, media: str | None = None
    ) -> None:
        """Record that this utterance has no features, and why (never a zero vector)."""
        key = self._new_key(conversation_id, utterance_index)
        record: dict[str, Any] = {"conversation": key[0], "utterance": key[1], "missing": reason}
        if media is not None:
            record["media"] = media
        self._remember(key, record)

    def _new_key(self, conversation_id: str, utterance_index: int) -> Key:
        key = _key(conversation_id, utterance_index)
        if key in self._records:
            raise FeatureError(
                f"{self.path}: conversation {key[0]}, utterance {key[1]} is already in the store"
            )
        return key

    def _remember(self, key: Key, record: dict[str, Any]) -> None:
        self._records[key] = record
        self._pending_records.append(record)

    def flush(self) -> None:
        """Write buffered rows as a new shard and the index atomically."""
        self.path.mkdir(parents=True, exist_ok=True)
        if self._pending_rows:
            name = _shard_name(len(self._index["shards"]))
            tmp = self.path / f".{name}.tmp"
            save_file(
                {TENSOR_NAME: np.stack(self._pending_rows)},
                str(tmp),
                metadata={"format": STORE_FORMAT, "modality": self.modality},
            )
            os.replace(tmp, self.path / name)
            self._index["shards"].append(name)
            self._pending_rows = []
        self._index["records"].extend(self._pending_records)
        self._pending_records = []
        tmp_index = self.path / f".{INDEX_FILE}.tmp"
        tmp_index.write_text(
            json.dumps(self._index, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        os.replace(tmp_index, self.path / INDEX_FILE)

    def close(self) -> FeatureStore:
        """Flush and return the finished store, opened for reading."""
        self.flush()
        return FeatureStore.open(self.path)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()  # keep what was extracted before an error, so a rerun resumes
