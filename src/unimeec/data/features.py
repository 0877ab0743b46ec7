"""``open_features``: any supported source of per-utterance feature vectors, by path.

Why above both formats: training (``data.features``), ``unimeec test`` / ``predict``
(``--features``) and :class:`~unimeec.predict.Predictor` accept either of our feature stores
or an official ECF ``.npy`` table, and this is the one place that tells them apart, so
neither format module needs the other.
"""

from __future__ import annotations

from pathlib import Path

from unimeec.data.ecf_features import EcfFeatures, modality_from_name
from unimeec.data.feature_store import FeatureStore
from unimeec.data.modalities import FeatureLookup
from unimeec.errors import FeatureError

#: The row mapping the MECPE authors ship beside their tables.
ECF_MAPPING_FILE = "video_id_mapping.npy"


def open_features(
    path: str | Path,
    *,
    modality: str | None = None,
    expected_dim: int | None = None,
    mapping: str | Path | None = None,
) -> FeatureLookup:
    """Open a feature source as a :class:`~unimeec.data.modalities.FeatureLookup`.

    A directory is a :class:`FeatureStore` (which must hold ``modality`` when given); a
    ``.npy`` file is an official ECF embedding table (:class:`EcfFeatures`), whose row
    mapping is ``mapping`` or ``video_id_mapping.npy`` beside it, and whose file name must
    not say another modality than ``modality``.
    """
    path = Path(path)
    if path.is_dir():
        return FeatureStore.open(path, expected_dim=expected_dim, modality=modality)
    if path.suffix == ".npy":
        named = modality_from_name(path)
        if modality is not None and named is not None and named != modality:
            raise FeatureError(
                f"{path}: the file name says {named} features, configured as {modality}"
            )
        lookup = EcfFeatures(
            path,
            mapping if mapping is not None else path.with_name(ECF_MAPPING_FILE),
            modality=modality,
        )
        if expected_dim is not None and lookup.dim != expected_dim:
            raise FeatureError(
                f"{path}: features have dimension {lookup.dim}, expected {expected_dim}"
            )
        return lookup
    raise FeatureError(f"{path}: neither a feature store directory nor an ECF .npy table")
