"""Hugging Face encoders as extractors, with tiny randomly initialised local models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import (
    ViTConfig,
    ViTImageProcessor,
    ViTModel,
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2Model,
)

from unimeec.errors import FeatureError
from unimeec.features import build_extractor, extract_features, read_manifest
from unimeec.features.media import cut, load_audio, read_frames, sample_times


@pytest.fixture(scope="module")
def tiny_wav2vec2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny-wav2vec2")
    torch.manual_seed(0)
    config = Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        conv_dim=(8, 8),
        conv_kernel=(10, 3),
        conv_stride=(5, 2),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        vocab_size=8,
    )
    Wav2Vec2Model(config).save_pretrained(path)
    Wav2Vec2FeatureExtractor(sampling_rate=16000).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_vit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny-vit")
    torch.manual_seed(0)
    config = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
    )
    ViTModel(config).save_pretrained(path)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(path)
    return path


@pytest.fixture()
def manifest(tmp_path: Path, talking_video: Path, video_half: float, video_seconds: float) -> Path:
    record = {
        "id": "7",
        "utterances": [
            {
                "speaker": "A",
                "text": "hello",
                "media": str(talking_video),
                "start": 0.0,
                "end": video_half,
            },
            {
                "speaker": "B",
                "text": "there",
                "media": str(talking_video),
                "start": video_half,
                "end": video_seconds,
            },
        ],
    }
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(record) + "\n")
    return path


def test_audio_encoder(
    tiny_wav2vec2: Path, manifest: Path, talking_video: Path, video_half: float, tmp_path: Path
) -> None:
    extractor = build_extractor("hf", "audio", model=str(tiny_wav2vec2))
    store, summary = extract_features(
        read_manifest(manifest),
        extractor,
        tmp_path / "s",
        progress=False,
        allow_absolute_paths=True,
    )
    assert (store.dim, summary.extracted) == (32, 2)
    assert store.extractor.name == "hf-audio"
    assert store.extractor.settings["model"] == str(tiny_wav2vec2.resolve())
    # the same as running the model by hand on the utterance's samples
    samples = cut(load_audio(talking_video), 16000, 0.0, video_half)
    processor = Wav2Vec2FeatureExtractor.from_pretrained(tiny_wav2vec2)
    model = Wav2Vec2Model.from_pretrained(tiny_wav2vec2).eval()
    with torch.no_grad():
        hidden = model(**processor(samples, sampling_rate=16000, return_tensors="pt"))
    np.testing.assert_allclose(
        store.get("7", 1), hidden.last_hidden_state[0].mean(0).numpy(), rtol=1e-4, atol=1e-5
    )
    assert not np.allclose(store.get("7", 1), store.get("7", 2))


def test_image_encoder(
    tiny_vit: Path,
    manifest: Path,
    talking_video: Path,
    video_half: float,
    video_seconds: float,
    tmp_path: Path,
) -> None:
    extractor = build_extractor("hf", "visual", model=str(tiny_vit), frames=2)
    store, summary = extract_features(
        read_manifest(manifest),
        extractor,
        tmp_path / "s",
        progress=False,
        allow_absolute_paths=True,
    )
    assert (store.dim, store.modality, summary.extracted) == (32, "visual", 2)
    frames = read_frames(talking_video, sample_times(video_half, video_seconds, 2))
    processor = ViTImageProcessor.from_pretrained(tiny_vit)
    model = ViTModel.from_pretrained(tiny_vit).eval()
    with torch.no_grad():
        pixels = processor(images=[f[:, :, ::-1] for f in frames], return_tensors="pt")
        hidden = model(pixel_values=pixels["pixel_values"]).last_hidden_state
    np.testing.assert_allclose(
        store.get("7", 2), hidden.mean(dim=(0, 1)).numpy(), rtol=1e-4, atol=1e-5
    )


def test_unknown_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FeatureError, match="cannot load the configuration of"):
        build_extractor("hf", "audio", model=str(tmp_path / "no-such-model"))
