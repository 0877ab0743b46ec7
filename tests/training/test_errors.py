"""Mistakes users make get one clear line from the CLI, never a library traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from unimeec.cli import main
from unimeec.errors import CheckpointError
from unimeec.predict import load_model_and_processor

CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "ecf1_joint.yaml")


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


def test_unknown_and_mistyped_config_keys(capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(capsys, ["train", "--config", CONFIG, "trainer.max_epoch=1"])
    assert err == f"unimeec train: error: {CONFIG}: trainer.max_epoch: unknown key"
    err = _error(capsys, ["train", "--config", CONFIG, "model.scop=utterance"])
    assert err.startswith("unimeec train: error: model.scop: unknown key; known model keys: ")
    err = _error(capsys, ["train", "--config", CONFIG, "model.use_thc=maybe"])
    assert err == "unimeec train: error: model.use_thc: expected bool, got 'maybe'"
    err = _error(capsys, ["train", "--config", CONFIG, "optim.lr_head=fast"])
    assert "optim.lr_head: Input should be a valid number" in err and "(got 'fast')" in err
    err = _error(capsys, ["train", "--config", CONFIG, "trainer.max_epochs"])
    assert "is not of the form key=value" in err
    err = _error(capsys, ["train", "--config", "no/such.yaml"])
    assert err.startswith("unimeec train: error: no/such.yaml: cannot read config")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without a GPU")
def test_gpu_requested_without_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(capsys, ["train", "--config", CONFIG, "trainer.accelerator=gpu"])
    assert err == ("unimeec train: error: trainer.accelerator is 'gpu' but no CUDA GPU is "
                   "available on this machine; use trainer.accelerator=cpu (or auto)")
    err = _error(capsys, ["train", "--config", CONFIG, "trainer.accelerator=quantum"])
    assert "trainer.accelerator: unknown accelerator 'quantum'" in err


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory, tiny_backbone: str) -> Path:
    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor
    from unimeec.predict import mark_version

    model = UniMEECModel(UniMEECConfig(backbone=tiny_backbone))
    mark_version(model)
    directory = tmp_path_factory.mktemp("model")
    model.save_pretrained(directory)
    UniMEECProcessor.from_config(model.config).save_pretrained(directory)
    return directory


@pytest.fixture
def damaged(saved_model: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(saved_model, copy)
    return copy


def test_a_good_checkpoint_loads(saved_model: Path) -> None:
    model, processor = load_model_and_processor(saved_model)
    assert model.config.model_type == "unimeec" and not model.training
    assert processor.config.emotion_labels == model.config.emotion_labels


def test_corrupt_config(damaged: Path, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    (damaged / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"model/config.json: corrupt checkpoint config"):
        load_model_and_processor(damaged)
    inputs = tmp_path / "in.jsonl"
    inputs.write_text(json.dumps({"id": "1", "utterances": [{"speaker": "A", "text": "hi"}]}))
    err = _error(capsys, ["predict", "--checkpoint", str(damaged), str(inputs)])
    assert err.startswith(f"unimeec predict: error: {damaged / 'config.json'}: corrupt")


def test_corrupt_weights(damaged: Path) -> None:
    weights = damaged / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 3])
    with pytest.raises(CheckpointError, match=r"model.safetensors: cannot load the model \("):
        load_model_and_processor(damaged)
    weights.unlink()
    with pytest.raises(CheckpointError, match=r"model.safetensors: model weights not found"):
        load_model_and_processor(damaged)


def test_incompatible_checkpoints(damaged: Path, tmp_path: Path) -> None:
    config = json.loads((damaged / "config.json").read_text())
    (damaged / "config.json").write_text(json.dumps({**config, "unimeec_version": "7.1.0"}))
    with pytest.raises(CheckpointError, match=r"saved by unimeec 7.1.0, which is not compatible"):
        load_model_and_processor(damaged)
    (damaged / "config.json").write_text(json.dumps({**config, "model_type": "bert"}))
    with pytest.raises(CheckpointError, match=r"model_type 'bert' is not a UniMEEC checkpoint"):
        load_model_and_processor(damaged)
    with pytest.raises(CheckpointError, match=r"nowhere: checkpoint directory not found"):
        load_model_and_processor(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match=r"empty/config.json: not found; expected a run "
                                              r"directory \(with model/\)"):
        load_model_and_processor(empty)


def test_precision_auto_is_fp32_without_a_bf16_gpu() -> None:
    from unimeec.training.trainer import resolve_precision

    assert resolve_precision("auto", "cpu") == "32-true"
    assert resolve_precision("16-mixed", "cpu") == "16-mixed"
    expected = ("bf16-mixed" if torch.cuda.is_available() and torch.cuda.is_bf16_supported()
                else "32-true")
    assert resolve_precision("auto", "auto") == expected
