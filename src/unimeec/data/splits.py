"""A fixed, documented hold-out split for datasets that ship no dev split (SemEval-2024 Task 3).

Rule: conversation ``c`` is held out when the first 8 bytes of ``sha256(str(c.id))``, read as
a big-endian unsigned integer, are below ``fraction * 2**64``. Why a hash of the id: the split
depends on nothing but the conversation itself (not on file order, a seed or the other
conversations), so it is the same on every machine, for every subset of the file, and for
every later version of the file that keeps the ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from unimeec.data.schema import Conversation


def in_holdout(conversation_id: str, fraction: float) -> bool:
    """Whether conversation ``conversation_id`` belongs to the held-out ``fraction``."""
    digest = hashlib.sha256(str(conversation_id).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") < fraction * 2**64


def holdout_split(
    conversations: Sequence[Conversation], fraction: float
) -> tuple[list[Conversation], list[Conversation]]:
    """``(kept, held_out)`` by :func:`in_holdout`, each in the input order."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the held-out fraction must lie in (0, 1), got {fraction!r}")
    kept: list[Conversation] = []
    held: list[Conversation] = []
    for conv in conversations:
        (held if in_holdout(conv.id, fraction) else kept).append(conv)
    return kept, held
