"""Predictions may omit conversations, never invent them: clear errors naming the place."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from unimeec.data.schema import Conversation
from unimeec.errors import DataFormatError
from unimeec.evaluation import evaluate

Builder = Callable[..., Conversation]


@pytest.fixture
def gold(conv: Builder) -> list[Conversation]:
    return [conv("7", ["joy", "neutral"], [(1, 1)]), conv("8", ["anger"], [(1, 1)])]


def test_unknown_conversation_id(gold: list[Conversation], conv: Builder) -> None:
    with pytest.raises(
        DataFormatError,
        match="conversation 9, field 'id': prediction for a "
        "conversation id that is not in the gold data",
    ):
        evaluate(gold, [conv("9", ["joy"])])


def test_repeated_prediction(gold: list[Conversation], conv: Builder) -> None:
    with pytest.raises(DataFormatError, match="conversation 8.*repeats a conversation id"):
        evaluate(gold, [conv("8", ["anger"]), conv("8", ["anger"])])


def test_repeated_gold_conversation(gold: list[Conversation]) -> None:
    with pytest.raises(DataFormatError, match="conversation 7.*gold conversation id occurs twice"):
        evaluate(gold + [gold[0]], [])


def test_prediction_with_more_utterances_than_gold(gold: list[Conversation], conv: Builder) -> None:
    pred = [conv("8", ["anger", "joy", "joy"], [(3, 2)])]
    with pytest.raises(
        DataFormatError,
        match="conversation 8, field 'utterances': prediction "
        "has 3 utterances but the gold conversation has 1",
    ):
        evaluate(gold, pred)


def test_unknown_predicted_emotion(gold: list[Conversation], conv: Builder) -> None:
    pred = [conv("7", ["happy", "neutral"], dataset=None)]
    with pytest.raises(
        DataFormatError,
        match="conversation 7, field 'emotion': predicted utterance 1: unknown emotion 'happy'",
    ):
        evaluate(gold, pred)
    pair_emotion = [conv("7", [None, None], [(1, 1, "glee")], dataset=None)]
    with pytest.raises(DataFormatError, match=r"predicted pair \(1, 1\): unknown emotion 'glee'"):
        evaluate(gold, pair_emotion)


def test_mixed_gold_label_sets(gold: list[Conversation], conv: Builder) -> None:
    with pytest.raises(DataFormatError, match="gold conversations mix label sets"):
        evaluate([gold[0], conv("x", ["hap"], dataset="iemocap")], [])


def test_fewer_predicted_utterances_leave_the_rest_unpredicted(
    gold: list[Conversation], conv: Builder
) -> None:
    # a shorter prediction is allowed: the missing utterances have no predicted emotion
    m = evaluate([gold[0]], [conv("7", ["joy"])])
    assert m["merc_accuracy"] == 0.5
