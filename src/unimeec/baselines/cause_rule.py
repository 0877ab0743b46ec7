"""The "self and previous utterance" cause rule: the baseline every MECPE model must beat.

About half of ECF's causes are the emotion utterance itself and most of the rest are the
utterance just before it (METHOD.md section 1), so this rule alone reaches ECF 1.0 test
pair F1 64.5 when given gold emotions (METHOD.md section 8). A learned cause extractor that
does not beat it has learned nothing beyond position.
"""

from __future__ import annotations

from collections.abc import Iterable

from unimeec.data.labels import is_neutral
from unimeec.data.schema import Conversation, EmotionCausePair


def self_and_previous_pairs(conversation: Conversation) -> list[EmotionCausePair]:
    """Pairs ``(i, i)`` and ``(i, i - 1)`` for every non-neutral utterance ``i`` of ``conversation``.

    The emotions read are whatever the conversation carries (gold or predicted); each pair
    carries its emotion utterance's emotion so MECPE-Cat can score it.
    """
    pairs: list[EmotionCausePair] = []
    for utt in conversation.utterances:
        if is_neutral(utt.emotion):
            continue
        pairs.append(EmotionCausePair(utt.index, utt.index, emotion=utt.emotion))
        if utt.index > 1:
            pairs.append(EmotionCausePair(utt.index, utt.index - 1, emotion=utt.emotion))
    return pairs


def apply_cause_rule(conversations: Iterable[Conversation]) -> list[Conversation]:
    """Copies of ``conversations`` whose pairs are replaced by the rule's pairs.

    Emotions (and their scores) are kept, so the input may be gold conversations (the
    "gold emotions" setting) or the output of an emotion classifier.
    """
    return [conv.with_predictions(pairs=self_and_previous_pairs(conv)) for conv in conversations]
