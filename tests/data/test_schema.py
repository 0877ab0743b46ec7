"""The conversation schema validates on construction and round-trips through JSONL dicts."""

import pytest

from unimeec import CauseSpan, Conversation, DataFormatError, EmotionCausePair, Utterance


def _conv(**kw):
    utts = [
        Utterance(1, "A", "I lost my keys .", "sadness"),
        Utterance(2, "B", "Oh no !", "surprise"),
    ]
    return Conversation(id="7", utterances=utts, dataset="ecf1", **kw)


def test_round_trip_is_lossless():
    conv = _conv(
        pairs=[
            EmotionCausePair(1, 1, "sadness", CauseSpan("I lost my keys", 0, 4)),
            EmotionCausePair(2, 1, "surprise", score=0.75),
        ]
    )
    conv.utterances[0].meta["meld_id"] = "train_dia1_utt0"
    again = Conversation.from_dict(conv.to_dict())
    assert again == conv
    assert again.emotion_utterances == [1, 2]
    assert again.causes_of(2) == [1]


def test_unknown_emotion_names_conversation_and_field():
    with pytest.raises(DataFormatError, match=r"conversation 7, field 'emotion'.*'happy'"):
        Conversation("7", [Utterance(1, "A", "x", "happy")], dataset="ecf1")


def test_pair_outside_conversation_is_rejected():
    with pytest.raises(DataFormatError, match=r"points outside the conversation's 2 utterances"):
        _conv(pairs=[EmotionCausePair(3, 1)])


def test_empty_conversation_and_bad_index_are_rejected():
    with pytest.raises(DataFormatError, match="no utterances"):
        Conversation("x", [])
    with pytest.raises(DataFormatError, match="position 1 has index 2"):
        Conversation("x", [Utterance(2, "A", "hi")])


def test_duplicates_are_removed_visibly():
    conv = _conv(pairs=[EmotionCausePair(2, 1, "surprise")] * 3)
    assert conv.deduplicate_pairs() == 2
    assert len(conv.pairs) == 1 and len(conv.duplicate_pairs) == 2


def test_unknown_jsonl_field_is_an_error():
    with pytest.raises(
        DataFormatError, match=r"conversation 1.*unknown field\(s\) in utterance 1: emtion"
    ):
        Conversation.from_dict({"id": 1, "utterances": [{"text": "hi", "emtion": "joy"}]})
