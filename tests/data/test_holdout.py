"""The hash hold-out (``data.dev_fraction`` and ``decoding.crossfit_fraction``): fixed by the ids."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from unimeec.data import load_dataset
from unimeec.data.holdout import holdout_split, in_holdout
from unimeec.errors import ConfigError


def test_the_held_out_part_is_fixed_by_the_ids(shared_data: Path) -> None:
    ecf2 = [
        c for split in ("train", "dev", "test") for c in load_dataset("ecf1", split, shared_data)
    ]
    fit, held = holdout_split(ecf2, 0.1)
    # 1,374 conversations (= ECF 2.0's training data): 151 held out, in file order
    assert (len(ecf2), len(fit), len(held)) == (1374, 1223, 151)
    assert [c.id for c in held[:5]] == ["9", "39", "55", "105", "109"]
    assert {c.id for c in fit}.isdisjoint(c.id for c in held)
    # the rule: the first 8 bytes of SHA-256(id) as a fraction of 2**64
    first = int.from_bytes(hashlib.sha256(b"9").digest()[:8], "big") / 2**64
    assert first < 0.1 and in_holdout("9", 0.1) and not in_holdout("9", first / 2)


def test_empty_part_is_a_config_error(shared_data: Path) -> None:
    few = load_dataset("ecf1", "train", shared_data)[:3]
    with pytest.raises(
        ConfigError,
        match=r"decoding.crossfit_fraction=0.01 leaves 3 training "
        r"and 0 held-out conversations",
    ):
        holdout_split(few, 0.01)


def test_the_option_that_asked_is_named(shared_data: Path) -> None:
    few = load_dataset("ecf1", "train", shared_data)[:3]
    with pytest.raises(
        ConfigError, match=r"^data.dev_fraction=0.01 leaves 3 training and 0 dev conversations of 3"
    ):
        holdout_split(few, 0.01, option="data.dev_fraction", held_name="dev")
