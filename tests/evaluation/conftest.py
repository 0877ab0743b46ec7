"""Builders of small gold / predicted conversations shared by the evaluation tests.

They are exposed as fixtures (the suite runs with ``--import-mode=importlib``, where test
modules cannot import each other).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest

from unimeec.data.labels import ECF_EMOTIONS
from unimeec.data.schema import CauseSpan, Conversation, EmotionCausePair, Utterance

NAKED = "I realize I am totally naked ."  # 7 tokens
HERE = "Oh my God , what are you doing here ?"  # 10 tokens: Oh0 my1 God2 ,3 what4 ... ?9

#: ``(emotion_utt, cause_utt[, emotion[, span]])``
PairSpec = tuple


def build(
    cid: str,
    emotions: Sequence[str | None],
    pairs: Sequence[PairSpec] = (),
    texts: Sequence[str] | None = None,
    has_cause_labels: bool = True,
    dataset: str | None = "ecf1",
) -> Conversation:
    """A conversation with the given utterance emotions and pairs.

    A pair's span may be a string (span text, as in gold SemEval files) or a ``(start, end)``
    token range (as in predictions).
    """
    utts = [
        Utterance(
            index=k + 1,
            speaker="AB"[k % 2],
            text=texts[k] if texts is not None else f"utterance number {k + 1} .",
            emotion=e,
        )
        for k, e in enumerate(emotions)
    ]
    built = []
    for spec in pairs:
        i, j = spec[0], spec[1]
        emotion = spec[2] if len(spec) > 2 else None
        span = None
        if len(spec) > 3:
            raw = spec[3]
            span = (
                CauseSpan(text=raw) if isinstance(raw, str) else CauseSpan(start=raw[0], end=raw[1])
            )
        built.append(EmotionCausePair(i, j, emotion=emotion, span=span))
    return Conversation(
        id=cid, utterances=utts, pairs=built, dataset=dataset, has_cause_labels=has_cause_labels
    )


def mecpe_case() -> tuple[list[Conversation], list[Conversation]]:
    """MECPE / MECPE-Cat case worked by hand in ``test_eval_hand_computed.py``."""
    gold = [
        # c1: pairs (1,1) joy, (3,2) anger, (3,3) anger, (4,1) sadness, (6,6) disgust
        build(
            "c1",
            ["joy", "neutral", "anger", "sadness", "neutral", "disgust"],
            [(1, 1), (3, 2), (3, 3), (4, 1), (6, 6)],
        ),
        # c2: annotated, no pairs at all
        build("c2", ["neutral", "neutral", "neutral"]),
        # c3: pairs (1,1) surprise, (1,2) surprise; the prediction omits this conversation
        build("c3", ["surprise", "neutral"], [(1, 1), (1, 2)]),
    ]
    pred = [
        # (1,1) twice (a duplicate), (3,2) with the wrong category joy, (5,5) (5,4) surprise
        build(
            "c1",
            ["joy", "neutral", "joy", "neutral", "surprise", "disgust"],
            [(1, 1), (1, 1), (3, 2), (5, 5), (5, 4), (6, 6)],
        ),
        # a pair in a conversation without gold pairs; its emotion is given on the pair
        build("c2", ["neutral", "fear", "neutral"], [(2, 2, "fear")]),
    ]
    return gold, pred


def span_case() -> tuple[list[Conversation], list[Conversation]]:
    """Span case worked by hand in ``test_eval_spans.py``."""
    gold = [
        build(
            "s1",
            ["neutral", "surprise"],
            [
                (2, 1, "surprise", "I realize I am totally naked ."),  # -> [0, 6)
                (2, 2, "surprise", "what are you doing here ?"),  # -> [4, 9)
                (2, 2, "surprise", "Oh my God"),  # -> [0, 3)
                (2, 1, "surprise", "I realize I am totally naked ."),  # exact duplicate
            ],
            texts=[NAKED, HERE],
        ),
        build(
            "s2", ["anger"], [(1, 1, "anger", "b c d"), (1, 1, "anger", "f")], texts=["a b c d e f"]
        ),  # -> [1, 4) and [5, 6)
    ]
    pred = [
        build(
            "s1",
            ["joy", "surprise"],
            [
                (2, 1, "surprise", (0, 6)),  # exact: strict hit, overlap 6 of gold length 6
                (2, 2, "surprise", (2, 6)),  # overlaps [0,3) by 1 (1/3), [4,9) by 2 (2/5): -> [4,9)
                (2, 2, "surprise", (0, 2)),  # overlaps [0,3) by 2 (2/3) -> [0,3)
                (1, 1, "joy", (0, 3)),  # no gold pair (1, joy, 1): length 3, overlap 0
            ],
            texts=[NAKED, HERE],
        ),
        build(
            "s2",
            ["anger"],
            [
                (1, 1, "anger", (0, 2)),  # overlaps [1,4) by 1 (1/3)
                (1, 1, "anger", (3, 5)),  # overlaps [1,4) by 1 (1/3), [5,6) by 0 -> [1,4)
            ],
            texts=["a b c d e f"],
        ),
    ]
    return gold, pred


def synthetic_system(
    seed: int, accuracy: float, n: int = 40
) -> tuple[list[Conversation], list[Conversation]]:
    """Gold conversations (from ``seed``) and a prediction that keeps each label / pair with
    probability ``accuracy`` and adds wrong pairs."""
    rng = random.Random(seed)
    noise_rng = random.Random(seed * 1000 + int(accuracy * 100))
    gold, pred = [], []
    for c in range(n):
        length = rng.randint(2, 6)
        emotions = [rng.choice(list(ECF_EMOTIONS)) for _ in range(length)]
        pairs = [
            (i, j)
            for i in range(1, length + 1)
            for j in range(1, i + 1)
            if emotions[i - 1] != "neutral" and rng.random() < 0.4
        ]
        guessed = [
            e if noise_rng.random() < accuracy else noise_rng.choice(list(ECF_EMOTIONS))
            for e in emotions
        ]
        kept = [p for p in pairs if noise_rng.random() < accuracy]
        noise = [
            (i, j)
            for i in range(1, length + 1)
            for j in range(1, length + 1)
            if noise_rng.random() < (1 - accuracy) * 0.2
        ]
        gold.append(build(str(c), emotions, pairs))
        pred.append(build(str(c), guessed, sorted(set(kept + noise))))
    return gold, pred


@pytest.fixture
def conv() -> Callable[..., Conversation]:
    """The conversation builder (see :func:`build`)."""
    return build


@pytest.fixture(name="mecpe_case")
def mecpe_case_fixture() -> tuple[list[Conversation], list[Conversation]]:
    return mecpe_case()


@pytest.fixture(name="span_case")
def span_case_fixture() -> tuple[list[Conversation], list[Conversation]]:
    return span_case()


@pytest.fixture(name="synthetic_system")
def synthetic_system_fixture() -> Callable[..., tuple[list[Conversation], list[Conversation]]]:
    return synthetic_system
