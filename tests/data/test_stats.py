"""Split statistics (data/stats.py) counted by hand on small conversations."""

from __future__ import annotations

from collections import Counter

from unimeec.data import CauseSpan, Conversation, EmotionCausePair, Utterance, compute_stats


def _conversations() -> list[Conversation]:
    first = Conversation(
        "1",
        [
            Utterance(1, "A", "I lost my keys .", "sadness"),
            Utterance(2, "B", "Oh no .", "neutral"),
            Utterance(3, "A", "Found them !", "joy", latent_cause=True),
        ],
        pairs=[
            EmotionCausePair(1, 1, "sadness", CauseSpan("I lost my keys", 0, 4)),
            EmotionCausePair(1, 1, "sadness", CauseSpan("my keys", 2, 4)),  # a second span
            EmotionCausePair(3, 3, "joy"),
            EmotionCausePair(3, 3, "joy"),
        ],  # a duplicate
        dataset="ecf1",
        split="train",
    )
    assert first.deduplicate_pairs() == 1
    second = Conversation(
        "2",
        [Utterance(1, "A", "Hello .", None), Utterance(2, "B", "Go away !", "anger")],
        pairs=[EmotionCausePair(2, 1, "anger")],
        dataset="ecf1",
        split="train",
    )
    emotion_only = Conversation(
        "3",
        [Utterance(1, "A", "Yay .", "joy")],
        dataset="meld",
        split="dev",
        has_cause_labels=False,
    )
    return [first, second, emotion_only]


def test_counts_by_hand() -> None:
    ecf, meld = compute_stats(_conversations())
    assert (ecf.dataset, ecf.split, meld.dataset, meld.split) == ("ecf1", "train", "meld", "dev")
    assert (ecf.conversations, ecf.utterances, ecf.labelled_utterances) == (2, 5, 4)
    # non-neutral labelled: sadness, joy, anger (an unlabelled utterance is not one)
    assert ecf.emotion_utterances == 3
    # two spans of (1, 1) count twice as pairs, once as an utterance pair
    assert (ecf.pairs, ecf.utterance_pairs, ecf.duplicate_pairs) == (4, 3, 1)
    assert ecf.latent_causes == 1 and ecf.has_cause_labels
    assert ecf.labels == Counter({"sadness": 1, "neutral": 1, "joy": 1, "anger": 1})
    assert ecf.pair_emotions == Counter({"sadness": 2, "joy": 1, "anger": 1})
    assert (meld.conversations, meld.pairs, meld.has_cause_labels) == (1, 0, False)


def test_format_shows_cause_rows_only_for_cause_data() -> None:
    ecf, meld = compute_stats(_conversations())
    assert ecf.format().splitlines() == [
        "ecf1 train",
        "  conversations                   2",
        "  utterances                      5",
        "  labelled utterances             4",
        "  emotion utterances              3",
        "  pairs                           4",
        "  utterance pairs                 3",
        "  duplicate pairs removed         1",
        "  latent causes                   1",
        "  labels: sadness 1, neutral 1, joy 1, anger 1",
        "  pairs per emotion: anger 1, joy 1, sadness 2",
    ]
    assert "pairs" not in meld.format()
    assert compute_stats([]) == []
