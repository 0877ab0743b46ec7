"""MELD, EmoryNLP, DailyDialog (emotion-only datasets): exact counts, fields, bad input."""

from __future__ import annotations

from collections import Counter

import pytest

from unimeec.data import MELD_MISSING_DIALOGUES, read_conversations
from unimeec.data.readers.emorynlp import parse_speakers
from unimeec.errors import DataFormatError

MELD = {
    "train": (
        1038,
        9989,
        {
            "neutral": 4710,
            "joy": 1743,
            "surprise": 1205,
            "anger": 1109,
            "sadness": 683,
            "disgust": 271,
            "fear": 268,
        },
    ),
    "dev": (
        114,
        1109,
        {
            "neutral": 470,
            "joy": 163,
            "surprise": 150,
            "anger": 153,
            "sadness": 111,
            "disgust": 22,
            "fear": 40,
        },
    ),
    "test": (
        280,
        2610,
        {
            "neutral": 1256,
            "joy": 402,
            "surprise": 281,
            "anger": 345,
            "sadness": 208,
            "disgust": 68,
            "fear": 50,
        },
    ),
}
EMORYNLP = {
    "train": (
        659,
        7551,
        {
            "Neutral": 2485,
            "Joyful": 1677,
            "Scared": 941,
            "Mad": 785,
            "Peaceful": 638,
            "Powerful": 551,
            "Sad": 474,
        },
    ),
    "dev": (
        89,
        954,
        {
            "Neutral": 322,
            "Joyful": 205,
            "Scared": 127,
            "Mad": 97,
            "Peaceful": 82,
            "Powerful": 70,
            "Sad": 51,
        },
    ),
    "test": (
        79,
        984,
        {
            "Neutral": 288,
            "Joyful": 217,
            "Scared": 116,
            "Mad": 86,
            "Peaceful": 111,
            "Powerful": 96,
            "Sad": 70,
        },
    ),
}
DAILYDIALOG = {
    "dev": (
        1000,
        8069,
        {
            "neutral": 7108,
            "happiness": 684,
            "surprise": 107,
            "sadness": 79,
            "anger": 77,
            "fear": 11,
            "disgust": 3,
        },
    ),
    "test": (
        1000,
        7740,
        {
            "neutral": 6321,
            "happiness": 1019,
            "surprise": 116,
            "sadness": 102,
            "anger": 118,
            "fear": 17,
            "disgust": 47,
        },
    ),
}
CASES = (
    [("meld", s, *v) for s, v in MELD.items()]
    + [("emorynlp", s, *v) for s, v in EMORYNLP.items()]
    + [("dailydialog", s, *v) for s, v in DAILYDIALOG.items()]
)


@pytest.mark.parametrize(("name", "split", "n_conv", "n_utt", "labels"), CASES)
def test_counts(load, name, split, n_conv, n_utt, labels) -> None:  # type: ignore[no-untyped-def]
    convs = load(name, split)
    assert len(convs) == n_conv
    assert sum(len(c) for c in convs) == n_utt
    assert Counter(u.emotion for c in convs for u in c.utterances) == labels
    assert all(not c.has_cause_labels and c.pairs == [] for c in convs)
    assert {(c.dataset, c.split) for c in convs} == {(name, split)}


def test_meld_fields_and_missing_dialogue(load) -> None:  # type: ignore[no-untyped-def]
    train = load("meld", "train")
    ids = {int(c.id) for c in train}
    assert ids == set(range(1039)) - {60} and MELD_MISSING_DIALOGUES == {"train": (60,)}
    utt = train[0].utterance(1)
    assert utt.text.startswith("also I was the point person on my company’s transition")
    assert (utt.speaker, utt.media, utt.start, utt.end) == (
        "Chandler",
        "dia0_utt0.mp4",
        976.059,
        981.731,
    )
    assert utt.meta == {"meld_id": "train_dia0_utt0", "sentiment": "neutral"}
    # gaps in Utterance_ID: indices stay 1..N, the MELD id keeps the original number
    gap = next(c for c in train if c.id == "1")
    assert [u.index for u in gap.utterances] == [1, 2, 3, 4, 5, 6, 7]
    assert [u.meta["meld_id"][-4:] for u in gap.utterances][-2:] == ["utt5", "utt8"]
    assert gap.utterance(7).media == "dia1_utt8.mp4"


def test_meld_ids_join_ecf(load) -> None:  # type: ignore[no-untyped-def]
    meld_test = {u.meta["meld_id"] for c in load("meld", "test") for u in c.utterances}
    leak = next(c for c in load("ecf1", "train") if c.id == "544")
    assert sum(u.meta["meld_id"] in meld_test for u in leak.utterances) == 11


