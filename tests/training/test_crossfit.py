"""``decoding.crossfit_fraction``: tau for runs without a dev split, from a held-out part."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from unimeec.data import load_dataset
from unimeec.errors import ConfigError
from unimeec.training.config import config_from_dict
from unimeec.training.crossfit import holdout_split, in_holdout
from unimeec.training.run import train


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


def test_final_run_decodes_at_the_cross_fitted_threshold(
    tmp_path: Path, ecf_splits, tiny_backbone: str
) -> None:
    config = config_from_dict(
        {},
        [
            "data.dataset=ecf1",
            "data.dev_split=null",
            "data.test_split=null",
            "task=joint",
            f"model.backbone={tiny_backbone}",
            "trainer.max_epochs=1",
            "trainer.accelerator=cpu",
            "trainer.enable_progress_bar=false",
            "run_name=final",
            "decoding.crossfit_fraction=0.5",
            "decoding.threshold_grid=[0.3, 0.5, 0.7]",
            "data.batch_size=4",
        ],
    )
    result = train(config, output_dir=tmp_path, conversations={"train": ecf_splits["train"]})
    crossfit = tmp_path / "final-crossfit"
    tuned = yaml.safe_load((crossfit / "config.yaml").read_text())["model"]["cause_threshold"]
    assert tuned in (0.3, 0.5, 0.7)
    assert (crossfit / "metrics_dev.json").is_file()  # tuned on the 13 held-out conversations
    final = yaml.safe_load((result.run_dir / "config.yaml").read_text())
    assert final["model"]["cause_threshold"] == tuned
    assert final["decoding"]["crossfit_fraction"] == 0.5
    saved = yaml.safe_load((result.model_dir / "training_config.yaml").read_text())
    assert saved["model"]["cause_threshold"] == tuned
    model_config = json.loads((result.model_dir / "config.json").read_text())
    assert model_config["cause_threshold"] == tuned  # what the saved model decodes at
