"""What one conversation page shows: its rows and arrows, judged against gold when given.

The judging uses the scorers' own notion of a pair (the utterance pair ``(emotion, cause)``,
distinct, exact duplicates included, as :mod:`unimeec.evaluation.counts` counts them), so the
marks a person sees add up to the counts on the evaluation page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from unimeec.data.schema import Conversation, EmotionCausePair
from unimeec.errors import DataFormatError

#: Pair statuses: ``predicted`` (no gold causes to judge by), ``correct`` (predicted and gold),
#: ``spurious`` (predicted, not gold), ``missed`` (gold, not predicted).
PAIR_STATUSES: tuple[str, ...] = ("predicted", "correct", "spurious", "missed")
#: Emotion statuses: ``plain`` (nothing to judge by), ``correct``, ``wrong`` (another emotion
#: than gold) and ``unpredicted`` (gold has an emotion, the prediction none).
EMOTION_STATUSES: tuple[str, ...] = ("plain", "correct", "wrong", "unpredicted")


@dataclass(frozen=True)
class UtteranceRow:
    """One utterance as shown: the (predicted) emotion, its probability and the gold one."""

    index: int
    speaker: str
    text: str
    emotion: str | None
    probability: float | None
    gold_emotion: str | None
    status: str


@dataclass(frozen=True)
class Arrow:
    """One drawn cause -> emotion arrow. ``score``: the pair probability (None for gold)."""

    emotion_utterance: int
    cause_utterance: int
    status: str
    score: float | None
    emotion: str | None

    @property
    def distance(self) -> int:
        """Emotion index minus cause index (0: the utterance causes its own emotion)."""
        return self.emotion_utterance - self.cause_utterance


@dataclass(frozen=True)
class ConversationView:
    """A conversation ready to draw. ``judged``: gold was given for it."""

    id: str
    rows: tuple[UtteranceRow, ...]
    arrows: tuple[Arrow, ...]
    judged: bool
    has_prediction: bool

    def count(self, status: str) -> int:
        """Arrows with pair status ``status`` or rows with emotion status ``status``."""
        if status in PAIR_STATUSES:
            return sum(arrow.status == status for arrow in self.arrows)
        if status in EMOTION_STATUSES:
            return sum(row.status == status for row in self.rows)
        raise ValueError(f"unknown status {status!r}")

    @property
    def emotion_errors(self) -> int:
        return self.count("wrong") + self.count("unpredicted")

    @property
    def errors(self) -> int:
        """Everything marked as an error: wrong or missing emotions, missed and spurious pairs."""
        return self.emotion_errors + self.count("missed") + self.count("spurious")

    @property
    def predicted_pairs(self) -> int:
        return sum(arrow.status in ("predicted", "correct", "spurious") for arrow in self.arrows)


def build_view(
    prediction: Conversation | None, gold: Conversation | None = None
) -> ConversationView:
    """The view of ``prediction`` (None: gold has no prediction), judged against ``gold``.

    Without gold, the conversation is shown as it is (a prediction, or gold data itself).
    """
    if prediction is None and gold is None:
        raise ValueError("need a prediction or a gold conversation")
    if gold is not None and prediction is not None and prediction.id != gold.id:
        raise DataFormatError(
            f"prediction {prediction.id!r} shown against gold {gold.id!r}",
            conversation=gold.id,
            field="id",
        )
    base = gold if gold is not None else prediction
    assert base is not None
    predicted = prediction.utterances if prediction is not None else []
    rows = []
    for position, utt in enumerate(base.utterances):
        shown = predicted[position] if position < len(predicted) else None
        emotion = shown.emotion if shown is not None else None
        probability = None
        if shown is not None and emotion is not None and shown.emotion_scores:
            probability = shown.emotion_scores.get(emotion)
        gold_emotion = utt.emotion if gold is not None else None
        rows.append(
            UtteranceRow(
                utt.index,
                utt.speaker,
                utt.text,
                emotion,
                probability,
                gold_emotion,
                _emotion_status(emotion, gold_emotion, gold),
            )
        )
    return ConversationView(
        id=base.id,
        rows=tuple(rows),
        arrows=tuple(_arrows(prediction, gold)),
        judged=gold is not None,
        has_prediction=prediction is not None,
    )


def _emotion_status(
    emotion: str | None, gold_emotion: str | None, gold: Conversation | None
) -> str:
    if gold is None or gold_emotion is None:
        return "plain"
    if emotion is None:
        return "unpredicted"
    return "correct" if emotion == gold_emotion else "wrong"


def _all_pairs(conversation: Conversation | None) -> list[EmotionCausePair]:
    """The pairs the scorer counts: readers keep exact duplicates aside, they count too."""
    if conversation is None:
        return []
    return list(conversation.pairs) + list(conversation.duplicate_pairs)


def _by_key(
    pairs: Iterable[EmotionCausePair], conversation: Conversation | None
) -> dict[tuple[int, int], tuple[float | None, str | None]]:
    """Distinct utterance pairs with their best score and their emotion."""
    found: dict[tuple[int, int], tuple[float | None, str | None]] = {}
    for pair in pairs:
        emotion = pair.emotion
        if (
            emotion is None
            and conversation is not None
            and pair.emotion_utterance <= len(conversation.utterances)
        ):
            emotion = conversation.utterances[pair.emotion_utterance - 1].emotion
        score, known = found.get(pair.key, (None, None))
        if pair.score is not None and (score is None or pair.score > score):
            score = pair.score
        found[pair.key] = (score, known if known is not None else emotion)
    return found


def _arrows(prediction: Conversation | None, gold: Conversation | None) -> list[Arrow]:
    predicted = _by_key(_all_pairs(prediction), prediction)
    judged = gold is not None and gold.has_cause_labels
    truth = _by_key(_all_pairs(gold), gold) if judged else {}
    arrows = []
    for key, (score, emotion) in predicted.items():
        status = "predicted" if not judged else "correct" if key in truth else "spurious"
        arrows.append(Arrow(key[0], key[1], status, score, emotion))
    for key, (_, emotion) in truth.items():
        if key not in predicted:
            arrows.append(Arrow(key[0], key[1], "missed", None, emotion))
    return sorted(arrows, key=lambda a: (a.emotion_utterance, a.cause_utterance))
