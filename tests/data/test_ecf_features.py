"""The official ECF feature tables: row mapping convention, lookups, conversion to a store."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from unimeec.data.ecf_features import EcfFeatures, ecf_conversation_number, load_video_id_mapping
from unimeec.data.feature_store import FeatureStore
from unimeec.data.features import open_features
from unimeec.data.modalities import FeatureLookup
from unimeec.errors import FeatureError

#: Three ECF conversations: dia1 (2 utterances), dia2 (1), dia10 (2); rows 1..5, row 0 padding.
MAPPING = {"dia1utt1": 1, "dia1utt2": 2, "dia2utt1": 3, "dia10utt1": 4, "dia10utt2": 5}


def _official_layout(folder: Path, dim: int = 4, rows: int = 6) -> tuple[Path, np.ndarray]:
    """Files named and shaped as the MECPE authors distribute them (a 0-d pickled dict mapping)."""
    table = np.arange(rows * dim, dtype=np.float32).reshape(rows, dim) / 10
    table[0] = 0.0  # padding row
    np.save(folder / f"audio_embedding_{dim}.npy", table)
    np.save(folder / "video_id_mapping.npy", np.array(MAPPING, dtype=object), allow_pickle=True)
    return folder / f"audio_embedding_{dim}.npy", table


def test_the_real_mapping_uses_one_based_rows_with_row_zero_as_padding(shared_data: Path) -> None:
    mapping = load_video_id_mapping(shared_data / "ecf1" / "video_id_mapping.npy")
    assert len(mapping) == 13619
    assert mapping["dia1utt1"] == 1 and mapping["dia1utt2"] == 2
    assert sorted(mapping.values()) == list(range(1, 13620))  # row 0 is never an utterance
    # every ECF utterance (all_data_pair.txt) has a row, and nothing else does
    expected = set()
    lines = (shared_data / "ecf1" / "all_data_pair.txt").read_text(encoding="utf-8").splitlines()
    for line in lines:
        header = re.fullmatch(r"(\d+) (\d+)", line.strip())
        if header:
            expected |= {f"dia{header[1]}utt{u}" for u in range(1, int(header[2]) + 1)}
    assert set(mapping) == expected and len(expected) == 13619


def test_real_mapping_against_tables_of_official_and_wrong_shape(
    shared_data: Path, tmp_path: Path
) -> None:
    mapping_path = shared_data / "ecf1" / "video_id_mapping.npy"
    table = np.zeros((13620, 2), dtype=np.float32)
    table[:, 0] = np.arange(13620)
    np.save(tmp_path / "video_embedding_2.npy", table)
    features = EcfFeatures(tmp_path / "video_embedding_2.npy", mapping_path)
    assert (features.dim, features.modality, len(features)) == (2, "visual", 13619)
    assert features.get("1", 1).tolist() == [1.0, 0.0]
    assert features.get("1374", 1)[0] == features.row("1374", 1)
    np.save(tmp_path / "video_embedding_short.npy", table[1:])  # no padding row: off by one
    with pytest.raises(
        FeatureError,
        match=r"has 13619 rows; official tables have row 0 as "
        r"padding and utterance rows 1..13619",
    ):
        EcfFeatures(tmp_path / "video_embedding_short.npy", mapping_path)


def test_lookup_on_official_layout(tmp_path: Path) -> None:
    table_path, table = _official_layout(tmp_path)
    features = open_features(table_path)  # the mapping is found beside the table
    assert isinstance(features, EcfFeatures) and isinstance(features, FeatureLookup)
    assert (features.dim, features.modality) == (4, "audio")
    assert features.get("1", 2).tolist() == table[2].tolist()
    assert features.get("10", 2).tolist() == table[5].tolist()
    assert features.get("ecf1_10", 1).tolist() == table[4].tolist()  # prefixed ids work
    assert features.get("1", 3) is None and features.get("7", 1) is None
    assert features.get("no-number", 1) is None
    assert sorted(features.keys()) == [("1", 1), ("1", 2), ("10", 1), ("10", 2), ("2", 1)]
    assert ("2", 1) in features and ("2", 2) not in features
    mean, std = features.statistics([("1", 1), ("2", 1), ("3", 3)])
    np.testing.assert_allclose(mean, (table[1] + table[3]) / 2, rtol=1e-6)
    np.testing.assert_allclose(std, np.abs(table[1] - table[3]) / 2, rtol=1e-6)
    with pytest.raises(FeatureError, match="dimension 4, expected 6373"):
        open_features(table_path, expected_dim=6373)


def test_conversion_to_a_store(tmp_path: Path) -> None:
    table_path, table = _official_layout(tmp_path)
    store = EcfFeatures(table_path, tmp_path / "video_id_mapping.npy").to_store(tmp_path / "st")
    reopened = FeatureStore.open(tmp_path / "st")
    assert (reopened.dim, reopened.modality, len(reopened)) == (4, "audio", 5)
    assert reopened.keys() == [("1", 1), ("1", 2), ("2", 1), ("10", 1), ("10", 2)]
    for (conv, utt), row in [(("1", 1), 1), (("2", 1), 3), (("10", 2), 5)]:
        assert store.get(conv, utt).tolist() == table[row].tolist()
    assert reopened.extractor.name == "ecf-official-audio_embedding_4"
    assert list(reopened.media) == ["audio_embedding_4.npy"]
    np.testing.assert_allclose(reopened.statistics()[0], table[1:].mean(0), rtol=1e-6)


def test_mapping_as_json_and_conversation_numbers(tmp_path: Path) -> None:
    (tmp_path / "map.json").write_text('{"dia3utt1": 1}')
    assert load_video_id_mapping(tmp_path / "map.json") == {"dia3utt1": 1}
    assert ecf_conversation_number("12") == 12 and ecf_conversation_number(7) == 7
    assert ecf_conversation_number("ecf1-12") == 12 and ecf_conversation_number("abc") is None


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_mapping_pickles_cannot_run_code(tmp_path: Path) -> None:
    evil = tmp_path / "video_id_mapping.npy"
    with open(evil, "wb") as handle:
        np.lib.format.write_array_header_1_0(
            handle, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        pickle.dump({"dia1utt1": _Evil()}, handle)
    with pytest.raises(FeatureError, match="refusing to load posix.system"):
        load_video_id_mapping(evil)


def test_bad_inputs_are_reported(tmp_path: Path) -> None:
    np.save(tmp_path / "map.npy", np.array({"utt1": 1}, dtype=object), allow_pickle=True)
    with pytest.raises(FeatureError, match="key 'utt1' is not of the form 'dia<conv>utt<utt>'"):
        load_video_id_mapping(tmp_path / "map.npy")
    np.save(tmp_path / "rows.npy", np.arange(3))
    with pytest.raises(FeatureError, match="expected a 0-d object array holding a dict"):
        load_video_id_mapping(tmp_path / "rows.npy")
    np.save(tmp_path / "feats.npy", np.zeros((3, 2)))
    with pytest.raises(FeatureError, match="cannot tell the modality"):
        EcfFeatures(tmp_path / "feats.npy", {"dia1utt1": 1})
    np.save(tmp_path / "audio_3d.npy", np.zeros((3, 2, 2)))
    with pytest.raises(FeatureError, match=r"expected a 2-D table, got shape \[3, 2, 2\]"):
        EcfFeatures(tmp_path / "audio_3d.npy", {"dia1utt1": 1})
    with pytest.raises(FeatureError, match="ECF row mapping not found"):
        load_video_id_mapping(tmp_path / "absent.npy")
