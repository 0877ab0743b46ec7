"""Cause spans as the official SemEval-2024 Task 3 scorer sees them.

The scorer (``NUSTM/SemEval-2024_ECAC``, ``CodaLab/evaluation/evaluate.py``) compares spans as
whitespace-token ranges ``[start, end)`` of the cause utterance. Gold spans are given as text
and located by the official rule (:func:`unimeec.data.spans.locate_span`, never its lenient
``partial`` option); a span that is not found becomes the empty range ``[0, 0)``, which no
prediction can match. So our numbers are the official ones, and we count the spans that were
not found.

Proportional matching (:func:`proportional_counts`) credits each predicted span with its overlap
against the gold span of the same ``(emotion utterance, emotion, cause utterance)`` it covers
best, measured as overlap / gold length (ties: the larger overlap, then the earlier gold span).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from unimeec.data.schema import CauseSpan
from unimeec.data.spans import TokenRange, locate_span


def gold_span_range(span: CauseSpan | None, cause_text: str) -> tuple[TokenRange, bool]:
    """The token range the official scorer gives a gold span, and whether it was located.

    The span text wins over stored positions, because the scorer reads only the text; a pair
    without any span covers the whole cause utterance. An unlocatable text gives ``(0, 0)``.
    """
    if span is None:
        return (0, len(cause_text.split())), True
    if span.text is not None:
        found = locate_span(span.text, cause_text)
        return (found, True) if found is not None else ((0, 0), False)
    assert span.start is not None and span.end is not None  # CauseSpan guarantees one of them
    return (span.start, span.end), True


def predicted_span_range(span: CauseSpan | None, cause_text: str) -> TokenRange:
    """The token range of a predicted span.

    Positions win (the official prediction format carries only positions); a text-only span is
    located like a gold one; a pair without a span predicts the whole cause utterance, which is
    how an utterance-level system is scored on the span subtask.
    """
    if span is None:
        return (0, len(cause_text.split()))
    if span.start is not None and span.end is not None:
        return (span.start, span.end)
    assert span.text is not None
    found = locate_span(span.text, cause_text)
    return found if found is not None else (0, 0)


@dataclass(frozen=True)
class SpanPair:
    """One span-level pair of a conversation, category as an index into the scored emotions."""

    emotion_utterance: int
    category: int
    cause_utterance: int
    start: int
    end: int

    @property
    def group(self) -> tuple[int, int, int]:
        """Spans compete only with spans of the same (emotion utt, category, cause utt)."""
        return (self.emotion_utterance, self.category, self.cause_utterance)

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class ProportionalCounts:
    """Per-category sums of the proportional score (lists indexed by category)."""

    overlap: list[int]
    gold_length: list[int]
    pred_length: list[int]
    gold_spans: list[int]


def proportional_counts(
    gold: Sequence[SpanPair], pred: Sequence[SpanPair], n_categories: int
) -> ProportionalCounts:
    """Proportional-match sums of one conversation (both lists already free of duplicates).

    Per predicted span: its length goes to the precision denominator; if it overlaps a gold
    span of its group, the best one (highest overlap / gold length) adds the overlap to the
    numerator and its own length to the recall denominator (once per predicted span that picks
    it). Gold spans no prediction picked add their length to the recall denominator once.
    """
    out = ProportionalCounts(
        [0] * n_categories, [0] * n_categories, [0] * n_categories, [0] * n_categories
    )
    picked: set[int] = set()
    for p in pred:
        out.pred_length[p.category] += p.length
        best: tuple[int, int] | None = None  # (gold position, overlap)
        for position, g in enumerate(gold):
            if g.group != p.group:
                continue
            overlap = min(p.end, g.end) - max(p.start, g.start)
            if overlap <= 0:
                continue
            if best is None:
                best = (position, overlap)
                continue
            best_gold = gold[best[0]]
            # compare overlap / length exactly: a/b > c/d  <=>  a*d > c*b (lengths > 0 here)
            lhs, rhs = overlap * best_gold.length, best[1] * g.length
            if lhs > rhs or (lhs == rhs and overlap > best[1]):
                best = (position, overlap)
        if best is not None:
            out.overlap[p.category] += best[1]
            out.gold_length[p.category] += gold[best[0]].length
            picked.add(best[0])
    for position, g in enumerate(gold):
        out.gold_spans[g.category] += 1
        if position not in picked:
            out.gold_length[g.category] += g.length
    return out
