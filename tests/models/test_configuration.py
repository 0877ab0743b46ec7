"""UniMEECConfig: defaults, validation messages, label words, round trips."""

from __future__ import annotations

import re

import pytest

from unimeec.data.labels import IEMOCAP_EMOTIONS
from unimeec.errors import ConfigError
from unimeec.models import UniMEECConfig


def test_defaults_are_the_documented_ones(minilm_path):
    config = UniMEECConfig()
    assert config.backbone == minilm_path
    assert config.emotion_labels[0] == "neutral" and len(config.emotion_labels) == 7
    assert (config.scope, config.tasks, config.use_thc, config.label_word_init) == (
        "conversation", "joint", True, True)
    assert config.emotion_readout == "mask"
    assert (config.cause_past, config.cause_future) == (7, 3)
    assert config.ordered_modalities == ["text"]
    assert config.effective_chunk_overlap == config.prompt_past + config.prompt_future
    assert config.effective_distance_clip == 7
    assert "{x}" in config.template and config.max_sequence_length == 512


@pytest.mark.parametrize("kwargs, field", [
    ({"scope": "dialogue"}, "scope"),
    ({"tasks": "both"}, "tasks"),
    ({"emotion_readout": "slot"}, "emotion_readout"),
    ({"modalities": ["audio"]}, "modalities"),
    ({"modalities": ["text", "smell"]}, "modalities"),
    ({"modalities": ["text", "audio"]}, "feature_dims"),
    ({"prompt_past": -1}, "prompt_past"),
    ({"thc_layers": 0}, "thc_layers"),
    ({"use_thc": "yes"}, "use_thc"),
    ({"dropout": 1.0}, "dropout"),
    ({"cause_threshold": 1.5}, "cause_threshold"),
    ({"emotion_class_weights": [1.0, 2.0]}, "emotion_class_weights"),
    ({"neutral_label": "calm"}, "neutral_label"),
    ({"template": "the emotion is {mask_e}"}, "template"),
    ({"conversation_template": "{x} {mask_e} {mask_c} {mask_c}"}, "conversation_template"),
    ({"emotion_labels": ["neutral", "joy", "joy"]}, "emotion_labels"),
])
def test_invalid_values_raise_config_error_naming_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=re.escape(f"UniMEECConfig.{field}:")):
        UniMEECConfig(**kwargs)


def test_label_words_map_abbreviations_and_accept_overrides():
    config = UniMEECConfig(emotion_labels=list(IEMOCAP_EMOTIONS), neutral_label="neu",
                           label_words={"exc": "thrilled"})
    assert [config.label_word(x) for x in IEMOCAP_EMOTIONS] == [
        "happy", "sad", "neutral", "angry", "thrilled", "frustrated"]
    assert UniMEECConfig().label_word("joy") == "joy"


def test_max_length_alias_and_json_round_trip(tmp_path):
    config = UniMEECConfig(max_length=128, modalities=["text", "visual"],
                           feature_dims={"visual": 7}, scope="utterance", cause_floor=0.2)
    assert config.max_sequence_length == 128
    config.save_pretrained(tmp_path)
    loaded = UniMEECConfig.from_pretrained(tmp_path)
    for key in ("max_sequence_length", "modalities", "feature_dims", "scope", "cause_floor",
                "template", "emotion_labels"):
        assert getattr(loaded, key) == getattr(config, key)
