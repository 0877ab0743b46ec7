"""UniMEECModel on tiny random backbones: shapes, windows, modalities, gradients, io."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModel

from tests.models.conftest import make_conversation, random_lookup
from unimeec.errors import FeatureError
from unimeec.models import UniMEECModel, UniMEECOutput, UniMEECProcessor

MODALITY_SETS = [["text"], ["text", "audio"], ["text", "visual"], ["text", "audio", "visual"]]
DIMS = {"audio": 6, "visual": 5}


def _features(modalities: list[str], convs: list, missing: set = frozenset()) -> dict:
    return {
        m: random_lookup(convs, DIMS[m], seed=k, missing=missing)
        for k, m in enumerate(modalities)
        if m != "text"
    }


def _expected_candidates(lengths: list[int], past: int, future: int) -> list[tuple[int, int, int]]:
    return [
        (c, i, j)
        for c, n in enumerate(lengths)
        for i in range(1, n + 1)
        for j in range(max(1, i - past), min(n, i + future) + 1)
    ]


@pytest.mark.parametrize("scope", ["conversation", "utterance"])
@pytest.mark.parametrize("modalities", MODALITY_SETS, ids="+".join)
def test_shapes_for_every_scope_and_modality_set(build, scope, modalities):
    model, processor = build(
        scope=scope, modalities=modalities, feature_dims=DIMS, cause_past=2, cause_future=1
    )
    convs = [make_conversation("a", 4), make_conversation("b", 6)]
    batch = processor(convs, _features(modalities, convs, missing={("b", 2)}))
    out = model(**batch)
    assert isinstance(out, UniMEECOutput)
    assert out.emotion_logits.shape == (10, 7)
    expected = _expected_candidates([4, 6], past=2, future=1)
    assert [tuple(r) for r in out.candidate_pairs.tolist()] == expected
    assert out.cause_logits.shape == (len(expected),)
    assert batch["modality_mask"].shape == (len(modalities), 10)
    if len(modalities) > 1:  # ("b", 2) is the 4 + 2 = 6th utterance of the batch
        assert batch["modality_mask"][1:].sum().item() == (len(modalities) - 1) * 9
        assert not batch["modality_mask"][1:, 5].any()
    assert torch.isfinite(out.loss) and out.loss.item() > 0
    preds = model.decode(out, batch)
    assert [len(p) for p in preds] == [4, 6]


@pytest.mark.parametrize("modalities", [["text"], ["text", "audio", "visual"]], ids="+".join)
def test_both_scopes_make_the_same_predictions_per_utterance(build, modalities):
    convs = [make_conversation("a", 5), make_conversation("b", 3)]
    counts = []
    for scope in ("conversation", "utterance"):
        model, processor = build(scope=scope, modalities=modalities, feature_dims=DIMS)
        batch = processor(convs, _features(modalities, convs))
        out = model(**batch)
        per_utterance = np.bincount(batch["candidate_utterances"][:, 0].numpy(), minlength=8)
        counts.append(
            (out.emotion_logits.shape, out.candidate_pairs.tolist(), per_utterance.tolist())
        )
        # every utterance got its masks from exactly one place in every pass
        for m in range(len(modalities)):
            rows = batch["mask_e_positions"][m, :, 0]
            cols = batch["mask_e_positions"][m, :, 1]
            assert (batch["input_ids"][rows, cols] == processor.builder.mask_e_id).all()
    assert counts[0] == counts[1]
    # j in [i - 7, i + 3] inside conversations of 5 and 3 utterances
    assert counts[0][2] == [4, 5, 5, 5, 5, 3, 3, 3]


def _window_config() -> dict:
    # larger initial THC weights (0.2) so that an in-window change shows clearly
    return {
        "scope": "utterance",
        "use_thc": True,
        "prompt_past": 1,
        "prompt_future": 0,
        "thc_utterance_window": 1,
        "thc_cause_past": 1,
        "thc_cause_future": 0,
        "thc_cause_window": 1,
        "thc_emotion_window": 1,
        "thc_layers": 1,
        "initializer_range": 0.2,
    }


def _with_text(conv, index: int, text: str):
    conv = make_conversation(conv.id, len(conv))
    conv.utterances[index - 1].text = text
    return conv


def test_windows_really_restrict_information(build):
    """Utterance 1 reads utterances 1..3 only (hand-derived receptive field, see below).

    e'_1 <- x'_{1,2}, e_{1,2}, c'_1; x'_2 <- x_{1..3}; c'_1 <- x'_1, c_{1,2}; and x_j, e_j, c_j
    come from the prompt of j whose context is {j-1, j}. So utterance 4 is outside every
    window of target 1, utterance 3 inside one.
    """
    model, processor = build(**_window_config())
    base = make_conversation("w", 12)

    def logits(conv):
        with torch.no_grad():
            return model(**processor([conv])).emotion_logits[0]

    reference = logits(base)
    far = logits(_with_text(base, 4, "a completely different and much longer sentence here ."))
    far2 = logits(_with_text(base, 12, "totally new words"))
    near = logits(_with_text(base, 3, "a completely different and much longer sentence here ."))
    torch.testing.assert_close(far, reference, atol=1e-6, rtol=0)
    torch.testing.assert_close(far2, reference, atol=1e-6, rtol=0)
    assert (near - reference).abs().max().item() > 1e-3


def test_without_thc_only_the_prompt_window_matters(build):
    model, processor = build(**{**_window_config(), "use_thc": False})
    base = make_conversation("w", 6)
    with torch.no_grad():
        reference = model(**processor([base])).emotion_logits[2]  # utterance 3: context {2, 3}
        moved = model(**processor([_with_text(base, 4, "other words")])).emotion_logits[2]
        inside = model(**processor([_with_text(base, 2, "other words")])).emotion_logits[2]
    torch.testing.assert_close(moved, reference, atol=1e-6, rtol=0)
    assert (inside - reference).abs().max().item() > 1e-3


@pytest.mark.parametrize("scope", ["conversation", "utterance"])
def test_missing_modality_differs_from_zero_features(build, scope):
    model, processor = build(scope=scope, modalities=["text", "audio"], feature_dims=DIMS)
    conv = make_conversation("m", 3)
    present = random_lookup([conv], 6, seed=1)
    missing = random_lookup([conv], 6, seed=1, missing={("m", 2)})
    zeros = random_lookup([conv], 6, seed=1)
    zeros.values[("m", 2)] = np.zeros(6, dtype=np.float32)
    with torch.no_grad():
        out_missing = model(**processor([conv], {"audio": missing})).emotion_logits
        out_zeros = model(**processor([conv], {"audio": zeros})).emotion_logits
        out_present = model(**processor([conv], {"audio": present})).emotion_logits
        out_absent = model(**processor([conv])).emotion_logits  # the modality missing everywhere
    assert (out_missing[1] - out_zeros[1]).abs().max().item() > 1e-4
    assert (out_missing[1] - out_present[1]).abs().max().item() > 1e-4
    assert torch.isfinite(out_absent).all() and out_absent.shape == (3, 7)
    batch = processor([conv], {"audio": missing})
    assert batch["modality_mask"].tolist() == [[True, True, True], [True, False, True]]
    assert batch["features_audio"][1].abs().sum().item() == 0.0


@pytest.mark.parametrize("feed_forward", [False, True])
def test_gradients_reach_every_part(build, feed_forward):
    model, processor = build(
        modalities=["text", "audio", "visual"], feature_dims=DIMS, thc_feed_forward=feed_forward
    )
    model.train()
    convs = [make_conversation("g", 6)]
    out = model(**processor(convs, _features(["text", "audio", "visual"], convs)))
    out.loss.backward()

    def moved(module: torch.nn.Module) -> bool:
        return any(
            p.grad is not None and p.grad.abs().sum().item() > 0 for p in module.parameters()
        )

    parts = {
        "backbone embeddings": model.backbone.get_input_embeddings(),
        "backbone last layer": model.backbone.encoder.layer[-1],
        "audio prompt": model.soft_prompts["audio"],
        "visual prompt": model.soft_prompts["visual"],
        "fusion": model.fuse_e,
        "THC utterance level": model.context.utterance_level,
        "THC cause level": model.context.cause_level,
        "THC emotion level": model.context.emotion_level,
        "emotion head": model.emotion_head,
        "cause head": model.cause_head,
    }
    if feed_forward:
        parts["THC feed-forward"] = model.context.emotion_level[0].feed_forward
    assert [name for name, module in parts.items() if not moved(module)] == []
    assert model.soft_prompts["audio"].projection.weight.grad.abs().sum() > 0
    assert model.soft_prompts["audio"].prompt.grad.abs().sum() > 0


@pytest.mark.slow  # trains for about 5-12 s
def test_overfits_a_tiny_set(build):
    model, processor = build(dropout=0.0, cause_past=2, cause_future=1)
    model.train()
    batch = processor([make_conversation("o1", 5), make_conversation("o2", 4)])
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(40):
        optimiser.zero_grad()
        loss = model(**batch).loss
        loss.backward()
        optimiser.step()
        first = first if first is not None else loss.item()
    assert first > 1.0
    assert loss.item() < 0.02
    model.eval()
    with torch.no_grad():
        preds = model.decode(model(**batch), batch)
    gold = batch["conversations"]
    assert [u.emotion for p in preds for u in p.utterances] == [
        u.emotion for g in gold for u in g.utterances
    ]
    assert [p.pair_set() for p in preds] == [g.pair_set() for g in gold]


@pytest.mark.parametrize("scope", ["conversation", "utterance"])
def test_save_then_load_gives_identical_outputs(build, tmp_path, scope):
    model, processor = build(
        scope=scope, modalities=["text", "audio"], feature_dims=DIMS, cause_threshold=0.37
    )
    model.set_feature_statistics("audio", np.arange(6), np.full(6, 2.0))
    convs = [make_conversation("s", 5)]
    features = _features(["text", "audio"], convs, missing={("s", 3)})
    batch = processor(convs, features)
    with torch.no_grad():
        before = model(**batch)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    loaded = UniMEECModel.from_pretrained(tmp_path).eval()
    loaded_processor = UniMEECProcessor.from_pretrained(tmp_path)
    batch2 = loaded_processor(convs, features)
    assert torch.equal(batch["input_ids"], batch2["input_ids"])
    with torch.no_grad():
        after = loaded(**batch2)
    assert torch.equal(before.emotion_logits, after.emotion_logits)
    assert torch.equal(before.cause_logits, after.cause_logits)
    assert loaded.config.cause_threshold == 0.37
    assert loaded.soft_prompts["audio"].feature_mean.tolist() == list(range(6))
    assert len(loaded_processor.tokenizer) == loaded.backbone.get_input_embeddings().num_embeddings
    assert type(AutoModel.from_pretrained(tmp_path)) is UniMEECModel  # registered with Auto*


@pytest.mark.parametrize("scope", ["conversation", "utterance"])
def test_conversation_longer_than_max_length(build, scope):
    model, processor = build(scope=scope, max_sequence_length=64)
    conv = make_conversation("long", 14, words=6)
    batch = processor([conv])
    total_text = sum(len(processor.tokenizer(u.text)["input_ids"]) for u in conv.utterances)
    assert total_text > 64
    assert batch["input_ids"].shape[1] <= 64
    lengths = batch["attention_mask"].sum(1)
    assert lengths.max().item() <= 64
    rows = batch["mask_c_positions"][0, :, 0]
    cols = batch["mask_c_positions"][0, :, 1]
    assert (batch["input_ids"][rows, cols] == processor.builder.mask_c_id).all()
    if scope == "conversation":
        assert batch["input_ids"].shape[0] >= 3  # overlapping chunks
    out = model(**batch)
    assert out.emotion_logits.shape == (14, 7) and torch.isfinite(out.loss)


def test_set_feature_statistics_checks_its_input(build):
    model, _ = build(modalities=["text", "audio"], feature_dims=DIMS)
    with pytest.raises(FeatureError, match="6 values"):
        model.set_feature_statistics("audio", np.zeros(5), np.ones(5))
    with pytest.raises(FeatureError, match="no 'visual' modality"):
        model.set_feature_statistics("visual", np.zeros(5), np.ones(5))
    model.set_feature_statistics("audio", np.zeros(6), np.zeros(6))
    assert model.soft_prompts["audio"].feature_std.min().item() == pytest.approx(1e-6)


def test_mask_plus_slot_readout_adds_the_target_tokens_state(build):
    """``emotion_readout="mask+slot"`` feeds ``e'_i + x'_i`` to the head; ``"mask"`` only ``e'_i``."""
    convs = [make_conversation("r", 5)]
    mask_model, processor = build(emotion_readout="mask")
    slot_model, _ = build(emotion_readout="mask+slot")
    slot_model.load_state_dict(mask_model.state_dict())
    batch = processor(convs)
    captured: dict[str, torch.Tensor] = {}
    hook = mask_model.context.register_forward_hook(
        lambda module, inputs, output: captured.update(x=output[0], e=output[2])
    )
    with torch.no_grad():
        plain = mask_model(**batch).emotion_logits
        slot = slot_model(**batch).emotion_logits
    hook.remove()
    index = batch["utterance_conversation"] * captured["x"].shape[1] + batch["utterance_index"] - 1
    x = captured["x"].reshape(-1, captured["x"].shape[-1])[index]
    e = captured["e"].reshape(-1, captured["e"].shape[-1])[index]
    head = mask_model.emotion_head
    torch.testing.assert_close(plain, head(e))
    torch.testing.assert_close(slot, head(e + x))
    assert not torch.allclose(plain, slot)


def test_compile_context_keeps_parameter_names(build, tmp_path):
    """Compiling in place must not rename weights (checkpoints stay loadable either way)."""
    model, _ = build()
    names = list(model.state_dict())
    model.compile_context()
    assert list(model.state_dict()) == names
    model.save_pretrained(tmp_path)
    assert list(UniMEECModel.from_pretrained(tmp_path).state_dict()) == names
