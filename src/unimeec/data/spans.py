"""Cause spans as whitespace-token ranges, located as the SemEval-2024 scorer locates them.

The official subtask-1 scorer (``NUSTM/SemEval-2024_ECAC``, ``CodaLab/evaluation/evaluate.py``)
trims punctuation and whitespace at both ends of a span's text, then takes the first place
where the remaining tokens occur, token for token, in the cause utterance. So
``"1_I realize I am totally naked ."`` and ``"I realize I am totally naked"`` are the same
span, and ``"naked"`` is not found in ``"totally naked."``. This module is the one place
that rule lives: the readers use it to store token ranges, the metrics to score spans.

Readers of training data may ask for more (``partial=True``): RECCON cuts some spans inside
a word, and a training target should cover the tokens such a span overlaps rather than
nothing. The metrics never do: a gold span the official rule cannot find scores as the
empty range, as it does in the official scorer.
"""

from __future__ import annotations

import string

#: ``(start, end)`` token range, end exclusive.
TokenRange = tuple[int, int]

_TRIM = string.punctuation + string.whitespace


def trim_span(text: str) -> str:
    """The span without leading/trailing punctuation and whitespace (the scorer's cleaning)."""
    return text.strip(_TRIM)


def locate_span(span: str, utterance: str, *, partial: bool = False) -> TokenRange | None:
    """Token range ``[start, end)`` of the trimmed ``span`` in ``utterance``, or ``None``.

    The official rule: the first whole-token match wins; a span that is only punctuation,
    or whose tokens do not occur in the utterance, gives ``None``. With ``partial=True``
    a span that starts or ends inside a token (e.g. a RECCON span cut mid-word) is found
    by substring search and widened to the tokens it overlaps.
    """
    wanted = trim_span(span).split()
    if not wanted:
        return None
    tokens = utterance.split()
    n = len(wanted)
    for start in range(len(tokens) - n + 1):
        if tokens[start : start + n] == wanted:
            return start, start + n
    if not partial:
        return None
    needle = " ".join(wanted)
    joined = " ".join(tokens)
    offset = joined.find(needle)
    if offset < 0:
        return None
    start = joined.count(" ", 0, offset)
    end = joined.count(" ", 0, offset + len(needle)) + 1
    return start, end


def span_tokens(utterance: str, start: int, end: int) -> str:
    """The text of token range ``[start, end)`` of ``utterance`` (inverse of :func:`locate_span`)."""
    return " ".join(utterance.split()[start:end])
