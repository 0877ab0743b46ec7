"""Format detection, our JSONL (lossless round trips on real files), load_dataset."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from unimeec.data import (
    DatasetNotFoundError,
    dataset_path,
    detect_format,
    load_dataset,
    read_conversations,
    write_conversations,
)
from unimeec.errors import DataFormatError


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("ecf1/train.txt", "ecf"),
        ("ecf1/all_data_pair_ECFvsMELD.txt", "ecf"),
        ("ecf2-semeval2024/Subtask_1_train.json", "semeval"),
        ("meld/dev_sent_emo.csv", "meld"),
        ("emorynlp/emorynlp_dev_final.csv", "emorynlp"),
        ("dailydialog/dailydialog_dev.txt", "dailydialog"),
        ("reccon/dailydialog_valid.json", "reccon"),
    ],
)
def test_detect_format(shared_data: Path, relative: str, expected: str) -> None:
    assert detect_format(shared_data / relative) == expected


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("ecf1", "train"),
        ("semeval2024", "train"),
        ("reccon", "test"),
        ("meld", "dev"),
        ("emorynlp", "test"),
        ("dailydialog", "dev"),
    ],
)
def test_jsonl_round_trip_is_lossless(load, tmp_path: Path, name: str, split: str) -> None:  # type: ignore[no-untyped-def]
    convs = load(name, split)
    write_conversations(convs, tmp_path / "out.jsonl")
    back = read_conversations(tmp_path / "out.jsonl")
    # dataclass equality: every field, meta, span and time. JSONL holds the de-duplicated
    # pairs, so only the record of dropped duplicates is not carried over.
    assert back == [replace(c, duplicate_pairs=[]) for c in convs]
    # and a second pass writes the same bytes
    write_conversations(back, tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_bytes() == (tmp_path / "out.jsonl").read_bytes()


def test_jsonl_record_shape(load, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_conversations(load("ecf1", "train")[:1], tmp_path / "one.jsonl")
    record = json.loads((tmp_path / "one.jsonl").read_text(encoding="utf-8"))
    assert record["id"] == "1" and record["dataset"] == "ecf1" and record["split"] == "train"
    assert record["utterances"][0] == {
        "index": 1,
        "speaker": "Chandler",
        "emotion": "neutral",
        "media": "Friends_S1E1",
        "start": 79.037,
        "end": 85.417,
        "meta": {"meld_id": "train_dia559_utt0", "feature_row": 1},
        "text": record["utterances"][0]["text"],
    }
    assert record["pairs"][0] == {
        "emotion_utterance": 3,
        "cause_utterance": 1,
        "emotion": "surprise",
    }


def test_user_jsonl_minimal(make_file) -> None:  # type: ignore[no-untyped-def]
    path = make_file(
        "mine.jsonl",
        '{"id": "a", "utterances": [{"speaker": "A", "text": "Hi"}, '
        '{"speaker": "B", "text": "Oh no"}], "pairs": [[2, 1]]}\n\n',
    )
    (conv,) = read_conversations(path)
    assert conv.utterance(2).index == 2 and conv.pairs[0].key == (2, 1)
    assert conv.utterance(1).emotion is None and conv.dataset is None


@pytest.mark.parametrize(
    ("content", "line", "field", "message"),
    [
        (
            '{"id": "a", "utterances": [{"speaker": "A", "text": "Hi"}]}\n{"id": "b", "utter',
            2,
            None,
            "invalid JSON",
        ),
        (
            '{"id": "a", "dataset": "ecf1", "utterances": [{"speaker": "A", "text": "Hi", "emotion": '
            + '"happy"}]}',
            1,
            "emotion",
            "unknown emotion 'happy'",
        ),
        (
            '{"id": "a", "utterances": [{"speaker": "A", "text": "Hi"}], "pairs": [[1, 2]]}',
            1,
            "cause_utterance",
            "points outside",
        ),
        ('{"id": "a", "utterance": []}', 1, "utterance", "unknown field"),
        ('{"id": "a", "utterances": [{"speaker": "A", "text": "Hi"}]}\n' * 2, 2, "id", "duplicate"),
    ],
)
def test_jsonl_malformed(make_file, content, line, field, message) -> None:  # type: ignore[no-untyped-def]
    path = make_file("bad.jsonl", content)
    with pytest.raises(DataFormatError, match=message) as info:
        read_conversations(path)
    assert (info.value.path, info.value.line, info.value.field) == (str(path), line, field)
    if field != "id" and line == 1:
        assert info.value.conversation == "a"


def test_load_dataset_uses_env(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNIMEEC_DATA", str(shared_data))
    assert dataset_path("reccon", "dev") == shared_data / "reccon" / "dailydialog_valid.json"
    assert dataset_path("meld", "test") == shared_data / "meld" / "test_sent_emo.csv"
    monkeypatch.delenv("UNIMEEC_DATA")
    with pytest.raises(DatasetNotFoundError, match="UNIMEEC_DATA"):
        load_dataset("ecf1", "dev")


@pytest.mark.parametrize(
    ("name", "split", "message"),
    [
        ("dailydialog", "train", "dailydialog/dailydialog_train.txt"),
        ("semeval2024", "dev", "Subtask_1_dev.json"),
        ("iemocap", "train", "iemocap/train.tsv, iemocap/train.json"),
        ("ecf3", "train", "unknown dataset 'ecf3'"),
        ("ecf1", "val", "unknown split 'val'"),
    ],
)
def test_load_dataset_missing(shared_data: Path, name: str, split: str, message: str) -> None:
    with pytest.raises(DatasetNotFoundError, match=message):
        load_dataset(name, split, shared_data)


def test_unknown_or_undetectable_format(make_file) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataFormatError, match="unknown format 'xml'"):
        read_conversations(make_file("a.txt", "x"), "xml")
    with pytest.raises(DataFormatError, match="cannot detect"):
        read_conversations(make_file("b.txt", "hello world\n"))
    with pytest.raises(DataFormatError, match="cannot write format 'csv'"):
        write_conversations([], "x.csv", "csv")
    with pytest.raises(DataFormatError, match="no such file"):
        read_conversations("/nonexistent/file.jsonl")
