"""``Predictor(quantize="int8")``: which layers become int8, that predictions stay close to
fp32, the CLI flag, and the errors for an unknown option or a GPU device."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantizedLinear

from unimeec.checkpoint import save_checkpoint
from unimeec.cli import main
from unimeec.data import Conversation, read_conversations
from unimeec.errors import ConfigError
from unimeec.predict import Predictor

TURNS = [
    ("Monica", "You got the job?"),
    ("Rachel", "I got it! I start on Monday."),
    ("Monica", "Oh my God, that is amazing!"),
    ("Ross", "Wait, what job?"),
]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory, tiny_backbone: str) -> Path:
    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor

    directory = tmp_path_factory.mktemp("quantize") / "model"
    torch.manual_seed(0)
    model = UniMEECModel(UniMEECConfig(backbone=tiny_backbone, thc_heads=2)).eval()
    save_checkpoint(model, UniMEECProcessor.from_config(model.config), directory)
    return directory


def _linear_counts(module: nn.Module) -> tuple[int, int]:
    quantised = sum(isinstance(m, DynamicQuantizedLinear) for m in module.modules())
    plain = sum(type(m) is nn.Linear for m in module.modules())
    return quantised, plain


def test_int8_quantises_the_backbone_linears_only(checkpoint: Path) -> None:
    fp32 = Predictor.from_pretrained(checkpoint, device="cpu")
    backbone_linears, all_linears = (
        _linear_counts(fp32.model.backbone)[1],
        _linear_counts(fp32.model)[1],
    )
    assert backbone_linears == 12  # 2 layers x (query, key, value, attention out, up, down)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's deprecation notices stay silenced
        int8 = Predictor.from_pretrained(checkpoint, quantize="int8")
    assert int8.device.type == "cpu" and int8.quantize == "int8"
    assert _linear_counts(int8.model.backbone) == (12, 0)
    assert _linear_counts(int8.model) == (12, all_linears - 12)  # heads stay fp32


def test_int8_predictions_stay_close_to_fp32(checkpoint: Path) -> None:
    fp32 = Predictor.from_pretrained(checkpoint, device="cpu").predict(TURNS)
    int8 = Predictor.from_pretrained(checkpoint, quantize="int8").predict(TURNS)
    assert isinstance(fp32, Conversation) and isinstance(int8, Conversation)
    gaps = [
        abs(u.emotion_scores[k] - v.emotion_scores[k])
        for u, v in zip(fp32.utterances, int8.utterances)
        for k in u.emotion_scores
    ]
    assert 0 < max(gaps) < 0.02  # int8 changes the numbers, a little
    for u in int8.utterances:
        assert sum(u.emotion_scores.values()) == pytest.approx(1.0, abs=1e-5)


def test_unknown_quantize_option_and_gpu_device_are_refused(checkpoint: Path) -> None:
    with pytest.raises(ConfigError, match=r"quantize='int4': expected one of none, int8"):
        Predictor.from_pretrained(checkpoint, quantize="int4")
    with pytest.raises(ConfigError, match=r"quantize='int8' runs on the CPU only, not on cuda"):
        Predictor.from_pretrained(checkpoint, quantize="int8", device="cuda")


def test_predict_cli_quantize_flag(checkpoint: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": "a", "utterances": [{"speaker": "A", "text": "I got it!"}, '
        '{"speaker": "B", "text": "No way!"}]}\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(checkpoint),
                str(source),
                "-o",
                str(out),
                "--quantize",
                "int8",
            ]
        )
        == 0
    )
    [served] = read_conversations(out)
    direct = Predictor.from_pretrained(checkpoint, quantize="int8").predict(
        read_conversations(source)
    )[0]
    assert [u.emotion for u in served.utterances] == [u.emotion for u in direct.utterances]
    for u, v in zip(served.utterances, direct.utterances):
        for label, p in v.emotion_scores.items():
            assert u.emotion_scores[label] == pytest.approx(p, abs=1e-6)
