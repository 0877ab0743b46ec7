"""``decoding.crossfit_fraction``: tau for runs without a dev split, from a held-out part."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from unimeec.training.config import config_from_dict
from unimeec.training.run import train


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
            "decoding.tune_neutral_bias=true",
            "decoding.neutral_bias_grid=[-3.0, 0.0, 3.0]",
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
    # the neutral bias is tuned with tau on the held-out part and carried over the same way
    bias = yaml.safe_load((crossfit / "config.yaml").read_text())["model"]["neutral_bias"]
    assert bias in (-3.0, 0.0, 3.0)
    assert final["model"]["neutral_bias"] == model_config["neutral_bias"] == bias
