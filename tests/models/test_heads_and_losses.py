"""Heads, verbalizer initialisation, loss masking and decoding, checked against hand values."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F
from transformers import AutoModel, AutoTokenizer

from tests.models.conftest import make_conversation
from unimeec.data.labels import IEMOCAP_EMOTIONS
from unimeec.data.schema import Conversation, Utterance
from unimeec.models import UniMEECOutput


def _logit(p: float) -> float:
    return float(torch.logit(torch.tensor(p)))


def _decode_case(model, processor, threshold=None, gold_emotions=None):
    conv = make_conversation("d", 3)  # gold emotions: joy, anger, neutral
    batch = processor([conv])
    # candidates with K = 1: (1,1) (1,2) (2,1) (2,2) (2,3) (3,2) (3,3)
    assert [tuple(r[1:]) for r in batch["candidate_pairs"].tolist()] == [
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
        (2, 3),
        (3, 2),
        (3, 3),
    ]
    labels = model.config.emotion_labels
    emotion_logits = torch.full((3, 7), -5.0)
    for u, label in enumerate(["joy", "neutral", "anger"]):
        emotion_logits[u, labels.index(label)] = 5.0
    probs = [0.9, 0.6, 0.99, 0.7, 0.8, 0.4, 0.2]
    out = UniMEECOutput(
        emotion_logits=emotion_logits,
        cause_logits=torch.tensor([_logit(p) for p in probs]),
        candidate_pairs=batch["candidate_pairs"],
    )
    return model.decode(out, batch, threshold=threshold, gold_emotions=gold_emotions)[0]


def test_decode_threshold_floor_and_neutral(build):
    model, processor = build(cause_past=1, cause_future=1, cause_threshold=0.5, cause_floor=0.3)
    pred = _decode_case(model, processor)
    assert [u.emotion for u in pred.utterances] == ["joy", "neutral", "anger"]
    assert pred.utterances[0].emotion_scores["joy"] == pytest.approx(
        1 / (1 + 6 * torch.exp(torch.tensor(-10.0)).item()), rel=1e-5
    )
    # utterance 2 is neutral: no pairs although (2, 1) has 0.99; utterance 3: nothing above
    # 0.5, its best (3, 2) = 0.4 passes the floor 0.3
    assert [(p.emotion_utterance, p.cause_utterance, p.emotion) for p in pred.pairs] == [
        (1, 1, "joy"),
        (1, 2, "joy"),
        (3, 2, "anger"),
    ]
    assert [p.score for p in pred.pairs] == pytest.approx([0.9, 0.6, 0.4], rel=1e-5)
    strict = _decode_case(model, processor, threshold=0.95)
    assert [p.key for p in strict.pairs] == [(1, 1), (3, 2)]  # both kept by the floor only
    model.config.cause_floor = 0.95
    assert [p.key for p in _decode_case(model, processor, threshold=0.95).pairs] == []


def test_neutral_bias_shifts_the_neutral_logit_before_the_softmax(build):
    model, processor = build(cause_past=1, cause_future=1, cause_threshold=0.5, cause_floor=0.3)
    conv = make_conversation("d", 3)
    batch = processor([conv])
    labels = model.config.emotion_labels
    logits = torch.zeros(3, 7)
    logits[0, labels.index("neutral")], logits[0, labels.index("joy")] = 1.0, 0.4  # neutral by 0.6
    logits[1, labels.index("anger")] = 2.0  # anger, far ahead
    logits[2, labels.index("neutral")] = 0.1  # neutral by 0.1 over six zeros
    out = UniMEECOutput(
        emotion_logits=logits,
        cause_logits=torch.tensor([_logit(0.9)] * 7),
        candidate_pairs=batch["candidate_pairs"],
    )
    plain = model.decode(out, batch)[0]
    assert [u.emotion for u in plain.utterances] == ["neutral", "anger", "neutral"]
    assert [p.key for p in plain.pairs] == [(2, 1), (2, 2), (2, 3)]
    shifted = model.decode(out, batch, neutral_bias=-0.5)[0]
    # -0.5 turns utterance 3 (neutral by 0.1) to the first of its tied others, not utterance 1
    first_other = next(label for label in labels if label != "neutral")
    assert [u.emotion for u in shifted.utterances] == ["neutral", "anger", first_other]
    assert [p.key for p in shifted.pairs] == [(2, 1), (2, 2), (2, 3), (3, 2), (3, 3)]
    # the scores are the softmax of the shifted logits: the label shown is the most probable
    expected = torch.softmax(logits[0] + torch.eye(7)[labels.index("neutral")] * -0.5, dim=0)
    got = [shifted.utterances[0].emotion_scores[label] for label in labels]
    assert got == pytest.approx(expected.tolist(), rel=1e-6)
    model.config.neutral_bias = -0.7  # the model's own value is the default
    assert model.decode(out, batch)[0].utterances[0].emotion == "joy"
    assert logits[0, labels.index("neutral")] == 1.0  # the output is not modified in place


def test_neutral_bias_must_be_a_finite_number():
    from unimeec.errors import ConfigError
    from unimeec.models import UniMEECConfig

    for bad in (float("nan"), float("inf"), True, "0.5"):
        with pytest.raises(ConfigError, match="neutral_bias: must be a finite number"):
            UniMEECConfig(neutral_bias=bad)
    assert UniMEECConfig(neutral_bias=-1).neutral_bias == -1


def test_decode_with_gold_emotions_and_emotion_only_task(build):
    model, processor = build(cause_past=1, cause_future=1)
    pred = _decode_case(model, processor, gold_emotions=True)
    # gold: 1 joy, 2 anger, 3 neutral -> pairs of 1 and 2 only, with the gold emotions
    assert [u.emotion for u in pred.utterances] == ["joy", "anger", "neutral"]
    assert [(p.key, p.emotion) for p in pred.pairs] == [
        ((1, 1), "joy"),
        ((1, 2), "joy"),
        ((2, 1), "anger"),
        ((2, 2), "anger"),
        ((2, 3), "anger"),
    ]
    model.config.tasks = "emotion"
    assert _decode_case(model, processor).pairs == []


def test_joint_loss_matches_hand_computation(build):
    model, processor = build(
        cause_past=1,
        cause_future=1,
        cause_loss_weight=0.5,
        emotion_class_weights=[0.5, 1, 1, 1, 2, 1, 1],
    )
    labelled = make_conversation("a", 3, pairs=[(1, 1), (1, 2), (2, 1)])  # joy, anger, neutral
    free = Conversation(
        "b",
        [Utterance(1, "A", "hi there", "bored"), Utterance(2, "B", "hello", None)],
        has_cause_labels=False,
    )
    batch = processor([labelled, free])
    assert batch["emotion_labels"].tolist() == [4, 1, 0, -100, -100]
    assert batch["cause_labels"].tolist() == [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    # gold emotion utterances 1 and 2 of conversation "a" only
    assert batch["cause_mask"].tolist() == [True] * 5 + [False] * 6
    assert batch["has_cause_labels"].tolist() == [True, False]
    with torch.no_grad():
        out = model(**batch)
    weights = torch.tensor([2.0, 1.0, 0.5])
    nll = F.cross_entropy(out.emotion_logits[:3], torch.tensor([4, 1, 0]), reduction="none")
    ce = (nll * weights).sum() / weights.sum()
    bce = F.binary_cross_entropy_with_logits(out.cause_logits[:5], torch.tensor([1.0, 1, 1, 0, 0]))
    assert out.emotion_loss.item() == pytest.approx(ce.item(), rel=1e-5)
    assert out.cause_loss.item() == pytest.approx(bce.item(), rel=1e-5)
    assert out.loss.item() == pytest.approx(ce.item() + 0.5 * bce.item(), rel=1e-5)


def test_label_smoothing_matches_hand_computation(build):
    model, processor = build(emotion_label_smoothing=0.2)
    batch = processor([make_conversation("a", 3)])  # joy, anger, neutral
    with torch.no_grad():
        out = model(**batch)
    # target: 0.8 on the gold label plus 0.2 / 7 on each of the 7 labels
    log_p = torch.log_softmax(out.emotion_logits, dim=-1)
    gold = batch["emotion_labels"]
    target = torch.full_like(log_p, 0.2 / 7)
    target[torch.arange(3), gold] += 0.8
    expected = -(target * log_p).sum(-1).mean()
    assert out.emotion_loss.item() == pytest.approx(expected.item(), rel=1e-5)
    plain = F.cross_entropy(out.emotion_logits, gold)
    assert out.emotion_loss.item() != pytest.approx(plain.item(), rel=1e-3)


def test_single_task_datasets_train_their_task_only(build):
    model, processor = build()
    emotion_only = make_conversation("m", 4, has_cause_labels=False)
    batch = processor([emotion_only])
    assert "cause_labels" not in batch
    out = model(**batch)
    assert out.cause_loss is None and out.loss.item() == pytest.approx(out.emotion_loss.item())
    cause_only = make_conversation("c", 4, emotions=False, pairs=[(3, 2), (3, 3)])
    batch = processor([cause_only])
    assert "emotion_labels" not in batch
    # without emotion labels, the gold emotion utterances are the emotion side of the pairs
    masked = batch["candidate_pairs"][batch["cause_mask"]]
    assert masked[:, 1].unique().tolist() == [3]
    out = model(**batch)
    assert out.emotion_loss is None and out.loss.item() == pytest.approx(out.cause_loss.item())


@pytest.mark.parametrize("tasks", ["emotion", "cause"])
def test_tasks_switch_off_the_other_loss(build, tasks):
    model, processor = build(tasks=tasks)
    model.train()
    out = model(**processor([make_conversation("t", 4)]))
    assert (out.cause_loss is None) == (tasks == "emotion")
    assert (out.emotion_loss is None) == (tasks == "cause")
    out.loss.backward()
    head = model.cause_head if tasks == "emotion" else model.emotion_head
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in head.parameters())


def test_emotion_head_rows_are_the_label_word_embeddings(build, tiny_backbone):
    model, _ = build(
        emotion_labels=list(IEMOCAP_EMOTIONS), neutral_label="neu", label_words={"exc": "overjoyed"}
    )
    tokenizer = AutoTokenizer.from_pretrained(tiny_backbone)
    table = AutoModel.from_pretrained(tiny_backbone).get_input_embeddings().weight
    words = ["happy", "sad", "neutral", "angry", "overjoyed", "frustrated"]  # overjoyed: 3 pieces
    expected = torch.stack(
        [table[tokenizer(" " + w, add_special_tokens=False)["input_ids"]].mean(0) for w in words]
    )
    assert any(len(tokenizer(" " + w, add_special_tokens=False)["input_ids"]) > 1 for w in words)
    torch.testing.assert_close(model.emotion_head.classifier.weight, expected, rtol=0, atol=0)
    assert model.emotion_head.classifier.bias.abs().sum().item() == 0.0
    random_model, _ = build(
        emotion_labels=list(IEMOCAP_EMOTIONS), neutral_label="neu", label_word_init=False
    )
    assert not torch.allclose(random_model.emotion_head.classifier.weight, expected)


def test_masked_lm_head_option_reads_label_word_logits(build, tiny_mlm_backbone):
    model, processor = build(backbone=tiny_mlm_backbone, use_mlm_head=True, use_thc=False)
    assert model.emotion_head is None
    batch = processor([make_conversation("l", 3)])
    with torch.no_grad():
        out = model(**batch)
        hidden = model.backbone.base_model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
        rows, cols = batch["mask_e_positions"][0].unbind(-1)
        vocab = model.backbone.cls(hidden[rows, cols])
    ids = model.config.label_word_ids
    expected = torch.stack([vocab[:, i].mean(1) for i in ids], dim=1)
    torch.testing.assert_close(out.emotion_logits, expected, rtol=1e-5, atol=1e-5)
    model.train()
    model(**batch).loss.backward()
    assert model.backbone.cls.predictions.transform.dense.weight.grad.abs().sum() > 0


def test_distinct_mask_tokens_are_added_and_embeddings_resized(build, tiny_backbone):
    base = len(AutoTokenizer.from_pretrained(tiny_backbone))
    model, processor = build(mask_e_token="[EMO]", mask_c_token="[CAUSE]")
    assert len(processor.tokenizer) == base + 3  # [EMO], [CAUSE], [SOFT]
    assert model.backbone.get_input_embeddings().num_embeddings == base + 3
    assert {"[EMO]", "[CAUSE]", "[SOFT]"} <= set(processor.tokenizer.all_special_tokens)
    batch = processor([make_conversation("s", 2)])
    cause_id = processor.tokenizer.convert_tokens_to_ids("[CAUSE]")
    rows, cols = batch["mask_c_positions"][0].unbind(-1)
    assert batch["input_ids"][rows, cols].tolist() == [cause_id, cause_id]
    assert model(**batch).emotion_logits.shape == (2, 7)


def test_uncertainty_balancing_matches_hand_computation(build):
    model, processor = build(cause_past=1, cause_future=1, loss_balancing="uncertainty")
    assert model.loss_log_variances.tolist() == [0.0, 0.0]  # starts as the fixed sum
    with torch.no_grad():
        model.loss_log_variances.copy_(torch.tensor([0.5, -1.0]))
    batch = processor([make_conversation("a", 3, pairs=[(1, 1), (1, 2), (2, 1)])])
    out = model(**batch)
    ce, bce = out.emotion_loss.item(), out.cause_loss.item()
    expected = math.exp(-0.5) * ce + 0.25 + math.exp(1.0) * bce - 0.5
    assert out.loss.item() == pytest.approx(expected, rel=1e-5)
    out.loss.backward()
    # d/ds (exp(-s) L + s / 2) = -exp(-s) L + 1/2
    grad = model.loss_log_variances.grad.tolist()
    assert grad == pytest.approx([-math.exp(-0.5) * ce + 0.5, -math.exp(1.0) * bce + 0.5], rel=1e-4)


def test_fixed_balancing_has_no_loss_parameters(build):
    model, _ = build()
    assert model.loss_log_variances is None
    # one task: nothing to balance, the loss is that task's loss
    single, processor = build(loss_balancing="uncertainty", tasks="emotion")
    assert single.loss_log_variances is None
    out = single(**processor([make_conversation("e", 3)]))
    assert out.loss.item() == pytest.approx(out.emotion_loss.item())
    assert not any("loss_log_variances" in name for name, _ in model.named_parameters())


def test_cause_head_reading_the_emotion_matches_hand_computation():
    """``cause_reads_emotion``: features ``[c; x; c * x; h_e; h_e * x; r(i - j)]``."""
    from unimeec.models.heads import CauseHead

    torch.manual_seed(0)
    head = CauseHead(4, 8, distance_clip=2, distance_size=3, dropout=0.0, reads_emotion=True)
    c, x, h = torch.randn(3, 5, 4).unbind(0)
    offsets = torch.tensor([0, 1, 2, 5, -3])
    r = head.distance.weight[offsets.clamp(-2, 2) + 2]
    expected = head.mlp(torch.cat([c, x, c * x, h, h * x, r], dim=-1)).squeeze(-1)
    torch.testing.assert_close(head(c, x, offsets, h), expected)
    assert head.mlp[0].in_features == 5 * 4 + 3
    with pytest.raises(ValueError, match="exactly when reads_emotion"):
        head(c, x, offsets)
    with pytest.raises(ValueError, match="exactly when reads_emotion"):
        CauseHead(4, 8, 2, 3, 0.0)(c, x, offsets, h)


def test_cause_reading_the_emotion_sends_the_cause_loss_into_the_emotion_head_input(build):
    convs = [make_conversation("e", 6)]
    for reads in (False, True):
        model, processor = build(cause_reads_emotion=reads, emotion_readout="mask+slot")
        model.train()
        out = model(**processor(convs))
        out.cause_loss.backward()
        reached = model.context.emotion_level[0].query.weight.grad
        # only a cause head that reads e'_i sends the cause loss through THC's emotion level
        assert (reached is not None and reached.abs().sum() > 0) == reads
