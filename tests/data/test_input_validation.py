"""Bad input gives one named DataFormatError (file, line, field), never a coercion or a drop.

One test per class of issue 14: strict schema types, raw-traceback cases (deep JSON, huge CSV
fields, wrong JSON types), misleading messages, duplicate utterance ids, gold pairs that
contradict their emotion utterance, empty inputs and bad output paths.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unimeec.data import Conversation, read_conversations, write_conversations
from unimeec.data.readers.meld import read_meld
from unimeec.data.schema import CauseSpan, EmotionCausePair, Utterance
from unimeec.errors import DataFormatError, OutputError

GOOD = {
    "id": "a",
    "dataset": "ecf1",
    "utterances": [
        {"speaker": "A", "text": "I lost my keys .", "emotion": "sadness"},
        {"speaker": "B", "text": "Oh no !", "emotion": "surprise", "start": 1.5, "end": 2.0},
    ],
    "pairs": [
        [1, 1],
        {
            "emotion_utterance": 2,
            "cause_utterance": 1,
            "emotion": "surprise",
            "span": {"text": "I lost my keys", "start": 0, "end": 4},
        },
    ],
}


def _with(path: list, value) -> dict:  # type: ignore[no-untyped-def, type-arg]
    record = json.loads(json.dumps(GOOD))
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return record


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        (
            ["has_cause_labels"],
            "false",
            "has_cause_labels",
            r"conversation: input should be a valid boolean, got 'false' \(str\)",
        ),
        (["labels"], "joy", "labels", r"input should be a valid tuple, got 'joy' \(str\)"),
        (["labels"], ["joy", 3], "labels", r"labels\[1\]: input should be a valid string, got 3"),
        (
            ["utterances", 0, "speaker"],
            None,
            "speaker",
            "utterance 1, speaker: input should be a valid string, got None",
        ),
        (["utterances", 1, "text"], 7, "text", "utterance 2, text: input should be a valid string"),
        (
            ["pairs", 0],
            [True, 1],
            "emotion_utterance",
            "pair 1, emotion_utterance: input should be a valid integer, got True",
        ),
        (["pairs", 1, "cause_utterance"], 1.0, "cause_utterance", "valid integer, got 1.0"),
        (
            ["pairs", 1, "span", "start"],
            False,
            "start",
            ("pair 2, span, start: input should be a valid integer, got False"),
        ),
        (
            ["utterances", 1, "emotion_scores"],
            {"joy": "high"},
            "emotion_scores",
            r"emotion_scores\['joy'\]: input should be a valid number",
        ),
        (["utterances", 1, "latent_cause"], 1, "latent_cause", "valid boolean, got 1"),
        (["utterances", 1, "media"], 5, "media", "valid string, got 5"),
        (["meta"], [], "meta", "valid dictionary"),
        (["utterances", 0, "moood"], "x", "moood", r"unknown field\(s\) in utterance 1: moood"),
        (["pairs", 1, "span", "txt"], "x", "txt", r"unknown field\(s\) in pair 2, span: txt"),
        (["duplicate_pairs"], [], "duplicate_pairs", r"unknown field\(s\) in conversation"),
        (["id"], None, "id", "conversation id must be a string or an integer, got None"),
    ],
)
def test_jsonl_fields_have_strict_types(make_file, path, value, field, message) -> None:  # type: ignore[no-untyped-def]
    good = make_file("good.jsonl", json.dumps(GOOD) + "\n")
    assert len(read_conversations(good)) == 1
    bad = make_file("bad.jsonl", json.dumps(GOOD) + "\n" + json.dumps(_with(path, value)) + "\n")
    with pytest.raises(DataFormatError, match=message) as info:
        read_conversations(bad)
    assert (info.value.path, info.value.line, info.value.field) == (str(bad), 2, field)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('{"id": "a", "utterances": [{"text": "x", "start": NaN}]}', 1, "NaN is not a JSON value"),
        (
            '{"id": "a", "utterances": [{"text": "x", "end": Infinity}]}',
            1,
            "Infinity is not a JSON",
        ),
        (
            '{"id": "a", "utterances": [{"text": "x", "end": 1e999}]}',
            1,
            "number 1e999 is too large for a float",
        ),
        ("\n" + "[" * 50_000 + "]" * 50_000, 2, "nested too deeply"),
    ],
)
def test_non_standard_and_deep_json_lines(make_file, text, line, message) -> None:  # type: ignore[no-untyped-def]
    path = make_file("x.jsonl", text)
    with pytest.raises(DataFormatError, match=message) as info:
        read_conversations(path)
    assert (info.value.path, info.value.line) == (str(path), line)


def test_deep_json_file_and_constants_name_their_line(make_file) -> None:  # type: ignore[no-untyped-def]
    deep = make_file("deep.json", "[\n" + '{"a": ' * 5000 + "1" + "}" * 5000 + "\n]")
    with pytest.raises(DataFormatError, match="nested too deeply") as info:
        read_conversations(deep, "semeval")
    assert info.value.line == 2
    nan = make_file("nan.json", '[{"conversation_ID": 1,\n "x": "NaN",\n "y": NaN}]')
    with pytest.raises(DataFormatError, match="NaN is not a JSON value") as info:
        read_conversations(nan, "semeval")
    assert info.value.line == 3


def test_direct_construction_is_strict_too() -> None:
    with pytest.raises(
        DataFormatError,
        match="field 'speaker': Utterance: input should be a valid string, got None",
    ):
        Utterance(1, None, "hi")  # type: ignore[arg-type]
    with pytest.raises(DataFormatError, match="field 'index': .*input should be a valid integer"):
        Utterance(True, "A", "hi")
    with pytest.raises(DataFormatError, match="field 'start': .*input should be a finite number"):
        Utterance(1, "A", "hi", start=float("nan"))
    with pytest.raises(DataFormatError, match="field 'score': .*input should be a finite number"):
        EmotionCausePair(1, 1, score=float("inf"))
    assert Utterance(1, "A", "hi", start=2).start == 2.0  # an integer is a valid time


def test_writing_nan_in_meta_is_an_error(tmp_path: Path) -> None:
    conv = Conversation.from_dict(GOOD)
    conv.meta["score"] = float("nan")
    with pytest.raises(DataFormatError, match="conversation a: cannot write as standard JSON"):
        write_conversations([conv], tmp_path / "out.jsonl")


# ---------------------------------------------------------------------- SemEval
SEMEVAL = [
    {
        "conversation_ID": 1,
        "conversation": [
            {"utterance_ID": 1, "text": "I got the job !", "speaker": "Rachel", "emotion": "joy"},
            {"utterance_ID": 2, "text": "Wow .", "speaker": "Ross", "emotion": "surprise"},
        ],
        "emotion-cause_pairs": [["1_joy", "1_I got the job"], ["2_surprise", "1"]],
    }
]


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (
            lambda r: r[0].update(conversation_ID=None),
            "conversation_ID",
            "conversation_ID must be an integer or a non-empty string, got None",
        ),
        (lambda r: r[0].update(conversation_ID=1.5), "conversation_ID", "got 1.5"),
        (lambda r: r[0].update(conversation_ID=True), "conversation_ID", "got True"),
        (
            lambda r: r[0]["conversation"][1].update(utterance_ID=True),
            "utterance_ID",
            "utterance_ID True",
        ),
        (
            lambda r: r[0]["conversation"][1].update(video_name=3),
            "video_name",
            "valid string, got 3",
        ),
        (
            lambda r: r[0].update({"emotion-cause_pairs": {}}),
            "emotion-cause_pairs",
            "must be a list of pairs, got dict",
        ),
        (
            lambda r: r[0]["conversation"][1].update(emotion="neutral"),
            "emotion_utterance",
            "emotion utterance 2 is labelled 'neutral'; a cause needs an emotion",
        ),
        (
            lambda r: r[0]["emotion-cause_pairs"].append(["2_anger", "2"]),
            "emotion",
            r"pair \(2, 2\) says 'anger' but utterance 2 is labelled 'surprise'",
        ),
    ],
)
def test_semeval_strict(make_file, mutate, field, message) -> None:  # type: ignore[no-untyped-def]
    record = json.loads(json.dumps(SEMEVAL))
    assert len(read_conversations(make_file("ok.json", json.dumps(record)), "semeval")) == 1
    mutate(record)
    path = make_file("bad.json", json.dumps(record))
    with pytest.raises(DataFormatError, match=message) as info:
        read_conversations(path, "semeval")
    assert (info.value.path, info.value.field) == (str(path), field)


def test_semeval_infinite_id_is_rejected(make_file) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps(SEMEVAL).replace('"conversation_ID": 1', '"conversation_ID": Infinity')
    with pytest.raises(DataFormatError, match="Infinity is not a JSON value") as info:
        read_conversations(make_file("inf.json", text))
    assert info.value.line == 1


def test_semeval_dict_is_not_called_reccon(make_file) -> None:  # type: ignore[no-untyped-def]
    path = make_file("one.json", json.dumps(SEMEVAL[0]))
    with pytest.raises(
        DataFormatError, match="got a single conversation object; wrap it in"
    ) as info:
        read_conversations(path)
    assert "RECCON" not in str(info.value) and "dialogue_id" not in str(info.value)
    with pytest.raises(DataFormatError, match="looks like SemEval-2024 JSON"):
        read_conversations(path, "reccon")


# ---------------------------------------------------------------------- RECCON
RECCON = {
    "tr_1": [
        [
            {
                "turn": 1,
                "speaker": "A",
                "utterance": "I passed !",
                "emotion": "happiness",
                "expanded emotion cause evidence": [1],
                "expanded emotion cause span": ["I passed"],
                "type": ["no-context"],
            },
            {"turn": 2, "speaker": "B", "utterance": "Great .", "emotion": "neutral"},
        ]
    ]
}


@pytest.mark.parametrize(
    ("key", "value", "field", "message"),
    [
        ("comment", "x", "comment", r"unknown field\(s\) in turn 1: comment"),
        ("emotion", ["happiness"], "emotion", "turn 1: input should be a valid string"),
        ("speaker", 1, "speaker", "valid string, got 1"),
        ("turn", "1", "turn", "valid integer, got '1'"),
        ("expanded emotion cause evidence", [True], "expanded emotion cause evidence", "got True"),
        ("expanded emotion cause span", [1], "expanded emotion cause span", "valid string, got 1"),
        ("type", "no-context", "type", "valid list"),
    ],
)
def test_reccon_strict(make_file, key, value, field, message) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(RECCON))
    assert read_conversations(make_file("ok_train.json", json.dumps(data)), "reccon")[0].pairs
    data["tr_1"][0][0][key] = value
    path = make_file("bad.json", json.dumps(data))
    with pytest.raises(DataFormatError, match=message) as info:
        read_conversations(path, "reccon")
    assert (info.value.path, info.value.conversation, info.value.field) == (
        str(path),
        "tr_1",
        field,
    )


def test_reccon_cause_of_a_neutral_turn_is_an_error(make_file) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(RECCON))
    data["tr_1"][0][1].update(
        {"expanded emotion cause evidence": [1], "expanded emotion cause span": ["I passed"]}
    )
    with pytest.raises(DataFormatError, match="emotion utterance 2 is labelled 'neutral'"):
        read_conversations(make_file("n.json", json.dumps(data)), "reccon")


# ---------------------------------------------------------------------- CSV readers
def _meld_lines(shared_data: Path, n: int) -> list[str]:
    return (shared_data / "meld" / "dev_sent_emo.csv").read_text(encoding="utf-8").split("\n")[:n]


@pytest.mark.parametrize(("extra", "count"), [(",x", 12), (None, 6)])
def test_meld_field_count_message_is_exact(shared_data, make_file, extra, count) -> None:  # type: ignore[no-untyped-def]
    lines = _meld_lines(shared_data, 4)
    lines[2] = lines[2] + extra if extra else ",".join(lines[2].split(",")[:6])
    path = make_file("dev_sent_emo.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=f"row has {count} fields; expected 11") as info:
        read_meld(path)
    assert (info.value.line, info.value.field) == (3, "row")


def test_meld_duplicate_utterance_id(shared_data, make_file) -> None:  # type: ignore[no-untyped-def]
    lines = _meld_lines(shared_data, 3)
    path = make_file("dev_sent_emo.csv", "\n".join(lines + [lines[2]]) + "\n")
    with pytest.raises(
        DataFormatError,
        match="duplicate Utterance_ID 1 in dialogue 0 "
        r"\(first on line 3\)",
    ) as info:
        read_meld(path)
    assert (info.value.line, info.value.conversation, info.value.field) == (4, "0", "Utterance_ID")


def test_emorynlp_duplicate_utterance_id(shared_data, make_file) -> None:  # type: ignore[no-untyped-def]
    lines = (
        (shared_data / "emorynlp" / "emorynlp_dev_final.csv")
        .read_text(encoding="utf-8")
        .split("\n")[:3]
    )
    path = make_file("emorynlp_dev_final.csv", "\n".join(lines + [lines[1]]) + "\n")
    with pytest.raises(
        DataFormatError, match="duplicate Utterance_ID 1 in scene s1_e15_c1"
    ) as info:
        read_conversations(path)
    assert info.value.line == 4


def test_csv_field_longer_than_the_csv_limit_reads(shared_data, make_file) -> None:  # type: ignore[no-untyped-def]
    import csv

    lines = _meld_lines(shared_data, 3)
    long_text = "word " * 40_000  # 200,000 characters, over csv's 131,072 default limit
    lines[2] = lines[2].replace("What?", long_text.strip())
    limit = csv.field_size_limit()
    (conv,) = read_meld(make_file("dev_sent_emo.csv", "\n".join(lines) + "\n"))
    assert conv.utterance(2).text == long_text.strip()
    assert csv.field_size_limit() == limit  # process-wide state is restored


def test_malformed_csv_names_the_line(make_file) -> None:  # type: ignore[no-untyped-def]
    header = (
        "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,"
        "Episode,StartTime,EndTime\n"
    )
    path = make_file("bad.csv", header + '1,"unterminated\x00,A,joy\n')
    with pytest.raises(DataFormatError) as info:
        read_conversations(path, "meld")
    assert info.value.path == str(path) and info.value.line is not None


# ---------------------------------------------------------------------- ECF, IEMOCAP, ConvECPE
def test_ecf_pair_on_a_neutral_utterance(shared_data, make_file) -> None:  # type: ignore[no-untyped-def]
    block = (shared_data / "ecf1" / "dev.txt").read_text(encoding="utf-8").split("\n")[:15]
    assert len(read_conversations(make_file("dev.txt", "\n".join(block) + "\n"), "ecf")) == 1
    block[1] += ",(1,1)"  # utterance 1 of conversation 18 is neutral
    with pytest.raises(
        DataFormatError,
        match=r"pair \(1, 1\): emotion utterance 1 is labelled "
        "'neutral'",
    ) as info:
        read_conversations(make_file("bad.txt", "\n".join(block) + "\n"), "ecf")
    assert (info.value.line, info.value.conversation) == (2, "18")


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (
            "Ses01F_impro01_F000\tHi .\tneu\nSes01F_impro01_F000\tHi again .\tneu\n",
            2,
            r"duplicate utterance id Ses01F_impro01_F000 \(first at line 1\)",
        ),
        (
            "Ses01F_impro01_F000\tHi .\tneu\nSes01F_impro02_M000\tOther .\tneu\n",
            2,
            "belongs to dialogue Ses01F_impro02, not to Ses01F_impro01",
        ),
    ],
)
def test_iemocap_tsv_never_merges_utterances(make_file, content, line, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataFormatError, match=message) as info:
        read_conversations(make_file("x.tsv", content))
    assert (info.value.line, info.value.field) == (line, "speaker")


def test_iemocap_json_duplicate_and_types(make_file) -> None:  # type: ignore[no-untyped-def]
    dup = [
        [
            {"text": "a", "speaker": "Ses01F_impro01_F000"},
            {"text": "b", "speaker": "Ses01F_impro01_F000"},
        ]
    ]
    with pytest.raises(DataFormatError, match="duplicate utterance id Ses01F_impro01_F000"):
        read_conversations(make_file("d.json", json.dumps(dup)), "iemocap-json")
    typed = [[{"text": 5, "speaker": "F"}]]
    with pytest.raises(DataFormatError, match="utterance 1: 'text' must be a string, got 5"):
        read_conversations(make_file("t.json", json.dumps(typed)), "iemocap-json")


def test_convecpe_strict(make_file) -> None:  # type: ignore[no-untyped-def]
    data = {
        "format": "convecpe",
        "dialogues": [
            {
                "id": "d",
                "pairs": [[2, 1]],
                "utterances": [
                    {"speaker": "F", "text": "Cancelled .", "emotion": "neu"},
                    {"speaker": "M", "text": "Awful .", "emotion": "sad", "note": "x"},
                ],
            }
        ],
    }
    with pytest.raises(DataFormatError, match=r"utterance 2: unknown field\(s\) note"):
        read_conversations(make_file("a.json", json.dumps(data)), "convecpe")
    del data["dialogues"][0]["utterances"][1]["note"]
    data["dialogues"][0]["pairs"] = [[1, 1]]
    with pytest.raises(DataFormatError, match="emotion utterance 1 is labelled 'neu'"):
        read_conversations(make_file("b.json", json.dumps(data)), "convecpe")
    data["dialogues"][0]["pairs"] = [[2, 1]]
    data["dialogues"][0]["utterances"][0]["speaker"] = None
    with pytest.raises(DataFormatError, match="field 'speaker'"):
        read_conversations(make_file("c.json", json.dumps(data)), "convecpe")


# ---------------------------------------------------------------------- detection, empty, output
def test_detection_keeps_the_line_and_names_no_python_option(make_file) -> None:  # type: ignore[no-untyped-def]
    bad = make_file("bad.json", '[\n {"conversation_ID": 1,\n  "conversation": [}\n]')
    with pytest.raises(DataFormatError, match="invalid JSON.*cannot detect the format") as info:
        read_conversations(bad)
    assert info.value.line == 3
    for name, content in (("x.txt", "hello\n"), ("x.csv", "a,b\n1,2\n"), ("x.json", "[1, 2]")):
        with pytest.raises(DataFormatError, match="name (it|the format) explicitly") as info:
            read_conversations(make_file(name, content))
        assert "format=" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "fmt"),
    [
        ("e.jsonl", "\n\n", None),
        ("e.json", "[]", "semeval"),
        ("e_dev.json", "{}", "reccon"),
        ("e.txt", "", "dailydialog"),
    ],
)
def test_empty_input_is_an_error(make_file, name, content, fmt) -> None:  # type: ignore[no-untyped-def]
    path = make_file(name, content)
    with pytest.raises(DataFormatError, match="no conversations in the file") as info:
        read_conversations(path, fmt)
    assert info.value.path == str(path)


def test_lone_surrogates_are_refused_in_every_text_field(make_file) -> None:  # type: ignore[no-untyped-def]
    for key, where in (("id", None), ("speaker", 0), ("text", 0)):
        record = json.loads(json.dumps(GOOD))
        if where is None:
            record[key] = "c\ud800"
        else:
            record["utterances"][where][key] = "c\ud800"
        path = make_file("s.jsonl", json.dumps(record) + "\n")  # json.dumps escapes it
        with pytest.raises(DataFormatError, match="lone surrogate at character 1") as info:
            read_conversations(path)
        assert info.value.field == key and info.value.line == 1
        str(info.value).encode("utf-8")  # the message itself is printable
    span = {"text": "\udfff", "start": 0, "end": 1}
    with pytest.raises(DataFormatError, match="lone surrogate at character 0"):
        CauseSpan(**span)


def test_output_paths(tmp_path: Path) -> None:
    conv = Conversation.from_dict(GOOD)
    nested = tmp_path / "new" / "folder" / "out.jsonl"
    write_conversations([conv], nested)  # missing folders are created
    assert read_conversations(nested)[0] == conv
    with pytest.raises(OutputError, match="is a directory; give a file name"):
        write_conversations([conv], tmp_path / "new")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="cannot create its folder"):
        write_conversations([conv], tmp_path / "file" / "out.json", "semeval-subtask2")
