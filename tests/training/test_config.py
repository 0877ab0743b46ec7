"""Experiment configs: YAML loading, dotted overrides, and one-line errors for mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from unimeec.errors import ConfigError
from unimeec.training.config import (
    TrainConfig,
    config_from_dict,
    load_config,
    model_config_kwargs,
    parse_override,
)

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_every_shipped_config_loads_with_its_task() -> None:
    tasks = {p.name: load_config(p).resolved_task for p in sorted(CONFIGS.glob("*.yaml"))}
    assert tasks == {
        "ecf1_joint.yaml": "joint",
        "ecf1_joint_multimodal.yaml": "joint",
        "iemocap_emotion.yaml": "emotion",
        "meld_emotion.yaml": "emotion",
        "reccon_cause.yaml": "cause",
        "semeval2024_subtask1.yaml": "joint",
        "semeval2024_subtask1_dev.yaml": "joint",
        "semeval2024_subtask2.yaml": "joint",
    }


def test_default_config_values() -> None:
    config = load_config(CONFIGS / "ecf1_joint.yaml")
    assert config.data.dataset == "ecf1"
    assert config.data.train_splits == ["train"] and config.data.dev_split == "dev"
    assert config.trainer.precision == "auto"
    assert config.decoding.threshold_grid[0] == 0.05 and config.decoding.threshold_grid[-1] == 0.95
    assert len(config.decoding.threshold_grid) == 19
    semeval = load_config(CONFIGS / "semeval2024_subtask2.yaml")
    assert semeval.data.train_splits == ["train", "dev", "test"]
    assert semeval.data.dev_split is None and semeval.predict.format == "semeval"
    # no dev split: tau is cross-fitted, never the untuned default
    assert semeval.decoding.crossfit_fraction == 0.1 and "cause_threshold" not in semeval.model


def test_overrides_are_typed_by_yaml() -> None:
    config = load_config(
        CONFIGS / "ecf1_joint.yaml",
        [
            "trainer.max_epochs=7",
            "optim.lr_head=2e-3",
            "data.limit=20",
            "data.train_splits=[train, dev]",
            "model.use_thc=false",
            "data.features={audio: /tmp/a}",
            "run_name=null",
        ],
    )
    assert config.trainer.max_epochs == 7
    assert config.optim.lr_head == pytest.approx(0.002)
    assert config.data.limit == 20
    assert config.data.train_splits == ["train", "dev"]
    assert config.model["use_thc"] is False
    assert config.data.features == {"audio": "/tmp/a"}
    assert config.run_name is None


def test_parse_override() -> None:
    assert parse_override("a.b.c=[1, 2]") == (["a", "b", "c"], [1, 2])
    assert parse_override("seed=") == (["seed"], None)
    # YAML 1.2 floats (PyYAML alone reads "1e-3" as a string)
    assert parse_override("model.cause_threshold=1e-3") == (["model", "cause_threshold"], 0.001)
    assert parse_override("x=-2.5E+2") == (["x"], -250.0)
    assert parse_override("run_name=e5") == (["run_name"], "e5")
    assert parse_override("data.data_dir=/data/1e-3") == (["data", "data_dir"], "/data/1e-3")
    with pytest.raises(ConfigError, match="not of the form key=value"):
        parse_override("trainer.max_epochs")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.max_epoch=3"], r"ecf1_joint.yaml: trainer.max_epoch: unknown key"),
        (["learning_rate=3"], r"learning_rate: unknown key"),
        (["trainer.max_epochs=many"], r"trainer.max_epochs: .*integer.*\(got 'many'\)"),
        (["data.dataset=imdb"], r"data.dataset: .*unknown dataset 'imdb'"),
        (["data.features={smell: x}"], r"data.features.smell"),
        (["decoding.threshold_grid=[0.5, 1.5]"], r"thresholds must lie in \(0, 1\)"),
        (["data.batch_size=0"], r"data.batch_size: .*greater than or equal to 1"),
        (["trainer.max_epochs.x=1"], r"trainer.max_epochs is not a section"),
        (["optim.backbone_frozen_ratio=1"], r"optim.backbone_frozen_ratio: .*less than 1"),
    ],
)
def test_bad_overrides_name_the_key(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(CONFIGS / "ecf1_joint.yaml", overrides)


def test_bad_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope.yaml: cannot read config"):
        load_config(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("data:\n  dataset: [ecf1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.yaml:\d+: invalid YAML"):
        load_config(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a YAML mapping, got list"):
        load_config(listing)


class _FakeModelConfig:
    def __init__(
        self,
        scope: str = "conversation",
        use_thc: bool = True,
        dropout: float = 0.1,
        cause_pos_weight: float | None = None,
        modalities: tuple = ("text",),
        **kwargs: object,
    ) -> None:
        pass


def test_model_section_is_checked_against_the_model_config_class() -> None:
    ok = config_from_dict(
        {
            "model": {
                "scope": "utterance",
                "dropout": 0,
                "cause_pos_weight": 3.0,
                "modalities": ["text", "audio"],
            }
        }
    )
    assert model_config_kwargs(ok, _FakeModelConfig)["scope"] == "utterance"
    with pytest.raises(ConfigError, match=r"model.scop: unknown key; known model keys: "):
        model_config_kwargs(config_from_dict({"model": {"scop": "x"}}), _FakeModelConfig)
    with pytest.raises(ConfigError, match=r"model.use_thc: expected bool, got 'yes please'"):
        model_config_kwargs(
            config_from_dict({"model": {"use_thc": "yes please"}}), _FakeModelConfig
        )
    with pytest.raises(ConfigError, match=r"model.dropout: expected float, got True"):
        model_config_kwargs(config_from_dict({"model": {"dropout": True}}), _FakeModelConfig)


def test_resolved_config_round_trips_through_yaml(tmp_path: Path) -> None:
    config = load_config(CONFIGS / "reccon_cause.yaml", ["seed=7"])
    path = tmp_path / "resolved.yaml"
    path.write_text(config.to_yaml(), encoding="utf-8")
    assert load_config(path) == config
    assert TrainConfig().resolved_task == "joint"


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ([], "val/joint_f1"),
        (["task=emotion"], "val/merc_weighted_f1"),
        (["task=cause"], "val/mecpe_pair_f1"),
        (["trainer.monitor=mecpe_pair_f1"], "val/mecpe_pair_f1"),
        (["trainer.monitor=val/merc_accuracy"], "val/merc_accuracy"),
    ],
)
def test_monitor_per_task(overrides: list[str], expected: str) -> None:
    """Joint runs keep the epoch best at both tasks; single-task runs their task's F1."""
    from unimeec.training.run import monitor_metric

    assert monitor_metric(load_config(CONFIGS / "ecf1_joint.yaml", overrides)) == expected
