"""Inputs of the plain fine-tuning baseline: one utterance plus its neighbours as text.

The baseline reads each target utterance as a sentence pair: the target ("speaker: text")
first, then its context window in conversation order (by default 4 previous utterances, the
target itself and 1 next, as in METHOD.md section 8). When the pair is too long, the
*oldest* context is cut first (left truncation, longest segment first), so the target
and its nearest neighbours always survive.
"""

from __future__ import annotations

from dataclasses import dataclass

from unimeec.data.schema import Conversation, Utterance


@dataclass(frozen=True)
class ContextExample:
    """One target utterance: where it comes from and its two text segments."""

    conversation: int  # position of the conversation in the input list
    utterance: int  # 1-based utterance index
    target: str
    context: str
    label: int | None  # class index, None when unlabelled


def utterance_text(utt: Utterance) -> str:
    """How the baseline renders a turn: ``"speaker: text"`` (speaker omitted when unknown)."""
    return f"{utt.speaker}: {utt.text}" if utt.speaker else utt.text


def context_examples(
    conversations: list[Conversation],
    labels: tuple[str, ...],
    past: int = 4,
    future: int = 1,
    separator: str = " | ",
) -> list[ContextExample]:
    """One example per utterance of every conversation (unlabelled ones get ``label=None``).

    An emotion outside ``labels`` is a :class:`ValueError` naming the conversation, since the
    classifier's output layer has exactly those classes.
    """
    label_ids = {label: k for k, label in enumerate(labels)}
    examples: list[ContextExample] = []
    for position, conv in enumerate(conversations):
        rendered = [utterance_text(u) for u in conv.utterances]
        for k, utt in enumerate(conv.utterances):
            window = rendered[max(0, k - past) : k + future + 1]
            label = None
            if utt.emotion is not None:
                if utt.emotion not in label_ids:
                    raise ValueError(
                        f"conversation {conv.id}, utterance {utt.index}: emotion "
                        f"{utt.emotion!r} is not one of {', '.join(labels)}"
                    )
                label = label_ids[utt.emotion]
            examples.append(
                ContextExample(position, utt.index, rendered[k], separator.join(window), label)
            )
    return examples
