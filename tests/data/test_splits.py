"""The fixed hash hold-out (``unimeec.data.splits``) on the real SemEval-2024 training file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from unimeec.data import load_dataset
from unimeec.data.splits import holdout_split, in_holdout


def test_rule_is_the_documented_hash() -> None:
    for cid in ("1", "9", "39", "1374"):
        value = int.from_bytes(hashlib.sha256(cid.encode()).digest()[:8], "big")
        assert in_holdout(cid, 0.1) == (value < 0.1 * 2**64)
    assert [in_holdout(c, 0.1) for c in ("8", "9", "10")] == [False, True, False]


def test_semeval_train_holdout_counts(shared_data: Path) -> None:
    conversations = load_dataset("semeval2024", "train", shared_data)
    kept, held = holdout_split(conversations, 0.1)
    assert (len(kept), len(held)) == (1223, 151)
    assert [c.id for c in held[:5]] == ["9", "39", "55", "105", "109"]
    assert sum(len(c.pairs) for c in held) == 1045
    assert sum(len(c) for c in held) == 1509
    # the rule looks at each conversation alone: any subset splits the same way
    sub_kept, sub_held = holdout_split(conversations[::3], 0.1)
    assert [c.id for c in sub_held] == [c.id for c in held if c in conversations[::3]]
    assert len(sub_kept) + len(sub_held) == len(conversations[::3])


def test_fraction_must_be_a_proper_fraction() -> None:
    with pytest.raises(ValueError, match=r"must lie in \(0, 1\), got 1.0"):
        holdout_split([], 1.0)
