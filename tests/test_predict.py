"""Predictor: every accepted input shape, clear errors for bad input and bad checkpoints,
batch-size independence and the missing-modality warning (tiny random backbone)."""

from __future__ import annotations

import pytest

from unimeec.data.schema import Conversation, Utterance
from unimeec.errors import DataFormatError
from unimeec.predict import parse_conversations

SEMEVAL_RECORD = {
    "conversation_ID": 7,
    "conversation": [
        {"utterance_ID": 1, "text": "You got the job?", "speaker": "Monica"},
        {"utterance_ID": 2, "text": "I got it!", "speaker": "Rachel", "video_name": "dia7utt2.mp4"},
    ],
}
JSONL_RECORD = {"id": "a", "utterances": [{"speaker": "Joey", "text": "How you doin'?"}]}


# ---------------------------------------------------------------------- input parsing
def test_single_inputs_stay_single() -> None:
    turns = [("Monica", "You got the job?"), ("Rachel", "I got it!")]
    conversations, single = parse_conversations(turns)
    assert single and len(conversations) == 1
    conv = conversations[0]
    assert conv.id == "conversation-1"
    assert [(u.index, u.speaker, u.text) for u in conv.utterances] == [
        (1, "Monica", "You got the job?"),
        (2, "Rachel", "I got it!"),
    ]
    conversations, single = parse_conversations(JSONL_RECORD)
    assert single and conversations[0].id == "a" and conversations[0].utterances[0].index == 1
    conversations, single = parse_conversations(SEMEVAL_RECORD)
    assert single and conversations[0].id == "7"
    assert conversations[0].utterances[1].media == "dia7utt2.mp4"
    obj = Conversation(id="x", utterances=[Utterance(index=1, speaker="A", text="hi")])
    assert parse_conversations(obj) == ([obj], True)


def test_mixed_list_keeps_input_order() -> None:
    obj = Conversation(id="x", utterances=[Utterance(index=1, speaker="A", text="hi")])
    conversations, single = parse_conversations(
        [
            SEMEVAL_RECORD,
            [("A", "one"), ("B", "two")],
            JSONL_RECORD,
            obj,
            SEMEVAL_RECORD | {"conversation_ID": 8},
        ]
    )
    assert not single
    assert [c.id for c in conversations] == ["7", "conversation-2", "a", "x", "8"]
    assert parse_conversations([]) == ([], False)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"id": "e", "utterances": []},
            r"conversation e, field 'utterances': conversation has no utterances",
        ),
        ([[]], r"conversation #1, field 'utterances': conversation has no utterances"),
        (
            {"id": "u", "utterances": [{"text": "hi", "mood": "ok"}]},
            r"conversation u, field 'mood': unknown field\(s\) in utterance 1: mood",
        ),
        (
            {"id": "u", "utterances": [], "speakers": []},
            r"conversation u, field 'speakers': unknown",
        ),
        ([{"turns": []}], r"conversation #1, .*unknown conversation record"),
        (
            {"conversation_ID": 3, "conversation": []},
            r"conversation 3, field 'conversation': 'conversation' must be a non-empty list",
        ),
        ("just a string", r"cannot predict on a str"),
        ([42], r"input #1 is a int"),
    ],
)
def test_bad_input_is_a_one_line_error(inputs: object, message: str) -> None:
    with pytest.raises(DataFormatError, match=message):
        parse_conversations(inputs)
