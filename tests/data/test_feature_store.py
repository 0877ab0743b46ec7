"""Feature stores: layout, round trips, missing vs absent, statistics, resuming, errors."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from unimeec.data.feature_store import ExtractorInfo, FeatureStore, FeatureStoreWriter, file_sha256
from unimeec.data.features import open_features
from unimeec.data.modalities import FeatureLookup
from unimeec.errors import FeatureError

INFO = ExtractorInfo(name="toy", settings={"k": 1}, versions={"toy": "0.1"})
VECTORS = {("1", 1): [1.0, 2.0, 0.0], ("1", 2): [3.0, 2.0, 0.0], ("2", 1): [5.0, 2.0, 0.0]}


def _write(path, shard_size=2):
    with FeatureStoreWriter(
        path, modality="audio", dim=3, extractor=INFO, shard_size=shard_size
    ) as writer:
        for (conv, utt), vector in VECTORS.items():
            writer.add(conv, utt, np.array(vector), media=f"dia{conv}.wav")
        writer.add_missing("2", 2, "no face detected in 8 sampled frames", media="dia2.wav")
        writer.record_media("dia1.wav", "a" * 64)
    return FeatureStore.open(path)


def test_layout_and_round_trip(tmp_path) -> None:
    store = _write(tmp_path / "store")
    files = sorted(p.name for p in (tmp_path / "store").iterdir())
    assert files == ["index.json", "shard-00000.safetensors", "shard-00001.safetensors"]
    index = json.loads((tmp_path / "store" / "index.json").read_text())
    assert index["format"] == "unimeec-feature-store" and index["format_version"] == 1
    assert (index["modality"], index["dim"], index["dtype"]) == ("audio", 3, "float32")
    assert index["extractor"] == {"name": "toy", "settings": {"k": 1}, "versions": {"toy": "0.1"}}
    assert index["shards"] == ["shard-00000.safetensors", "shard-00001.safetensors"]
    assert index["media"] == {"dia1.wav": "a" * 64}
    assert index["records"][0] == {
        "conversation": "1",
        "utterance": 1,
        "shard": 0,
        "row": 0,
        "media": "dia1.wav",
    }
    assert index["records"][2] == {
        "conversation": "2",
        "utterance": 1,
        "shard": 1,
        "row": 0,
        "media": "dia2.wav",
    }
    assert index["records"][3]["missing"] == "no face detected in 8 sampled frames"
    # shards are plain safetensors with one float32 matrix each
    assert load_file(str(tmp_path / "store" / "shard-00000.safetensors"))["features"].tolist() == [
        [1.0, 2.0, 0.0],
        [3.0, 2.0, 0.0],
    ]

    assert isinstance(store, FeatureLookup)
    assert (store.dim, store.modality, len(store)) == (3, "audio", 4)
    assert store.keys() == [("1", 1), ("1", 2), ("2", 1), ("2", 2)]
    for (conv, utt), vector in VECTORS.items():
        got = store.get(conv, utt)
        assert got.dtype == np.float32 and got.tolist() == vector
    assert store.get(2, 1).tolist() == VECTORS[("2", 1)]  # integer ids are the same key


def test_missing_is_not_absent(tmp_path) -> None:
    store = _write(tmp_path / "store")
    assert store.get("2", 2) is None and ("2", 2) in store
    assert store.missing_reason("2", 2) == "no face detected in 8 sampled frames"
    assert store.missing_keys() == [("2", 2)]
    assert store.get("3", 1) is None and ("3", 1) not in store
    assert store.missing_reason("3", 1) is None and store.missing_reason("1", 1) is None


def test_statistics_by_hand(tmp_path) -> None:
    store = _write(tmp_path / "store")
    mean, std = store.statistics()
    np.testing.assert_allclose(mean, [3.0, 2.0, 0.0])
    # population std of (1, 3, 5) is sqrt(8/3); constant dimensions get std 1
    np.testing.assert_allclose(std, [np.sqrt(8 / 3), 1.0, 1.0], rtol=1e-6)
    mean, std = store.statistics([("1", 1), ("1", 2), ("2", 2), ("9", 9)])  # missing/absent skipped
    np.testing.assert_allclose(mean, [2.0, 2.0, 0.0])
    np.testing.assert_allclose(std, [1.0, 1.0, 1.0])
    with pytest.raises(FeatureError, match="no feature vectors"):
        store.statistics([("2", 2)])


def test_statistics_merge_over_shards_matches_numpy(tmp_path) -> None:
    rng = np.random.default_rng(1)
    rows = rng.normal(1000.0, 3.0, size=(23, 5)).astype(np.float32)
    with FeatureStoreWriter(
        tmp_path / "s", modality="visual", dim=5, extractor=INFO, shard_size=4
    ) as writer:
        for k, row in enumerate(rows):
            writer.add("c", k + 1, row)
    store = FeatureStore.open(tmp_path / "s")
    assert len(store._index["shards"]) == 6
    mean, std = store.statistics()
    np.testing.assert_allclose(mean, rows.astype(np.float64).mean(0), rtol=1e-6)
    np.testing.assert_allclose(std, rows.astype(np.float64).std(0), rtol=1e-4)
    train = [("c", k) for k in range(3, 15)]
    mean, _ = store.statistics(train)
    np.testing.assert_allclose(mean, rows[2:14].astype(np.float64).mean(0), rtol=1e-6)


def test_wrong_dimension_is_an_error(tmp_path) -> None:
    writer = FeatureStoreWriter(tmp_path / "s", modality="audio", dim=3, extractor=INFO)
    with pytest.raises(
        FeatureError,
        match=r"conversation 1, utterance 1: vector of shape \[4\], "
        r"the store holds dimension 3",
    ):
        writer.add("1", 1, np.zeros(4))
    with pytest.raises(FeatureError, match="NaN"):
        writer.add("1", 1, np.array([0.0, np.nan, 1.0]))
    writer.add("1", 1, np.zeros(3))
    writer.close()
    with pytest.raises(FeatureError, match="dimension 3, expected 6373"):
        FeatureStore.open(tmp_path / "s", expected_dim=6373)
    with pytest.raises(FeatureError, match="holds audio features, expected visual"):
        FeatureStore.open(tmp_path / "s", modality="visual")
    # a shard whose matrix disagrees with the index
    save_file(
        {"features": np.zeros((1, 5), dtype=np.float32)},
        str(tmp_path / "s" / "shard-00000.safetensors"),
    )
    with pytest.raises(FeatureError, match=r"tensor shape \[1, 5\], index says dimension 3"):
        FeatureStore.open(tmp_path / "s")


def test_resume_skips_done_keys_and_refuses_other_settings(tmp_path) -> None:
    path = tmp_path / "s"
    # an interrupted run keeps what it wrote
    with (
        pytest.raises(RuntimeError),
        FeatureStoreWriter(path, modality="audio", dim=3, extractor=INFO) as writer,
    ):
        writer.add("1", 1, np.ones(3))
        raise RuntimeError("killed")
    newer = ExtractorInfo(name="toy", settings={"k": 1}, versions={"toy": "0.2"})
    writer = FeatureStoreWriter(path, modality="audio", dim=3, extractor=newer)
    assert ("1", 1) in writer and ("1", 2) not in writer
    with pytest.raises(FeatureError, match="already in the store"):
        writer.add("1", 1, np.ones(3))
    writer.add("1", 2, np.full(3, 2.0))
    store = writer.close()
    assert store.get("1", 1).tolist() == [1.0] * 3 and store.get("1", 2).tolist() == [2.0] * 3
    assert store.extractor.versions == {"toy": "0.2"}
    other = ExtractorInfo(name="toy", settings={"k": 2})
    with pytest.raises(
        FeatureError, match=r"cannot resume.*settings \{'k': 1\} \(now \{'k': 2\}\)"
    ):
        FeatureStoreWriter(path, modality="audio", dim=3, extractor=other)
    with pytest.raises(FeatureError, match=r"dimension 3 \(now 4\)"):
        FeatureStoreWriter(path, modality="audio", dim=4, extractor=INFO)


def test_changed_media_file_is_detected(tmp_path) -> None:
    writer = FeatureStoreWriter(tmp_path / "s", modality="audio", dim=1, extractor=INFO)
    writer.record_media("a.wav", "0" * 64)
    writer.record_media("a.wav", "0" * 64)
    with pytest.raises(FeatureError, match="media file a.wav changed"):
        writer.record_media("a.wav", "1" * 64)


def test_file_sha256(tmp_path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    assert file_sha256(tmp_path / "f") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_store_survives_pickling_for_dataloader_workers(tmp_path) -> None:
    store = _write(tmp_path / "store")
    assert store.get("1", 2) is not None  # opens a shard handle
    clone = pickle.loads(pickle.dumps(store))
    assert clone.get("1", 2).tolist() == VECTORS[("1", 2)]


def test_bad_stores_are_reported(tmp_path) -> None:
    with pytest.raises(FeatureError, match="not a feature store"):
        FeatureStore.open(tmp_path)
    (tmp_path / "index.json").write_text("{oops")
    with pytest.raises(FeatureError, match=r"index.json:1: invalid JSON"):
        FeatureStore.open(tmp_path)
    store = _write(tmp_path / "s")
    (tmp_path / "s" / "shard-00001.safetensors").unlink()
    with pytest.raises(
        FeatureError, match="shard shard-00001.safetensors listed in index.json is missing"
    ):
        FeatureStore.open(tmp_path / "s")
    assert store.dim == 3
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.txt").write_text("x")
    with pytest.raises(FeatureError, match="not empty and is not a feature store"):
        FeatureStoreWriter(tmp_path / "junk", modality="audio", dim=1, extractor=INFO)
    with pytest.raises(FeatureError, match="unknown modality 'smell'"):
        FeatureStoreWriter(tmp_path / "new", modality="smell", dim=1, extractor=INFO)


def test_open_features_dispatches_on_path(tmp_path) -> None:
    _write(tmp_path / "store")
    assert isinstance(open_features(tmp_path / "store", expected_dim=3), FeatureStore)
    with pytest.raises(FeatureError, match="neither a feature store directory nor an ECF"):
        open_features(tmp_path / "features.csv")


def test_index_pointing_past_a_shard_is_reported(tmp_path) -> None:
    _write(tmp_path / "s")
    index_path = tmp_path / "s" / "index.json"
    index = json.loads(index_path.read_text())
    index["records"][1]["row"] = 7
    index_path.write_text(json.dumps(index))
    with pytest.raises(
        FeatureError,
        match=r"key \('1', 2\) points at row 7 of "
        r"shard-00000.safetensors, which has 2 rows",
    ):
        FeatureStore.open(tmp_path / "s")
