"""The fixed, documented hold-out of a split: a hash of the conversation id.

Why one rule in the data layer: two features need a part of the training conversations set
aside without a dev split, ``data.dev_fraction`` (a dev split for SemEval-2024 subtask 1
selection) and ``decoding.crossfit_fraction`` (a cause threshold for runs trained on every
conversation). Both must hold out the same conversations on every machine and in every run,
whatever the file order or seed: a conversation is held out when the first 8 bytes of
SHA-256 of its id, read as a big-endian unsigned integer, are below ``fraction * 2**64``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from unimeec.data.schema import Conversation
from unimeec.errors import ConfigError


def in_holdout(conversation_id: str, fraction: float) -> bool:
    """True for the ids whose SHA-256 falls in the first ``fraction`` of the hash space."""
    digest = hashlib.sha256(conversation_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") < fraction * 2**64


def holdout_split(
    conversations: Sequence[Conversation],
    fraction: float,
    *,
    option: str = "decoding.crossfit_fraction",
    held_name: str = "held-out",
) -> tuple[list[Conversation], list[Conversation]]:
    """(kept part, held-out part) of ``conversations`` in their order, by :func:`in_holdout`.

    An empty part is a :class:`ConfigError` naming ``option``, the setting that asked for it.
    """
    kept = [c for c in conversations if not in_holdout(c.id, fraction)]
    held = [c for c in conversations if in_holdout(c.id, fraction)]
    if not kept or not held:
        raise ConfigError(
            f"{option}={fraction:g} leaves {len(kept)} training and {len(held)} {held_name} "
            f"conversations of {len(conversations)}; both must be non-empty"
        )
    return kept, held