def test_emorynlp_fields(load) -> None:  # type: ignore[no-untyped-def]
    first = load("emorynlp", "train")[0]
    assert first.id == "s1_e2_c1"
    assert (first.utterance(1).speaker, first.utterance(1).start) == ("Monica Geller", 2.877)
    multi = [u for c in load("emorynlp", "train") for u in c.utterances if "speakers" in u.meta]
    assert len(multi) == 50 and all(", " in u.speaker for u in multi)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("['Ross Geller']", ["Ross Geller"]),
        ("['Joey', 'Chandler Bing']", ["Joey", "Chandler Bing"]),
        ("[]", []),
    ],
)
def test_parse_speakers(value, expected) -> None:  # type: ignore[no-untyped-def]
    assert parse_speakers(value) == expected


@pytest.mark.parametrize("value", ["Ross", "__import__('os').system('true')", "[1, 2]"])
def test_parse_speakers_rejects(value) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataFormatError, match="Speaker must be a list"):
        parse_speakers(value, line=7)


MELD_HEAD = (
    "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,"
    "Episode,StartTime,EndTime\n"
)
MELD_ROW = '1,Hi .,Ross,joy,positive,0,0,1,1,"00:00:01,000","00:00:02,000"\n'


@pytest.mark.parametrize(
    ("content", "line", "field", "message"),
    [
        (
            MELD_HEAD.replace(",Emotion", ",Emo") + MELD_ROW,
            1,
            "Emotion",
            "missing column 'Emotion'",
        ),
        (MELD_HEAD + MELD_ROW.replace("joy", "happy"), 2, "emotion", "unknown emotion 'happy'"),
        (MELD_HEAD + MELD_ROW + MELD_ROW.replace(",0,0,", ",x,1,"), 3, "Dialogue_ID", "integer"),
        (MELD_HEAD + MELD_ROW.replace('"00:00:02,000"', '"00:00:00,500"'), 2, "EndTime", "before"),
        (
            MELD_HEAD
            + MELD_ROW
            + MELD_ROW.replace(",0,0,", ",1,0,")
            + MELD_ROW.replace(",0,0,", ",0,1,"),
            4,
            "Dialogue_ID",
            "not contiguous",
        ),
        (MELD_HEAD + "1,Hi .,Ross,joy\n", 2, "row", "fields"),
    ],
)
def test_meld_malformed(make_file, content, line, field, message) -> None:  # type: ignore[no-untyped-def]
    path = make_file("train_sent_emo.csv", content)
    with pytest.raises(DataFormatError, match=message) as info:
        read_conversations(path, "meld")
    assert (info.value.path, info.value.line, info.value.field) == (str(path), line, field)


def test_emorynlp_malformed_speaker_names_line(make_file) -> None:  # type: ignore[no-untyped-def]
    path = make_file(
        "emorynlp_dev_final.csv",
        (
            "Utterance,Speaker,Emotion,Scene_ID,Utterance_ID,Season,Episode,Start_Time,End_Time\n"
            "Hi,['Ross'],Joyful,1,1,1,1,00:00:01.000,00:00:02.000\n"
            "Yo,Ross,Joyful,1,2,1,1,00:00:02.000,00:00:03.000\n"
        ),
    )
    with pytest.raises(DataFormatError, match="Speaker must be a list") as info:
        read_conversations(path)
    assert (info.value.line, info.value.field) == (3, "Speaker")


def test_non_utf8_csv(make_file) -> None:  # type: ignore[no-untyped-def]
    path = make_file("dev_sent_emo.csv", (MELD_HEAD + MELD_ROW).encode().replace(b"Hi", b"H\x92"))
    with pytest.raises(DataFormatError, match="not valid UTF-8") as info:
        read_conversations(path, "meld")
    assert (info.value.line, info.value.field) == (2, "encoding")


def test_dailydialog_small_and_malformed(make_file) -> None:  # type: ignore[no-untyped-def]
    good = "0\tHi .\tneutral\n1\tHello !\thappiness\n\n0\tBye .\tneutral\n"
    convs = read_conversations(make_file("dailydialog_test.txt", good))
    assert [(c.id, len(c)) for c in convs] == [("1", 2), ("2", 1)]
    assert convs[0].utterance(2).speaker == "1" and convs[0].split == "test"
    bad = make_file("dd.txt", good.replace("1\tHello !\thappiness", "1\tHello !"))
    with pytest.raises(DataFormatError, match="3 fields") as info:
        read_conversations(bad, "dailydialog")
    assert info.value.line == 2
    bad = make_file("dd2.txt", good.replace("happiness", "joy"))
    with pytest.raises(DataFormatError, match="unknown emotion 'joy'") as info:
        read_conversations(bad, "dailydialog")
    assert (info.value.line, info.value.conversation) == (2, "1")
