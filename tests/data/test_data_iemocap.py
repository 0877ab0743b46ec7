"""IEMOCAP (both public forms) and the ConvECPE JSON export, on fixtures written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unimeec.data import load_dataset, read_conversations
from unimeec.errors import DataFormatError

TSV = (
    "Ses01F_impro01_F000\tExcuse me .\tneu\n"
    "Ses01F_impro01_M000\tDo you have your forms ?\tfru\n"
    "Ses01F_impro01_F001\tYeah .\t\n"
    "\n"
    "Ses05M_script01_M003\tI am so happy !\texc\n"
    "Ses05M_script01_F002\tMe too .\thappy\n"
)


def test_tsv(make_file) -> None:  # type: ignore[no-untyped-def]
    convs = read_conversations(make_file("iemocap/train.tsv", TSV))
    assert [c.id for c in convs] == ["Ses01F_impro01", "Ses05M_script01"]
    first, second = convs
    assert [u.emotion for u in first.utterances] == ["neu", "fru", None]  # empty = context
    assert [u.speaker for u in first.utterances] == ["F", "M", "F"]
    assert first.utterance(2).meta == {"speaker_id": "Ses01F_impro01_M000"}
    assert first.meta == {"session": "Ses01"} and second.meta == {"session": "Ses05"}
    assert [u.emotion for u in second.utterances] == ["exc", "hap"]  # full name -> code
    assert first.dataset == "iemocap" and not first.has_cause_labels
    assert first.emotion_utterances == [2]


def test_tsv_plain_speakers_are_numbered(make_file) -> None:  # type: ignore[no-untyped-def]
    convs = read_conversations(make_file("a.tsv", "M\tHi .\tang\nF\tNo .\tsad\n\nM\tOk\tneu\n"))
    assert [(c.id, [u.speaker for u in c.utterances]) for c in convs] == [
        ("1", ["M", "F"]),
        ("2", ["M"]),
    ]


JSON = [
    [
        {"text": "Excuse me .", "speaker": "Ses02F_impro03_F"},
        {"text": "Yes ?", "speaker": "Ses02F_impro03_M", "label": "neutral"},
        {"text": "I hate this .", "speaker": "Ses02F_impro03_F", "label": "ang"},
    ],
    [{"text": "Great !", "speaker": "Ses05M_impro01_M", "label": "excited"}],
]


def test_json(make_file) -> None:  # type: ignore[no-untyped-def]
    convs = read_conversations(make_file("iemocap_test.json", json.dumps(JSON)))
    assert [c.id for c in convs] == ["Ses02F_impro03", "Ses05M_impro01"]
    assert [u.emotion for u in convs[0].utterances] == [None, "neu", "ang"]
    assert convs[0].split == "test" and convs[1].meta["session"] == "Ses05"


def test_load_dataset_finds_either_form(tmp_path: Path, make_file) -> None:  # type: ignore[no-untyped-def]
    make_file("iemocap/train.tsv", TSV)
    make_file("iemocap/test.json", json.dumps(JSON))
    assert len(load_dataset("iemocap", "train", tmp_path)) == 2
    test = load_dataset("iemocap", "test", tmp_path)
    assert {(c.dataset, c.split) for c in test} == {("iemocap", "test")}


@pytest.mark.parametrize(
    ("content", "name", "line", "field", "message"),
    [
        (TSV.replace("\tfru", "\tbored"), "x.tsv", 2, "emotion", "unknown emotion 'bored'"),
        (TSV.replace("\tYeah .\t", "\tYeah ."), "x.tsv", 3, "line", "3 fields"),
        (TSV + "\nSes01F_impro01_F009\tAgain\tneu\n", "x.tsv", 8, "speaker", "duplicate dialogue"),
    ],
)
def test_tsv_malformed(make_file, content, name, line, field, message) -> None:  # type: ignore[no-untyped-def]
    path = make_file(name, content)
    with pytest.raises(DataFormatError, match=message) as info:
        read_conversations(path)
    assert (info.value.line, info.value.field) == (line, field)


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda d: d[0][1].update(label="joy"), "emotion", "unknown emotion 'joy'"),
        (lambda d: d[0][1].pop("speaker"), "speaker", "needs 'text' and 'speaker'"),
        (lambda d: d[0][1].update(emotion="neu"), "emotion", "unknown field"),
        (lambda d: d.append([]), "dialogue", "non-empty list"),
    ],
)
def test_json_malformed(make_file, mutate, field, message) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(JSON))
    mutate(data)
    path = make_file("bad.json", json.dumps(data))
    with pytest.raises(DataFormatError, match=message) as info:
        read_conversations(path, "iemocap-json")
    assert info.value.field == field and info.value.path == str(path)


CONVECPE = {
    "format": "convecpe",
    "dialogues": [
        {
            "id": "Ses01F_impro01",
            "split_note": "train",
            "utterances": [
                {"speaker": "F", "text": "My flight got cancelled .", "emotion": "neu"},
                {"speaker": "M", "text": "That is awful .", "emotion": "sad"},
                {"speaker": "F", "text": "I am furious !", "emotion": "angry"},
            ],
            "pairs": [[2, 1], [3, 1], [3, 3], [3, 3]],
        }
    ],
}


def test_convecpe(make_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_file("convecpe/dev.json", json.dumps(CONVECPE))
    (conv,) = load_dataset("convecpe", "dev", tmp_path)
    assert (conv.id, conv.dataset, conv.split, conv.has_cause_labels) == (
        "Ses01F_impro01",
        "convecpe",
        "dev",
        True,
    )
    assert [(p.key, p.emotion) for p in conv.pairs] == [
        ((2, 1), "sad"),
        ((3, 1), "ang"),
        ((3, 3), "ang"),
    ]
    assert len(conv.duplicate_pairs) == 1 and conv.meta == {"split_note": "train"}


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (
            lambda d: d["dialogues"][0]["pairs"].append([4, 1]),
            "emotion_utterance",
            "outside the conversation's 3",
        ),
        (lambda d: d["dialogues"][0]["pairs"].append(["3", 1]), "pairs", "integers"),
        (lambda d: d.update(format="other"), "format", "expected format 'convecpe'"),
        (lambda d: d["dialogues"][0]["utterances"][0].update(emotion="calm"), "emotion", "unknown"),
        (lambda d: d["dialogues"][0].pop("pairs"), "pairs", "has no 'pairs'"),
    ],
)
def test_convecpe_malformed(make_file, mutate, field, message) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(CONVECPE))
    mutate(data)
    path = make_file("bad.json", json.dumps(data))
    with pytest.raises(DataFormatError, match=message) as info:
        read_conversations(path, "convecpe")
    assert info.value.field == field and info.value.path == str(path)
