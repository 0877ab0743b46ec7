"""Cause spans as whitespace-token ranges, located the way the SemEval-2024 scorer compares them.

The official subtask-1 scorer trims punctuation at both ends of a span before comparing
tokens, so ``"1_I realize I am totally naked ."`` and ``"I realize I am totally naked"``
are the same span. We store the span text verbatim (for lossless writing) and the token
range ``[start, end)`` of its trimmed form inside the cause utterance.
"""

from __future__ import annotations

import string

_TRIM = string.punctuation + string.whitespace


def trim_span(text: str) -> str:
    """The span without leading/trailing punctuation and whitespace."""
    return text.strip(_TRIM)


def locate_span(span: str, utterance: str) -> tuple[int, int] | None:
    """Token range ``[start, end)`` of the trimmed ``span`` in ``utterance``, or ``None``.

    The first whole-token match wins. A span that starts or ends inside a token (e.g. a
    RECCON span cut mid-word) is widened to the tokens it overlaps. A span that is only
    punctuation, or not in the utterance, gives ``None``.
    """
    wanted = trim_span(span).split()
    if not wanted:
        return None
    tokens = utterance.split()
    n = len(wanted)
    for start in range(len(tokens) - n + 1):
        if tokens[start:start + n] == wanted:
            return start, start + n
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
