"""Feature stores in training and prediction: training-split standardisation saved in the
model, the missing-utterance policy, and the Predictor's missing-modality warning."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from unimeec.checkpoint import save_checkpoint
from unimeec.data import Conversation
from unimeec.data.feature_store import ExtractorInfo, FeatureStoreWriter
from unimeec.errors import FeatureError
from unimeec.predict import Predictor
from unimeec.training.config import config_from_dict
from unimeec.training.datamodule import UniMEECDataModule
from unimeec.training.run import build_model

#: (conversation id, utterance) left out of the store / recorded as missing.
ABSENT = ("1", 2)
MISSING = ("1", 3)


def _vector(conversation_id: str, index: int, text: str) -> np.ndarray:
    return np.array([index, len(text), float(conversation_id)], dtype=np.float32)


@pytest.fixture(scope="module")
def audio_store(
    tmp_path_factory: pytest.TempPathFactory, ecf_splits: dict[str, list[Conversation]]
) -> Path:
    path = tmp_path_factory.mktemp("stores") / "audio"
    with FeatureStoreWriter(
        path, modality="audio", dim=3, extractor=ExtractorInfo(name="test")
    ) as writer:
        for conversations in ecf_splits.values():
            for conv in conversations:
                for utt in conv.utterances:
                    key = (conv.id, utt.index)
                    if key == MISSING:
                        writer.add_missing(*key, reason="no audio track")
                    elif key != ABSENT:
                        writer.add(*key, _vector(conv.id, utt.index, utt.text))
    return path


@pytest.fixture(scope="module")
def multimodal(
    audio_store: Path, ecf_splits: dict[str, list[Conversation]], tiny_backbone: str
) -> tuple[UniMEECDataModule, object, object]:
    config = config_from_dict(
        {"model": {"backbone": tiny_backbone}, "data": {"features": {"audio": str(audio_store)}}}
    )
    datamodule = UniMEECDataModule(config.data, conversations=ecf_splits)
    datamodule.load()
    model, processor = build_model(config, datamodule)
    return datamodule, model, processor


def test_training_split_statistics_are_stored_in_the_model(
    multimodal: tuple, ecf_splits: dict[str, list[Conversation]]
) -> None:
    _, model, _ = multimodal
    vectors = np.stack(
        [
            _vector(c.id, u.index, u.text)
            for c in ecf_splits["train"]
            for u in c.utterances
            if (c.id, u.index) not in (ABSENT, MISSING)
        ]
    )
    assert len(vectors) == sum(len(c) for c in ecf_splits["train"]) - 2
    prompt = model.soft_prompts["audio"]
    np.testing.assert_allclose(prompt.feature_mean.numpy(), vectors.mean(0), rtol=1e-5)
    np.testing.assert_allclose(prompt.feature_std.numpy(), vectors.std(0), rtol=1e-4)
    assert model.config.modalities == ["text", "audio"]
    assert model.config.feature_dims == {"audio": 3}


def test_missing_utterance_policy(
    audio_store: Path, ecf_splits: dict[str, list[Conversation]]
) -> None:
    lenient = UniMEECDataModule(
        config_from_dict({"data": {"features": {"audio": str(audio_store)}}}).data,
        conversations=ecf_splits,
    )
    lenient.load()
    assert lenient.features["audio"].get(*ABSENT) is None
    strict = UniMEECDataModule(
        config_from_dict(
            {"data": {"features": {"audio": str(audio_store)}, "missing_features": "error"}}
        ).data,
        conversations=ecf_splits,
    )
    strict.load()
    lookup = strict.features["audio"]
    assert lookup.get(*MISSING) is None  # recorded as missing: a missing modality, not an error
    assert (
        lookup.get("1", 1).tolist()
        == _vector("1", 1, ecf_splits["train"][0].utterances[0].text).tolist()
    )
    with pytest.raises(
        FeatureError,
        match=r"audio: no audio features for conversation 1 "
        r"utterance 2 \(set data.missing_features=missing",
    ):
        lookup.get(*ABSENT)
    bad = UniMEECDataModule(
        config_from_dict({"data": {"features": {"visual": str(audio_store)}}}).data,
        conversations=ecf_splits,
    )
    with pytest.raises(FeatureError, match=r"holds audio features, expected visual"):
        bad.load()


def test_predictor_warns_about_a_missing_modality_and_is_batch_independent(
    multimodal: tuple, audio_store: Path, ecf_splits: dict[str, list[Conversation]], tmp_path: Path
) -> None:
    _, model, processor = multimodal
    save_checkpoint(model, processor, tmp_path)
    predictor = Predictor.from_pretrained(tmp_path, batch_size=8)
    conversations = ecf_splits["test"][:6]
    with pytest.warns(UserWarning, match="trained with audio features but none were given"):
        without = predictor.predict(conversations)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with_audio = predictor.predict(conversations, features={"audio": str(audio_store)})
        one_by_one = predictor.predict(
            conversations, features={"audio": str(audio_store)}, batch_size=1
        )
    assert [c.id for c in with_audio] == [c.id for c in conversations]
    first = [u.emotion_scores for u in without[0].utterances]
    assert first != [u.emotion_scores for u in with_audio[0].utterances]
    for a, b in zip(with_audio, one_by_one):
        assert [u.emotion for u in a.utterances] == [u.emotion for u in b.utterances]
        assert a.pair_set() == b.pair_set()
        for u, v in zip(a.utterances, b.utterances):
            for label, p in u.emotion_scores.items():
                assert p == pytest.approx(v.emotion_scores[label], abs=1e-5)
    # an input labelled with another label set is predicted in the checkpoint's label space
    from unimeec.data import Utterance
    from unimeec.data.labels import ECF_EMOTIONS

    iemocap = Conversation(
        id="Ses05",
        dataset="iemocap",
        utterances=[Utterance(index=1, speaker="F", text="I'm so happy!", emotion="hap")],
    )
    result = predictor.predict(iemocap, features={"audio": str(audio_store)})
    assert result.labels == ECF_EMOTIONS and result.utterances[0].emotion in ECF_EMOTIONS
    assert result.dataset == "iemocap"
