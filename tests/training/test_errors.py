"""Mistakes users make get one clear line from the CLI, never a library traceback."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import pytest
import torch

from unimeec.checkpoint import (
    MANIFEST_FILE,
    load_model_and_processor,
    save_checkpoint,
    write_manifest,
)
from unimeec.cli import main
from unimeec.errors import CheckpointError

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
    assert err == (
        "unimeec train: error: trainer.accelerator is 'gpu' but no CUDA GPU is "
        "available on this machine; use trainer.accelerator=cpu (or auto)"
    )
    err = _error(capsys, ["train", "--config", CONFIG, "trainer.accelerator=quantum"])
    assert "trainer.accelerator: unknown accelerator 'quantum'" in err


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory, tiny_backbone: str) -> Path:
    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor

    model = UniMEECModel(UniMEECConfig(backbone=tiny_backbone))
    directory = tmp_path_factory.mktemp("model")
    save_checkpoint(
        model,
        UniMEECProcessor.from_config(model.config),
        directory,
        files={"README.md": "# a model card\n"},
    )
    return directory


@pytest.fixture
def sealed(saved_model: Path, tmp_path: Path) -> Path:
    """A copy of the saved model, manifest included."""
    copy = tmp_path / "model"
    shutil.copytree(saved_model, copy)
    return copy


@pytest.fixture
def damaged(sealed: Path) -> Path:
    """A copy without its manifest (as saved before manifests existed), so the loader's own
    checks of each file are reached."""
    (sealed / MANIFEST_FILE).unlink()
    return sealed


def test_the_manifest_lists_every_file(saved_model: Path) -> None:
    manifest = json.loads((saved_model / MANIFEST_FILE).read_text())
    files = sorted(p.name for p in saved_model.iterdir() if p.name != MANIFEST_FILE)
    assert sorted(manifest["files"]) == files
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "processor_config.json",
        "README.md",
    } <= set(files)
    digest = hashlib.sha256((saved_model / "README.md").read_bytes()).hexdigest()
    assert manifest["files"]["README.md"] == digest


def test_a_missing_tokenizer_is_named(
    sealed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (sealed / "tokenizer.json").unlink()
    with pytest.raises(CheckpointError) as err:
        load_model_and_processor(sealed)
    assert str(err.value) == (
        f"{sealed / 'tokenizer.json'}: missing from the checkpoint (listed in {MANIFEST_FILE})"
    )
    inputs = tmp_path / "in.jsonl"
    inputs.write_text(json.dumps({"id": "1", "utterances": [{"speaker": "A", "text": "hi"}]}))
    err_line = _error(capsys, ["predict", "--checkpoint", str(sealed), str(inputs)])
    assert err_line == f"unimeec predict: error: {err.value}"


def test_one_changed_byte_is_named(sealed: Path) -> None:
    weights = sealed / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01  # a flipped bit in the last weight: safetensors alone would not notice
    weights.write_bytes(bytes(data))
    with pytest.raises(
        CheckpointError,
        match=r"model\.safetensors: changed since the checkpoint "
        r"was saved \(SHA-256 [0-9a-f]{12}\.\.\., ",
    ):
        load_model_and_processor(sealed)
    card = sealed / "README.md"
    card.write_text("# an edited card\n")
    write_manifest(sealed)  # sealing again accepts the (deliberate) edits
    model, _ = load_model_and_processor(sealed)
    assert model.config.model_type == "unimeec"


def test_a_file_added_after_saving_is_named(sealed: Path, caplog: pytest.LogCaptureFixture) -> None:
    (sealed / "special_tokens_map.json").write_text("{}")
    with caplog.at_level(logging.WARNING, logger="unimeec.checkpoint"):
        load_model_and_processor(sealed)
    assert caplog.messages == [
        (
            f"{sealed}: special_tokens_map.json not listed in "
            f"{MANIFEST_FILE} (added after saving; not verified)"
        )
    ]


def test_a_damaged_manifest_is_an_error(sealed: Path) -> None:
    (sealed / MANIFEST_FILE).write_text("[1, 2]")
    with pytest.raises(CheckpointError, match=rf"{MANIFEST_FILE}: not a unimeec-checkpoint-"):
        load_model_and_processor(sealed)
    (sealed / MANIFEST_FILE).write_text(
        json.dumps({"format": "unimeec-checkpoint-manifest", "files": {"../outside": "0" * 64}})
    )
    with pytest.raises(CheckpointError, match=r"lists '../outside', which is outside the model"):
        load_model_and_processor(sealed)


def test_an_old_checkpoint_loads_with_a_warning(
    damaged: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="unimeec.checkpoint"):
        model, _ = load_model_and_processor(damaged)
    assert model.config.model_type == "unimeec"
    assert caplog.messages == [
        (
            f"{damaged}: no {MANIFEST_FILE} (saved by an older unimeec); "
            "the checkpoint's files cannot be verified"
        )
    ]


def test_a_good_checkpoint_loads(saved_model: Path) -> None:
    model, processor = load_model_and_processor(saved_model)
    assert model.config.model_type == "unimeec" and not model.training
    assert processor.config.emotion_labels == model.config.emotion_labels


def test_corrupt_config(damaged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
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
    with pytest.raises(
        CheckpointError,
        match=r"empty/config.json: not found; expected a run "
        r"directory \(with model/\)",
    ):
        load_model_and_processor(empty)


def test_precision_auto_is_fp32_without_a_bf16_gpu() -> None:
    from unimeec.training.trainer import resolve_precision

    assert resolve_precision("auto", "cpu") == "32-true"
    assert resolve_precision("16-mixed", "cpu") == "16-mixed"
    expected = (
        "bf16-mixed" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "32-true"
    )
    assert resolve_precision("auto", "auto") == expected
