"""UniMEECConfig: defaults, validation messages, label words, round trips."""

from __future__ import annotations

import json
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
        "conversation",
        "joint",
        True,
        True,
    )
    assert config.emotion_readout == "mask" and config.cause_layers == 0
    assert (config.cause_past, config.cause_future) == (7, 3)
    assert config.ordered_modalities == ["text"]
    assert config.effective_chunk_overlap == config.prompt_past + config.prompt_future
    assert config.effective_distance_clip == 7
    assert "{x}" in config.template and config.max_sequence_length == 512


@pytest.mark.parametrize(
    "kwargs, field",
    [
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
        ({"emotion_label_smoothing": 1.0}, "emotion_label_smoothing"),
        ({"emotion_label_smoothing": -0.1}, "emotion_label_smoothing"),
        ({"emotion_label_smoothing": True}, "emotion_label_smoothing"),
        ({"neutral_label": "calm"}, "neutral_label"),
        ({"template": "the emotion is {mask_e}"}, "template"),
        ({"conversation_template": "{x} {mask_e} {mask_c} {mask_c}"}, "conversation_template"),
        ({"emotion_labels": ["neutral", "joy", "joy"]}, "emotion_labels"),
    ],
)
def test_invalid_values_raise_config_error_naming_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=re.escape(f"UniMEECConfig.{field}:")):
        UniMEECConfig(**kwargs)


def test_label_words_map_abbreviations_and_accept_overrides():
    config = UniMEECConfig(
        emotion_labels=list(IEMOCAP_EMOTIONS), neutral_label="neu", label_words={"exc": "thrilled"}
    )
    assert [config.label_word(x) for x in IEMOCAP_EMOTIONS] == [
        "happy",
        "sad",
        "neutral",
        "angry",
        "thrilled",
        "frustrated",
    ]
    assert UniMEECConfig().label_word("joy") == "joy"


def test_max_length_alias_and_json_round_trip(tmp_path):
    config = UniMEECConfig(
        max_length=128,
        modalities=["text", "visual"],
        feature_dims={"visual": 7},
        scope="utterance",
        cause_floor=0.2,
    )
    assert config.max_sequence_length == 128
    config.save_pretrained(tmp_path)
    loaded = UniMEECConfig.from_pretrained(tmp_path)
    for key in (
        "max_sequence_length",
        "modalities",
        "feature_dims",
        "scope",
        "cause_floor",
        "template",
        "emotion_labels",
    ):
        assert getattr(loaded, key) == getattr(config, key)


def test_field_groups_hold_every_argument_once_and_each_has_a_validator():
    import inspect

    from unimeec.models.configuration import FIELD_GROUPS

    params = inspect.signature(UniMEECConfig.__init__).parameters
    arguments = [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    grouped = [name for names in FIELD_GROUPS.values() for name in names]
    assert len(arguments) == 56 and sorted(grouped) == sorted(arguments)
    assert all(callable(getattr(UniMEECConfig, f"_validate_{g}", None)) for g in FIELD_GROUPS)


def test_group_is_a_read_view_and_the_saved_config_stays_flat(tmp_path):
    config = UniMEECConfig(cause_threshold=0.4, thc_layers=2)
    assert config.group("decoding") == {
        "cause_threshold": 0.4,
        "cause_floor": 0.3,
        "neutral_bias": 0.0,
    }
    assert config.group("context")["thc_layers"] == 2
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "UniMEECConfig has no field group 'thc'; groups: backbone, labels, modalities, "
            "prompt, context, heads, losses, decoding"
        ),
    ):
        config.group("thc")
    config.save_pretrained(tmp_path)
    record = json.loads((tmp_path / "config.json").read_text())
    assert (record["cause_threshold"], record["thc_layers"], record["scope"]) == (
        0.4,
        2,
        "conversation",
    )
    assert "decoding" not in record and "context" not in record


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"pad_to_multiple_of": True},
            "pad_to_multiple_of: must be null or an integer >= 0, got True",
        ),
        ({"chunk_overlap": -1}, "chunk_overlap: must be null or an integer >= 0, got -1"),
        ({"span_max_tokens": 0}, "span_max_tokens: must be null or an integer >= 1, got 0"),
        ({"cause_layers": -1}, "cause_layers: must be an integer >= 0, got -1"),
        ({"thc_heads": 2.0}, "thc_heads: must be an integer >= 1, got 2.0"),
        ({"cause_floor": -0.1}, "cause_floor: must be a probability in [0, 1], got -0.1"),
        ({"span_loss_weight": -1}, "span_loss_weight: must be >= 0, got -1"),
        (
            {"loss_balancing": "pcgrad"},
            "loss_balancing: must be one of ('fixed', 'uncertainty'), got 'pcgrad'",
        ),
    ],
)
def test_validator_messages_are_exact(kwargs, message):
    with pytest.raises(ConfigError, match=f"^{re.escape('UniMEECConfig.' + message)}$"):
        UniMEECConfig(**kwargs)


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        UniMEECConfig("some-backbone")  # type: ignore[misc]
