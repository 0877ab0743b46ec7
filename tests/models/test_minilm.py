"""The real offline MiniLM on a real ECF 1.0 conversation."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from unimeec.data import load_dataset
from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor


@pytest.fixture(scope="module")
def ecf_first(shared_data):
    conv = load_dataset("ecf1", "train", shared_data)[0]
    # ECF 1.0 train.txt opens with conversation 1: 8 utterances, 8 pairs
    assert (conv.id, len(conv), len(conv.pairs)) == ("1", 8, 8)
    return conv


@pytest.mark.slow
@pytest.mark.parametrize("scope", ["conversation", "utterance"])
def test_minilm_forward_on_a_real_ecf_conversation(ecf_first, minilm_path, scope):
    torch.manual_seed(0)
    model = UniMEECModel(UniMEECConfig(scope=scope)).eval()
    processor = UniMEECProcessor.from_config(model.config)
    batch = processor([ecf_first])
    assert batch["emotion_labels"].tolist() == [0, 0, 6, 6, 1, 0, 0, 0]  # neutral/surprise/anger
    with torch.no_grad():
        out = model(**batch)
    assert out.emotion_logits.shape == (8, 7)
    assert out.cause_logits.shape == (len(batch["candidate_pairs"]),)
    # the gold pairs with offsets inside [-7, +3] are all among the candidates
    cands = {tuple(p[1:]) for p in out.candidate_pairs.tolist()}
    assert ecf_first.pair_set() <= cands
    assert torch.isfinite(out.loss)
    (pred,) = model.decode(out, batch)
    assert len(pred) == 8 and all(u.emotion in model.config.emotion_labels for u in pred.utterances)

    # the verbalizer: head rows = the label words' input embeddings of the pretrained MiniLM
    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    table = AutoModel.from_pretrained(minilm_path).get_input_embeddings().weight
    expected = torch.stack(
        [
            table[tokenizer(" " + w, add_special_tokens=False)["input_ids"]].mean(0)
            for w in model.config.emotion_labels
        ]
    )
    torch.testing.assert_close(model.emotion_head.classifier.weight, expected, rtol=0, atol=0)
