"""SemEval-2024 Task 3 JSON: counts, spans, both subtasks, lossless writing, bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from unimeec.data import (
    CauseSpan,
    EmotionCausePair,
    locate_span,
    read_conversations,
    write_conversations,
)
from unimeec.data.readers.semeval import read_semeval, to_semeval
from unimeec.errors import DataFormatError

TRAIN = "ecf2-semeval2024/Subtask_1_train.json"


def test_train_counts(load) -> None:  # type: ignore[no-untyped-def]
    convs = load("semeval2024", "train")
    assert len(convs) == 1374
    assert sum(len(c) for c in convs) == 13619
    assert sum(len(c.emotion_utterances) for c in convs) == 7690
    assert sum(len(c.pairs) + len(c.duplicate_pairs) for c in convs) == 9364
    assert sum(len(c.duplicate_pairs) for c in convs) == 72
    assert sum(len(c.pairs) for c in convs) == 9292
    assert sum(len(c.pair_set()) for c in convs) == 9256
    per_emotion: dict[str, int] = {}
    for conv in convs:
        for pair in conv.pairs:
            per_emotion[pair.emotion] = per_emotion.get(pair.emotion, 0) + 1  # type: ignore[index]
    assert per_emotion == {
        "anger": 2122,
        "disgust": 534,
        "fear": 312,
        "joy": 2732,
        "sadness": 1427,
        "surprise": 2165,
    }
    # every official span is located in its cause utterance
    assert all(p.span is not None and p.span.start is not None for c in convs for p in c.pairs)


def test_utterance_pairs_are_a_subset_of_ecf1(load, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    ecf = {
        c.id: c.pair_set()
        for c in read_conversations(
            shared_data / "ecf1" / "all_data_pair.txt", meld_ids=False, feature_rows=False
        )
    }
    assert all(c.pair_set() <= ecf[c.id] for c in load("semeval2024", "train"))


def test_dedup_is_logged(shared_data: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="unimeec.data"):
        read_semeval(shared_data / TRAIN)
    assert "removed 72 exact duplicate emotion-cause pair(s)" in caplog.text


def test_first_span(load) -> None:  # type: ignore[no-untyped-def]
    first = load("semeval2024", "train")[0]
    pair = first.pairs[0]
    assert (pair.key, pair.emotion) == ((3, 1), "surprise")
    assert pair.span == CauseSpan(text="I realize I am totally naked .", start=21, end=27)
    assert first.utterance(1).text.split()[21:27] == ["I", "realize", "I", "am", "totally", "naked"]


@pytest.mark.parametrize(
    ("span", "text", "official", "partial"),
    [
        ("I realize I am totally naked .", "and I realize I am totally naked .", (1, 7), (1, 7)),
        ("  , naked !", "I am naked !", (2, 3), (2, 3)),
        ("oh", "Oh oh", (1, 2), (1, 2)),
        ("am tot", "I am totally naked", None, (1, 3)),  # cut mid-word: widened to whole tokens
        ("naked", "totally naked.", None, (1, 2)),  # the scorer matches whole tokens only
        ("...", "Wait ...", None, None),
        ("absent", "I am here", None, None),
    ],
)
def test_locate_span(span, text, official, partial) -> None:  # type: ignore[no-untyped-def]
    assert locate_span(span, text) == official
    assert locate_span(span, text, partial=True) == partial


def test_subtask1_round_trip_is_identical(shared_data: Path, tmp_path: Path) -> None:
    original = json.loads((shared_data / TRAIN).read_text(encoding="utf-8"))
    convs = read_semeval(shared_data / TRAIN, deduplicate_pairs=False)
    write_conversations(convs, tmp_path / "out.json", "semeval-subtask1")
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8")) == original
    # default reading drops exact duplicates (as the scorer does): the rest is unchanged
    deduped = to_semeval(read_semeval(shared_data / TRAIN), subtask=1)
    for got, want in zip(deduped, original):
        unique = [
            p
            for i, p in enumerate(want["emotion-cause_pairs"])
            if p not in want["emotion-cause_pairs"][:i]
        ]
        assert got == {**want, "emotion-cause_pairs": unique}


SUBTASK2 = [
    {
        "conversation_ID": 1375,
        "conversation": [
            {
                "utterance_ID": 1,
                "text": "Please do not do that again .",
                "speaker": "Chandler",
                "emotion": "disgust",
                "video_source": ["S01E01", "00:07:40.335", "00:07:44.880"],
                "video_name": "dia1375utt1.mp4",
            },
            {
                "utterance_ID": 2,
                "text": "Uh , it is Paul .",
                "speaker": "Paul",
                "emotion": "neutral",
                "video_source": ["S01E01", "00:07:45.047", "00:07:46.450"],
                "video_name": "dia1375utt2.mp4",
            },
        ],
        "emotion-cause_pairs": [["1_disgust", "1"], ["1_disgust", "2"], ["1_disgust", "2"]],
    }
]


def test_subtask2_with_video(make_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = make_file("Subtask_2_test.json", json.dumps(SUBTASK2))
    (conv,) = read_conversations(path)
    assert (conv.id, conv.split, conv.dataset) == ("1375", "test", "semeval2024")
    assert [p.key for p in conv.pairs] == [(1, 1), (1, 2)] and conv.pairs[0].span is None
    assert len(conv.duplicate_pairs) == 1
    utt = conv.utterance(2)
    assert utt.media == "dia1375utt2.mp4"
    assert utt.meta["video_source"] == ["S01E01", "00:07:45.047", "00:07:46.450"]
    write_conversations([conv], tmp_path / "out.json", "semeval-subtask2")
    expected = [{**SUBTASK2[0], "emotion-cause_pairs": [["1_disgust", "1"], ["1_disgust", "2"]]}]
    assert json.loads((tmp_path / "out.json").read_text()) == expected


def test_evaluation_input_without_labels(make_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    record = [
        {
            "conversation_ID": 7,
            "conversation": [
                {"utterance_ID": 1, "text": "Hi .", "speaker": "Ross", "video_name": "dia7utt1.mp4"}
            ],
        }
    ]
    (conv,) = read_conversations(make_file("Subtask_2_eval.json", json.dumps(record)))
    assert conv.has_cause_labels is False and conv.utterance(1).emotion is None
    assert conv.pairs == []
    write_conversations([conv], tmp_path / "same.json", "semeval-subtask2")
    assert json.loads((tmp_path / "same.json").read_text()) == record
    # predictions on it get emotions and pairs, and the pairs are written
    pred = conv.with_predictions(emotions=["joy"], pairs=[EmotionCausePair(1, 1)])
    assert to_semeval([pred], 2)[0]["emotion-cause_pairs"] == [["1_joy", "1"]]
    assert to_semeval([conv.with_predictions(emotions=["joy"])], 2)[0]["emotion-cause_pairs"] == []


def test_ecf_to_subtask2_uses_utterance_causes(load) -> None:  # type: ignore[no-untyped-def]
    record = to_semeval(load("ecf1", "dev")[:1], subtask=2)[0]
    conv = load("ecf1", "dev")[0]
    assert record["conversation_ID"] == int(conv.id)
    assert record["emotion-cause_pairs"] == [
        [f"{p.emotion_utterance}_{p.emotion}", str(p.cause_utterance)] for p in conv.pairs
    ]
    # ECF has no spans: subtask 1 cites the whole cause utterance
    sub1 = to_semeval([conv], subtask=1)[0]["emotion-cause_pairs"]
    assert (
        sub1[0][1]
        == f"{conv.pairs[0].cause_utterance}_" + conv.utterance(conv.pairs[0].cause_utterance).text
    )


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda r: r[0]["conversation"][1].pop("text"), "text", "has no 'text'"),
        (lambda r: r[0]["conversation"][1].update(utterance_ID=5), "utterance_ID", "expected 2"),
        (lambda r: r[0]["conversation"][0].update(emotion="happy"), "emotion", "unknown emotion"),
        (
            lambda r: r[0]["emotion-cause_pairs"].append(["1_disgust", "3"]),
            "cause_utterance",
            "outside the conversation's 2",
        ),
        (
            lambda r: r[0]["emotion-cause_pairs"].append(["disgust", "1"]),
            "emotion-cause_pairs",
            "malformed pair",
        ),
        (lambda r: r[0].pop("conversation"), "conversation", "has no 'conversation'"),
    ],
)
def test_malformed(make_file, mutate, field, message) -> None:  # type: ignore[no-untyped-def]
    record = json.loads(json.dumps(SUBTASK2))
    mutate(record)
    path = make_file("bad.json", json.dumps(record))
    with pytest.raises(DataFormatError, match=message) as info:
        read_semeval(path)
    assert (info.value.path, info.value.field) == (str(path), field)


def test_invalid_json_names_line(make_file) -> None:  # type: ignore[no-untyped-def]
    path = make_file("bad.json", '[\n {"conversation_ID": 1,\n  "conversation": [}\n]')
    with pytest.raises(DataFormatError, match="invalid JSON") as info:
        read_semeval(path)
    assert info.value.line == 3


# ----------------------------------------------------- official prediction (positions) format
# Causes "<utt>_<start>_<end>": 0-based whitespace-token range, end exclusive, as the official
# scorer (NUSTM/SemEval-2024_ECAC, CodaLab/evaluation/evaluate.py) reads a submission.
PREDICTION = [
    {
        "conversation_ID": 8,
        "conversation": [
            {"utterance_ID": 1, "text": "Guess what , I got the job !", "speaker": "Rachel"},
            {"utterance_ID": 2, "text": "Oh my God , that is great !", "speaker": "Monica"},
            {"utterance_ID": 3, "text": "Room 1_2 is free", "speaker": "Joey"},
        ],
        "emotion-cause_pairs": [
            ["1_joy", "1_3_7"],
            ["2_joy", "1_3_7"],
            ["2_joy", "2_0_3"],
            ["3_surprise", "3_1_2"],
            ["3_surprise", "3_0_4"],
        ],
    }
]


def test_read_official_prediction_positions(make_file) -> None:  # type: ignore[no-untyped-def]
    path = make_file("Subtask_1_pred.json", json.dumps(PREDICTION))
    (conv,) = read_conversations(path)  # span_format="auto"
    spans = [(p.key, p.span) for p in conv.pairs]
    assert spans == [
        ((1, 1), CauseSpan(text="I got the job", start=3, end=7)),  # "," is token 2
        ((2, 1), CauseSpan(text="I got the job", start=3, end=7)),
        ((2, 2), CauseSpan(text="Oh my God", start=0, end=3)),
        # "1_2" is a token of utterance 3: auto reads that cause as text, located at [1, 2)
        ((3, 3), CauseSpan(text="1_2", start=1, end=2)),
        ((3, 3), CauseSpan(text="Room 1_2 is free", start=0, end=4)),
    ]
    assert [p.key for p in read_semeval(path, span_format="positions")[0].pairs] == [
        (1, 1),
        (2, 1),
        (2, 2),
        (3, 3),
        (3, 3),
    ]
    forced = read_semeval(path, span_format="positions")[0].pairs[3].span
    assert forced == CauseSpan(text="1_2", start=1, end=2)  # same tokens, read as positions
    as_text = read_semeval(path, span_format="text")[0].pairs[0].span
    assert as_text == CauseSpan(text="3_7", start=None, end=None)  # the old, wrong reading


def test_positions_must_be_valid_token_ranges(make_file) -> None:  # type: ignore[no-untyped-def]
    record = json.loads(json.dumps(PREDICTION))
    record[0]["emotion-cause_pairs"] = [["1_joy", "1_4_9"]]  # utterance 1 has 8 tokens
    path = make_file("Subtask_1_pred.json", json.dumps(record))
    # auto: not a valid range, so it is text (not found in the utterance: no token range)
    assert read_semeval(path)[0].pairs[0].span == CauseSpan(text="4_9")
    with pytest.raises(
        DataFormatError,
        match=r"cause '1_4_9' is not '<utterance>_<start>_<end>' "
        r"with 0 <= start < end <= 8",
    ) as info:
        read_semeval(path, span_format="positions")
    assert (info.value.path, info.value.conversation, info.value.field) == (
        str(path),
        "8",
        "emotion-cause_pairs",
    )
    for empty in ("1_4_4", "1_5_4"):
        record[0]["emotion-cause_pairs"] = [["1_joy", empty]]
        path.write_text(json.dumps(record))
        with pytest.raises(DataFormatError, match="0 <= start < end"):
            read_semeval(path, span_format="positions")
    with pytest.raises(DataFormatError, match="unknown span_format 'spans'"):
        read_semeval(path, span_format="spans")


def test_positions_round_trip_is_identical(make_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = make_file("Subtask_1_pred.json", json.dumps(PREDICTION))
    convs = read_semeval(path, span_format="positions")
    write_conversations(convs, tmp_path / "again.json", "semeval-subtask1", span_format="positions")
    assert json.loads((tmp_path / "again.json").read_text()) == PREDICTION
    # the text form cites the tokens; reading it back gives the same spans
    write_conversations(convs, tmp_path / "text.json", "semeval-subtask1")
    assert json.loads((tmp_path / "text.json").read_text())[0]["emotion-cause_pairs"][:3] == [
        ["1_joy", "1_I got the job"],
        ["2_joy", "1_I got the job"],
        ["2_joy", "2_Oh my God"],
    ]
    assert [p.span for p in read_semeval(tmp_path / "text.json")[0].pairs] == [
        p.span for p in convs[0].pairs
    ]


def test_train_spans_as_positions_round_trip(load, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    gold = load("semeval2024", "train")[:40]
    out = tmp_path / "Subtask_1_pred.json"
    write_conversations(gold, out, "semeval-subtask1", span_format="positions")
    first = json.loads(out.read_text())[0]["emotion-cause_pairs"][0]
    assert first == ["3_surprise", "1_21_27"]  # "I realize I am totally naked ." -> [21, 27)
    # like the official scorer, a submission cause must not contain letters
    causes = [p[1] for r in json.loads(out.read_text()) for p in r["emotion-cause_pairs"]]
    assert len(causes) == sum(len(c.pairs) for c in gold)
    assert not any(ch.isalpha() for cause in causes for ch in cause)
    back = read_semeval(out)
    for want, got in zip(gold, back):
        assert [(p.key, p.emotion, p.span.start, p.span.end) for p in want.pairs] == [  # type: ignore[union-attr]
            (p.key, p.emotion, p.span.start, p.span.end) for p in got.pairs
        ]  # type: ignore[union-attr]
        text = {i: u.text.split() for i, u in enumerate(want.utterances, start=1)}
        assert all(
            p.span.text == " ".join(text[p.cause_utterance][p.span.start : p.span.end])  # type: ignore[union-attr]
            for p in got.pairs
        )


def test_positions_writer_edge_cases(make_file) -> None:  # type: ignore[no-untyped-def]
    record = json.loads(json.dumps(PREDICTION))
    record[0]["emotion-cause_pairs"] = [["1_joy", "1"], ["2_joy", "1_I got the job !"]]
    (conv,) = read_semeval(make_file("Subtask_1_mixed.json", json.dumps(record)))
    # no span: the whole cause utterance; a text span: its located range
    assert to_semeval([conv], 1, span_format="positions")[0]["emotion-cause_pairs"] == [
        ["1_joy", "1_0_8"],
        ["2_joy", "1_3_7"],
    ]
    lost = conv.with_predictions(
        pairs=[EmotionCausePair(1, 2, emotion="joy", span=CauseSpan(text="no such words"))]
    )
    with pytest.raises(DataFormatError, match=r"span 'no such words' is not in cause utterance 2"):
        to_semeval([lost], 1, span_format="positions")
    with pytest.raises(
        DataFormatError, match="span_format applies only to format 'semeval-subtask1', not 'jsonl'"
    ):
        write_conversations([conv], "x.jsonl", "jsonl", span_format="positions")
    with pytest.raises(DataFormatError, match="unknown span_format 'auto'"):
        to_semeval([conv], 1, span_format="auto")


def test_positions_prediction_of_gold_scores_one(load, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from unimeec.evaluation import evaluate

    gold = load("semeval2024", "train")[:40]
    out = tmp_path / "Subtask_1_pred.json"
    write_conversations(gold, out, "semeval-subtask1", span_format="positions")
    metrics = evaluate(gold, read_conversations(out))
    assert metrics["semeval_st1_strict_micro_f1"] == 1.0
    assert metrics["semeval_st1_strict_weighted_f1"] == 1.0
    assert metrics["semeval_st1_proportional_micro_f1"] == 1.0
    # one end position off by one: that pair is wrong for strict matching, N-1 of N right
    record = json.loads(out.read_text())
    cause_utt, start, end = record[0]["emotion-cause_pairs"][0][1].split("_")
    record[0]["emotion-cause_pairs"][0][1] = f"{cause_utt}_{start}_{int(end) - 1}"
    out.write_text(json.dumps(record))
    n = len(
        {
            (c.id, p.emotion_utterance, p.emotion, p.cause_utterance, p.span.start, p.span.end)  # type: ignore[union-attr]
            for c in gold
            for p in c.pairs
        }
    )
    metrics = evaluate(gold, read_conversations(out))
    assert metrics["semeval_st1_strict_micro_f1"] == pytest.approx((n - 1) / n)
