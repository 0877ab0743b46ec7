"""Turn one (gold, prediction) conversation into a vector of integer counts.

Every metric we report is a function of counts summed over conversations (confusion matrix,
true positives, predicted and gold totals, span overlaps). Encoding each conversation as one
fixed-length integer vector is what lets a single formula module serve offline evaluation, the
bootstrap (resample rows, sum, apply the formulas) and distributed validation (gather rows,
drop duplicated conversations, sum, apply the formulas): no metric is written twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from unimeec.data.datasets import LABEL_SETS
from unimeec.data.labels import ECF_EMOTIONS, ECF_MAIN_EMOTIONS, is_neutral
from unimeec.data.schema import Conversation, EmotionCausePair
from unimeec.errors import DataFormatError
from unimeec.evaluation.spans import (
    SpanPair,
    gold_span_range,
    predicted_span_range,
    proportional_counts,
)

#: Named blocks of the count vector, each with its shape given the number of MERC labels ``n``
#: and of scored cause emotions ``m`` (resolved in :class:`CountLayout`).
_SCALARS = (
    "conversations",  # gold conversations seen
    "missing",  # of which the prediction omitted
    "pred_emotions",  # gold-labelled utterances that received a predicted emotion
    "cause_conversations",  # gold conversations with cause labels (MECPE scope)
    "gold_duplicates",  # exact duplicate gold pairs dropped
    "pred_duplicates",  # exact duplicate predicted pairs dropped
    "gold_pairs_with_span",  # distinct gold pairs with a span (enables subtask-1 metrics)
    "unlocated_gold_spans",  # gold span texts not found in their utterance (scored as [0, 0))
)
#: tp / predicted / gold triples.
_TRIPLES = ("pairs", "emotion_utterances", "cause_utterances")


@dataclass(frozen=True)
class CountLayout:
    """Where each count lives in the per-conversation vector, for one label set.

    ``labels``: the MERC classes in label-set order; ``cause_emotions``: the MECPE-Cat
    categories (the non-neutral labels; for ECF the six of SemEval-2024 subtask 2).
    """

    labels: tuple[str, ...]
    cause_emotions: tuple[str, ...] = ()
    #: Length of the count vector (derived).
    size: int = field(default=0, init=False)
    _slices: dict[str, tuple[slice, tuple[int, ...]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "cause_emotions", tuple(self.cause_emotions))
        if not self.cause_emotions:
            object.__setattr__(
                self, "cause_emotions", tuple(lab for lab in self.labels if not is_neutral(lab))
            )
        n, m = len(self.labels), len(self.cause_emotions)
        shapes: list[tuple[str, tuple[int, ...]]] = [(name, ()) for name in _SCALARS]
        shapes += [("merc_confusion", (n, n + 1))]  # last column: no prediction
        shapes += [(name, (3,)) for name in _TRIPLES]
        shapes += [("cat", (m, 3)), ("span_strict", (m, 3)), ("span_proportional", (m, 4))]
        offset = 0
        for name, shape in shapes:
            size = int(np.prod(shape)) if shape else 1
            self._slices[name] = (slice(offset, offset + size), shape)
            offset += size
        object.__setattr__(self, "size", offset)

    def zeros(self) -> np.ndarray:
        return np.zeros(self.size, dtype=np.int64)

    def view(self, counts: np.ndarray, name: str) -> np.ndarray:
        """The block ``name`` of a count vector (a view: writing to it writes the vector)."""
        where, shape = self._slices[name]
        block = counts[where]
        return block.reshape(shape) if shape else block

    def scalar(self, counts: np.ndarray, name: str) -> int:
        return int(self.view(counts, name)[0])

    @property
    def main_emotions(self) -> tuple[str, ...] | None:
        """The four emotions of the ``_4`` average (RECCON spells joy "happiness"), if present."""
        chosen = []
        for name in ECF_MAIN_EMOTIONS:
            if name in self.cause_emotions:
                chosen.append(name)
            elif name == "joy" and "happiness" in self.cause_emotions:
                chosen.append("happiness")
            else:
                return None
        return tuple(chosen)

    def label_index(self, label: str, conversation: str, what: str) -> int:
        try:
            return self.labels.index(label)
        except ValueError:
            raise DataFormatError(
                f"{what}: unknown emotion {label!r}; the evaluation's label set is "
                f"{', '.join(self.labels)}",
                conversation=conversation,
                field="emotion",
            ) from None


def infer_labels(gold: Sequence[Conversation]) -> tuple[str, ...]:
    """The label set of the gold conversations (they must agree).

    Conversations without an explicit set fall back to their dataset's, then to ECF's labels
    when every observed emotion belongs to them, else to the sorted observed emotions.
    """
    found: tuple[str, ...] | None = None
    for conv in gold:
        labels = conv.labels or LABEL_SETS.get(conv.dataset or "")
        if labels is None:
            continue
        if found is not None and tuple(labels) != found:
            raise DataFormatError(
                f"gold conversations mix label sets ({', '.join(found)} vs {', '.join(labels)}); "
                "evaluate one dataset at a time",
                conversation=conv.id,
                field="labels",
            )
        found = tuple(labels)
    if found is not None:
        return found
    seen = {u.emotion for c in gold for u in c.utterances if u.emotion is not None}
    seen |= {p.emotion for c in gold for p in c.pairs if p.emotion is not None}
    if seen <= set(ECF_EMOTIONS):
        return ECF_EMOTIONS
    return tuple(sorted(seen, key=lambda lab: (not is_neutral(lab), lab)))


def conversation_key(conversation_id: str) -> int:
    """A stable signed 64-bit key of a conversation id (same value in every process and run)."""
    digest = hashlib.blake2b(conversation_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def align(
    gold: Sequence[Conversation], pred: Iterable[Conversation]
) -> list[tuple[Conversation, Conversation | None]]:
    """Pair every gold conversation with its prediction (None when the prediction omits it).

    Predictions may omit conversations but not invent them, nor repeat them.
    """
    gold_by_id: dict[str, Conversation] = {}
    for conv in gold:
        if conv.id in gold_by_id:
            raise DataFormatError(
                "gold conversation id occurs twice", conversation=conv.id, field="id"
            )
        gold_by_id[conv.id] = conv
    pred_by_id: dict[str, Conversation] = {}
    for conv in pred:
        if conv.id not in gold_by_id:
            raise DataFormatError(
                "prediction for a conversation id that is not in the gold data",
                conversation=conv.id,
                field="id",
            )
        if conv.id in pred_by_id:
            raise DataFormatError(
                "prediction repeats a conversation id", conversation=conv.id, field="id"
            )
        pred_by_id[conv.id] = conv
    return [(conv, pred_by_id.get(conv.id)) for conv in gold]


def count_conversation(
    gold: Conversation, pred: Conversation | None, layout: CountLayout
) -> np.ndarray:
    """The count vector of one gold conversation and its prediction (None = predicts nothing)."""
    counts = layout.zeros()
    if pred is not None:
        _check_prediction(gold, pred)
    layout.view(counts, "conversations")[0] = 1
    layout.view(counts, "missing")[0] = int(pred is None)
    _count_emotions(gold, pred, layout, counts)
    if not gold.has_cause_labels:
        return counts
    layout.view(counts, "cause_conversations")[0] = 1
    # readers may already have moved exact duplicates aside; count them all the same
    gold_pairs = list(gold.pairs) + list(gold.duplicate_pairs)
    pred_pairs = list(pred.pairs) + list(pred.duplicate_pairs) if pred is not None else []
    layout.view(counts, "gold_duplicates")[0] = _n_duplicates(gold_pairs)
    layout.view(counts, "pred_duplicates")[0] = _n_duplicates(pred_pairs)
    _count_pairs(gold, pred, gold_pairs, pred_pairs, layout, counts)
    gold_cat = _categorised(gold_pairs, gold, layout, gold.id, "gold pair")
    pred_cat = _categorised(pred_pairs, pred, layout, gold.id, "predicted pair")
    _count_categories(gold_cat, pred_cat, layout, counts)
    _count_spans(gold, gold_pairs, gold_cat, pred_cat, layout, counts)
    return counts


def count_conversations(
    gold: Sequence[Conversation], pred: Iterable[Conversation], layout: CountLayout
) -> np.ndarray:
    """One count row per gold conversation, in gold order: shape ``[n_gold, layout.size]``."""
    rows = [count_conversation(g, p, layout) for g, p in align(gold, pred)]
    return np.stack(rows) if rows else np.zeros((0, layout.size), dtype=np.int64)


def validate_predictions(
    gold: Sequence[Conversation], pred: Iterable[Conversation], layout: CountLayout
) -> None:
    """Raise :class:`DataFormatError` if ``pred`` names conversations, utterances or emotions
    that ``gold`` and the label set do not have (so a caller can say which file is wrong)."""
    for g, p in align(gold, pred):
        if p is None:
            continue
        _check_prediction(g, p)
        for utt in p.utterances:
            if utt.emotion is not None:
                layout.label_index(utt.emotion, p.id, f"predicted utterance {utt.index}")
        _categorised(list(p.pairs), p, layout, p.id, "predicted pair")


# ---------------------------------------------------------------------------- helpers
def _triple(gold: set, pred: set) -> list[int]:  # type: ignore[type-arg]
    """(true positives, predicted, gold) of two sets."""
    return [len(gold & pred), len(pred), len(gold)]


def _exact_key(pair: EmotionCausePair) -> tuple:  # type: ignore[type-arg]
    """What makes two pairs exact duplicates (the schema's ``deduplicate_pairs`` key)."""
    return (pair.emotion_utterance, pair.emotion, pair.cause_utterance, pair.span)


def _count_pairs(
    gold: Conversation,
    pred: Conversation | None,
    gold_pairs: list[EmotionCausePair],
    pred_pairs: list[EmotionCausePair],
    layout: CountLayout,
    counts: np.ndarray,
) -> None:
    """MECPE: utterance pairs, emotion utterances and cause utterances (category ignored)."""
    gold_keys = {p.key for p in gold_pairs}
    pred_keys = {p.key for p in pred_pairs}
    layout.view(counts, "pairs")[:] = _triple(gold_keys, pred_keys)
    layout.view(counts, "emotion_utterances")[:] = _triple(
        _emotion_utterances(gold, gold_keys), _emotion_utterances(pred, pred_keys)
    )
    layout.view(counts, "cause_utterances")[:] = _triple(
        {j for _, j in gold_keys}, {j for _, j in pred_keys}
    )


def _count_categories(
    gold_cat: list[tuple[EmotionCausePair, int]],
    pred_cat: list[tuple[EmotionCausePair, int]],
    layout: CountLayout,
    counts: np.ndarray,
) -> None:
    """MECPE-Cat: distinct (emotion utt, category, cause utt) per category."""
    gold_keys = {(p.emotion_utterance, c, p.cause_utterance) for p, c in gold_cat}
    pred_keys = {(p.emotion_utterance, c, p.cause_utterance) for p, c in pred_cat}
    cat = layout.view(counts, "cat")
    for category in range(len(layout.cause_emotions)):
        cat[category] = _triple(
            {k for k in gold_keys if k[1] == category}, {k for k in pred_keys if k[1] == category}
        )


def _count_spans(
    gold: Conversation,
    gold_pairs: list[EmotionCausePair],
    gold_cat: list[tuple[EmotionCausePair, int]],
    pred_cat: list[tuple[EmotionCausePair, int]],
    layout: CountLayout,
    counts: np.ndarray,
) -> None:
    """SemEval subtask 1: strict and proportional span counts per category."""
    texts = [u.text for u in gold.utterances]
    gold_spans: dict[SpanPair, None] = {}  # an ordered set: the tie-break follows gold order
    unlocated = set()
    for pair, category in gold_cat:
        (start, end), located = gold_span_range(pair.span, texts[pair.cause_utterance - 1])
        if not located:
            unlocated.add(_exact_key(pair))
        gold_spans.setdefault(
            SpanPair(pair.emotion_utterance, category, pair.cause_utterance, start, end)
        )
    pred_spans: dict[SpanPair, None] = {}
    for pair, category in pred_cat:
        start, end = predicted_span_range(pair.span, texts[pair.cause_utterance - 1])
        pred_spans.setdefault(
            SpanPair(pair.emotion_utterance, category, pair.cause_utterance, start, end)
        )
    layout.view(counts, "gold_pairs_with_span")[0] = len(
        {_exact_key(p) for p in gold_pairs if p.span is not None}
    )
    layout.view(counts, "unlocated_gold_spans")[0] = len(unlocated)
    strict = layout.view(counts, "span_strict")
    for category in range(len(layout.cause_emotions)):
        strict[category] = _triple(
            {s for s in gold_spans if s.category == category},
            {s for s in pred_spans if s.category == category},
        )
    proportional = proportional_counts(
        list(gold_spans), list(pred_spans), len(layout.cause_emotions)
    )
    layout.view(counts, "span_proportional")[:] = np.array(
        [
            proportional.overlap,
            proportional.gold_length,
            proportional.pred_length,
            proportional.gold_spans,
        ],
        dtype=np.int64,
    ).T


def _n_duplicates(pairs: list[EmotionCausePair]) -> int:
    return len(pairs) - len({_exact_key(p) for p in pairs})


def _check_prediction(gold: Conversation, pred: Conversation) -> None:
    """A prediction may not point at utterances the gold conversation does not have."""
    n = len(gold.utterances)
    if len(pred.utterances) > n:
        raise DataFormatError(
            f"prediction has {len(pred.utterances)} utterances but the gold conversation has {n}",
            conversation=pred.id,
            field="utterances",
        )
    for pair in list(pred.pairs) + list(pred.duplicate_pairs):
        for name in ("emotion_utterance", "cause_utterance"):
            index = getattr(pair, name)
            if not 1 <= index <= n:
                raise DataFormatError(
                    f"predicted pair ({pair.emotion_utterance}, {pair.cause_utterance}) points at "
                    f"utterance {index}, but the gold conversation has {n} utterances",
                    conversation=pred.id,
                    field=name,
                )


def _count_emotions(
    gold: Conversation, pred: Conversation | None, layout: CountLayout, counts: np.ndarray
) -> None:
    confusion = layout.view(counts, "merc_confusion")
    no_prediction = len(layout.labels)
    scored = 0
    for position, utt in enumerate(gold.utterances):
        if utt.emotion is None:
            continue
        row = layout.label_index(utt.emotion, gold.id, f"gold utterance {utt.index}")
        predicted = (
            pred.utterances[position].emotion
            if pred is not None and position < len(pred.utterances)
            else None
        )
        if predicted is None:
            confusion[row, no_prediction] += 1
            continue
        scored += 1
        confusion[
            row, layout.label_index(predicted, gold.id, f"predicted utterance {utt.index}")
        ] += 1
    layout.view(counts, "pred_emotions")[0] = scored


def _emotion_utterances(conv: Conversation | None, pair_keys: set[tuple[int, int]]) -> set[int]:
    """Emotion utterances of one side: its non-neutral utterances when it labels emotions
    (ECF's emotion-extraction target), else the emotion utterances of its pairs."""
    if conv is None:
        return set()
    if conv.has_emotion_labels:
        return {u.index for u in conv.utterances if not is_neutral(u.emotion)}
    return {i for i, _ in pair_keys}


def _categorised(
    pairs: list[EmotionCausePair],
    conv: Conversation | None,
    layout: CountLayout,
    cid: str,
    what: str,
) -> list[tuple[EmotionCausePair, int]]:
    """Pairs with their MECPE-Cat category index; pairs of a non-scored category are left out.

    The category is the pair's own emotion, else the emotion its side gives the emotion
    utterance. Like the official scorer, pairs labelled neutral (or unlabelled) are not scored.
    """
    out = []
    for pair in pairs:
        emotion = pair.emotion
        if emotion is None and conv is not None and pair.emotion_utterance <= len(conv.utterances):
            emotion = conv.utterances[pair.emotion_utterance - 1].emotion
        if emotion is None or is_neutral(emotion):
            continue
        if emotion not in layout.cause_emotions:
            if emotion in layout.labels:
                continue
            raise DataFormatError(
                f"{what} ({pair.emotion_utterance}, {pair.cause_utterance}): unknown emotion "
                f"{emotion!r}",
                conversation=cid,
                field="emotion",
            )
        out.append((pair, layout.cause_emotions.index(emotion)))
    return out
