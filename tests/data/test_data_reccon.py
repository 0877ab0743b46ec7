"""RECCON-DD: exact counts, latent causes, label typos reported, bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from unimeec.data import RECCON_LABEL_FIXES, read_conversations
from unimeec.data.readers.reccon import read_reccon
from unimeec.errors import DataFormatError


@pytest.mark.parametrize(
    ("split", "n_conv", "n_utt", "n_emo", "n_pairs"),
    [
        ("train", 834, 8206, 4562, 7271),
        ("dev", 47, 493, 200, 347),
        ("test", 225, 2405, 1099, 1894),
    ],
)
def test_counts(load, split, n_conv, n_utt, n_emo, n_pairs) -> None:  # type: ignore[no-untyped-def]
    convs = load("reccon", split)
    assert len(convs) == n_conv
    assert sum(len(c) for c in convs) == n_utt
    assert sum(len(c.emotion_utterances) for c in convs) == n_emo
    # the README counts every listed evidence; exact repeats are removed (visibly) on reading
    assert sum(len(c.pairs) + len(c.duplicate_pairs) for c in convs) == n_pairs
    assert {c.dataset for c in convs} == {"reccon"} and all(c.has_cause_labels for c in convs)
    assert all(c.split == split for c in convs)
    # every emotion utterance has evidence: a cause pair or a latent cause
    for conv in convs:
        for idx in conv.emotion_utterances:
            assert conv.causes_of(idx) or conv.utterance(idx).latent_cause


@pytest.mark.parametrize(
    ("split", "file", "b_entries", "flagged"),
    [("train", "train", 359, 351), ("dev", "valid", 5, 5), ("test", "test", 39, 39)],
)
def test_latent_causes(shared_data: Path, load, split, file, b_entries, flagged) -> None:  # type: ignore[no-untyped-def]
    """README counts "b" entries; 8 train utterances list "b" twice, and carry one flag."""
    raw = json.loads((shared_data / "reccon" / f"dailydialog_{file}.json").read_text())
    evidence = [u.get("expanded emotion cause evidence", []) for v in raw.values() for u in v[0]]
    assert sum(ev.count("b") for ev in evidence) == b_entries
    assert sum(u.latent_cause for c in load("reccon", split) for u in c.utterances) == flagged


def test_label_typos_are_mapped_and_reported(
    shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="unimeec.data"):
        convs = read_reccon(shared_data / "reccon" / "dailydialog_test.json")
    assert "excited->happiness x1, happines->happiness x1, sad->sadness x1" in caplog.text
    fixed = [
        (u.meta["original_emotion"], u.emotion)
        for c in convs
        for u in c.utterances
        if "original_emotion" in u.meta
    ]
    assert sorted(fixed) == [
        ("excited", "happiness"),
        ("happines", "happiness"),
        ("sad", "sadness"),
    ]
    assert RECCON_LABEL_FIXES["excited"] == "happiness"
    train = read_reccon(shared_data / "reccon" / "dailydialog_train.json")
    counts: dict[str, int] = {}
    for conv in train:
        for utt in conv.utterances:
            if "original_emotion" in utt.meta:
                counts[utt.meta["original_emotion"]] = (
                    counts.get(utt.meta["original_emotion"], 0) + 1
                )
    assert counts == {"sad": 3, "happy": 5, "excited": 2, "surprised": 1, "angry": 1}


DIALOGUE = {
    "te_1": [
        [
            {
                "turn": 1,
                "speaker": "A",
                "utterance": "I won the lottery !",
                "emotion": "happiness",
                "expanded emotion cause evidence": [1, "b"],
                "expanded emotion cause span": ["won the lottery", "b"],
                "type": ["no-context", "latent"],
            },
            {
                "turn": 2,
                "speaker": "B",
                "utterance": "Wow , really ?",
                "emotion": "surprised",
                "expanded emotion cause evidence": [1],
                "expanded emotion cause span": ["I won the lot"],
                "type": ["inter-personal"],
                "explanation": "x",
            },
        ]
    ]
}


def test_small_dialogue(make_file) -> None:  # type: ignore[no-untyped-def]
    (conv,) = read_conversations(make_file("dailydialog_valid.json", json.dumps(DIALOGUE)))
    assert conv.split == "dev"
    assert conv.utterance(1).latent_cause and not conv.utterance(2).latent_cause
    assert [(p.key, p.emotion, p.span.start, p.span.end) for p in conv.pairs] == [
        ((1, 1), "happiness", 1, 4),
        ((2, 1), "surprise", 0, 4),
    ]
    assert conv.utterance(2).meta == {
        "original_emotion": "surprised",
        "cause_types": ["inter-personal"],
        "explanation": "x",
    }


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda u: u.update(emotion="joyful"), "emotion", "unknown emotion 'joyful'"),
        (
            lambda u: u.update({"expanded emotion cause evidence": [3]}),
            "expanded emotion cause evidence",
            "neither 'b' nor a turn 1..2",
        ),
        (
            lambda u: u.update({"expanded emotion cause span": []}),
            "expanded emotion cause evidence",
            "equal length",
        ),
        (lambda u: u.pop("utterance"), "utterance", "has no 'utterance'"),
        (lambda u: u.update(turn=5), "turn", "has turn 5"),
    ],
)
def test_malformed(make_file, mutate, field, message) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(DIALOGUE))
    mutate(data["te_1"][0][1])
    path = make_file("bad.json", json.dumps(data))
    with pytest.raises(DataFormatError, match=message) as info:
        read_reccon(path)
    assert (info.value.path, info.value.conversation, info.value.field) == (
        str(path),
        "te_1",
        field,
    )
