"""ECF 1.0: exact counts of the official files, MELD ids, feature rows, malformed input."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from unimeec.data import ECF1_MELD_TEST_OVERLAP, read_conversations
from unimeec.data.readers.ecf import read_ecf
from unimeec.errors import DataFormatError


@pytest.mark.parametrize(
    ("split", "n_conv", "n_utt", "n_emo", "n_pairs"),
    [
        ("train", 1001, 9966, 5577, 7055),
        ("dev", 112, 1087, 668, 866),
        ("test", 261, 2566, 1445, 1873),
    ],
)
def test_split_counts(load, split, n_conv, n_utt, n_emo, n_pairs) -> None:  # type: ignore[no-untyped-def]
    convs = load("ecf1", split)
    assert len(convs) == n_conv
    assert sum(len(c) for c in convs) == n_utt
    assert sum(len(c.emotion_utterances) for c in convs) == n_emo
    assert sum(len(c.pairs) for c in convs) == n_pairs
    assert {(c.dataset, c.split, c.has_cause_labels) for c in convs} == {("ecf1", split, True)}


def test_all_data_pair_totals_and_emotions(shared_data: Path) -> None:
    convs = read_conversations(shared_data / "ecf1" / "all_data_pair.txt")
    assert len(convs) == 1374
    assert sum(len(c) for c in convs) == 13619
    assert sum(len(c.emotion_utterances) for c in convs) == 7690
    assert sum(len(c.pairs) for c in convs) == 9794
    assert Counter(u.emotion for c in convs for u in c.utterances) == {
        "neutral": 5929,
        "joy": 2301,
        "surprise": 1840,
        "anger": 1615,
        "sadness": 1147,
        "disgust": 414,
        "fear": 373,
    }
    assert Counter(p.emotion for c in convs for p in c.pairs) == {
        "anger": 2242,
        "disgust": 560,
        "fear": 365,
        "joy": 2814,
        "sadness": 1475,
        "surprise": 2338,
    }
    # MELD ids come from the sibling all_data_pair_ECFvsMELD.txt: 230 utterances are new in ECF
    meld_ids = [u.meta["meld_id"] for c in convs for u in c.utterances]
    assert sum(m is None for m in meld_ids) == 230
    # video_id_mapping.npy: dia{conv}utt{utt} -> row, 13,619 distinct rows 1..13619
    rows = [u.meta["feature_row"] for c in convs for u in c.utterances]
    assert sorted(rows) == list(range(1, 13620))


def test_first_conversation_fields(load) -> None:  # type: ignore[no-untyped-def]
    first = next(c for c in load("ecf1", "train") if c.id == "1")
    utt = first.utterance(1)
    assert (utt.speaker, utt.emotion, utt.media) == ("Chandler", "neutral", "Friends_S1E1")
    assert utt.text.startswith("Alright , so I am back in high school")
    assert (utt.start, utt.end) == (79.037, 85.417)  # 00:01:19.037 - 00:01:25.417
    assert utt.meta == {"meld_id": "train_dia559_utt0", "feature_row": 1}
    assert [p.key for p in first.pairs] == [
        (3, 1),
        (3, 3),
        (4, 1),
        (4, 3),
        (4, 4),
        (5, 1),
        (5, 3),
        (5, 4),
    ]
    assert first.pairs[-1].emotion == "anger"


def test_meld_test_leak_is_marked(load) -> None:  # type: ignore[no-untyped-def]
    conv = next(c for c in load("ecf1", "train") if c.id == "544")
    assert ECF1_MELD_TEST_OVERLAP == {"544": "test_dia73"}
    assert conv.meta["meld_test_overlap"] == "test_dia73"
    ids = [u.meta["meld_id"] for u in conv.utterances]
    assert sum(1 for m in ids if m and m.startswith("test_dia73_")) == 11
    assert [c.id for c in load("ecf1", "train") if c.meta] == ["544"]


def test_ecf_vs_meld_file_read_directly(shared_data: Path) -> None:
    convs = read_conversations(
        shared_data / "ecf1" / "all_data_pair_ECFvsMELD.txt", feature_rows=False
    )
    utt = convs[0].utterance(1)
    assert utt.meta == {"meld_id": "train_dia559_utt0"}
    assert utt.media is None and utt.start is None


def test_feature_rows_refuse_unknown_pickle(tmp_path: Path, shared_data: Path) -> None:
    shutil.copy(shared_data / "ecf1" / "dev.txt", tmp_path / "dev.txt")
    (tmp_path / "video_id_mapping.npy").write_bytes(b"\x93NUMPY not the official file")
    with pytest.raises(DataFormatError, match="refusing to unpickle") as info:
        read_ecf(tmp_path / "dev.txt")
    assert info.value.path == str(tmp_path / "video_id_mapping.npy")
    convs = read_ecf(tmp_path / "dev.txt", feature_rows=False)  # no sibling MELD ids either
    assert len(convs) == 112 and convs[0].utterance(1).meta == {}


GOOD = (
    "1 3\n(2,1),(2,2)\n"
    "1 | Ross | neutral | Hi . | Friends_S1E1: 00:00:01.000 - 00:00:02.500\n"
    "2 | Rachel | joy | Hello ! | Friends_S1E1: 00:00:02.500 - 00:00:03.000\n"
    "3 | Ross | neutral | Bye | Friends_S1E1: 00:00:03.000 - 00:00:04.000\n"
    "2 1\n\n"
    "1 | Joey | anger | No . | Friends_S1E2: 00:01:00.000 - 00:01:01.000\n"
)


def test_small_file_parses(make_file) -> None:  # type: ignore[no-untyped-def]
    convs = read_conversations(make_file("train.txt", GOOD))
    assert [c.id for c in convs] == ["1", "2"]
    assert [p.key for p in convs[0].pairs] == [(2, 1), (2, 2)]
    assert convs[1].pairs == [] and convs[1].utterance(1).start == 60.0
    assert convs[0].split == "train"


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        ("1 3\n", "1 three\n", 1, "header", "conversation header"),
        ("(2,1),(2,2)", "(2,1)(2;2)", 2, "pairs", "malformed pair list"),
        ("(2,1),(2,2)", "(2,1),(2,9)", 2, "cause_utterance", "outside the conversation's 3"),
        ("2 | Rachel | joy |", "2 | Rachel | happy |", 4, "emotion", "unknown emotion 'happy'"),
        (
            "3 | Ross | neutral | Bye | ",
            "3 | Ross | neutral Bye | ",
            5,
            "utterance",
            "expected 5 fields",
        ),
        ("2 | Rachel", "7 | Rachel", 4, "index", "utterance number '7'"),
        ("00:00:02.500 - 00:00:03.000", "00:00:02.500 - 00:00:01.000", 4, "end", "ends"),
        ("00:00:01.000 - ", "0:00:1.x - ", 3, "start", "expected a time"),
        ("2 1\n\n1 | Joey", "2 2\n\n1 | Joey", 9, "utterances", "expected utterance 2 of 2"),
    ],
)
def test_malformed(make_file, old, new, line, field, message) -> None:  # type: ignore[no-untyped-def]
    assert old in GOOD
    path = make_file("bad.txt", GOOD.replace(old, new, 1))
    with pytest.raises(DataFormatError, match=message) as info:
        read_ecf(path)
    err = info.value
    assert (err.path, err.line, err.field) == (str(path), line, field)
    assert f"{path}:{line}" in str(err)


def test_non_utf8_names_line(make_file) -> None:  # type: ignore[no-untyped-def]
    path = make_file("bad.txt", GOOD.encode().replace(b"Hello", b"H\xe9llo"))
    with pytest.raises(DataFormatError, match="not valid UTF-8") as info:
        read_conversations(path, "ecf")
    assert (info.value.line, info.value.field) == (4, "encoding")
