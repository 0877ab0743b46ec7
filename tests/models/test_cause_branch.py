"""``cause_layers``: token-level layers of the cause side on top of the shared encoder."""

from __future__ import annotations

import torch

from tests.models.conftest import make_conversation
from unimeec.models import UniMEECModel, UniMEECProcessor


def _flat(padded: torch.Tensor, batch: dict) -> torch.Tensor:
    """[C, N, H] THC layout -> [U, H] in the batch's utterance order."""
    index = batch["utterance_conversation"] * padded.shape[1] + batch["utterance_index"] - 1
    return padded.reshape(-1, padded.shape[-1])[index]


def test_the_branch_starts_as_the_identity_and_feeds_the_cause_head_its_own_states(build):
    convs = [make_conversation("b", 6), make_conversation("c", 4)]
    model, processor = build(cause_layers=2, span_head=True)
    assert len(model.cause_branch.layers) == 2
    assert all(
        layer.attention_output.weight.abs().max() == 0
        and layer.feed_forward_output.weight.abs().max() == 0
        for layer in model.cause_branch.layers
    )
    batch = processor(convs)
    captured: dict[str, torch.Tensor] = {}
    hook = model.context.register_forward_hook(
        lambda module, inputs, output: captured.update(x=inputs[0], c=output[1])
    )
    with torch.no_grad():
        with_branch = model(**batch)
        model.cause_branch = None
        shared = model(**batch)
    hook.remove()
    # the identity at the start: emotions and spans exactly as without the branch
    assert torch.equal(with_branch.emotion_logits, shared.emotion_logits)
    assert torch.equal(with_branch.span_start_logits, shared.span_start_logits)
    # the cause head reads c'_i and the cause side's own X slot of u_j (before THC)
    i, j = batch["candidate_utterances"].unbind(-1)
    offsets = batch["candidate_pairs"][:, 1] - batch["candidate_pairs"][:, 2]
    x_before_thc, c_after = _flat(captured["x"], batch), _flat(captured["c"], batch)
    torch.testing.assert_close(
        with_branch.cause_logits, model.cause_head(c_after[i], x_before_thc[j], offsets)
    )
    assert not torch.allclose(with_branch.cause_logits, shared.cause_logits)


def test_without_thc_only_the_cause_loss_trains_the_branch(build):
    """With THC, its emotion level reads ``c'_i`` (emotions read their causes) and so also
    reaches the branch; without it, nothing on the emotion side reads the branch."""
    model, processor = build(cause_layers=1, use_thc=False)
    model.train()
    batch = processor([make_conversation("g", 6)])
    layer = model.cause_branch.layers[0]

    out = model(**batch)
    out.emotion_loss.backward(retain_graph=True)
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.cause_branch.parameters())
    out.cause_loss.backward()
    # zero-initialised outputs still get gradients, so the branch can leave the identity
    assert layer.attention_output.weight.grad.abs().sum() > 0
    assert layer.feed_forward_output.weight.grad.abs().sum() > 0


def test_an_emotion_only_model_builds_no_branch(build):
    model, _ = build(cause_layers=2, tasks="emotion")
    assert model.cause_branch is None
    assert not any(name.startswith("cause_branch.") for name in model.state_dict())


def test_a_saved_branch_loads_back_with_identical_outputs(build, tmp_path):
    model, processor = build(cause_layers=1)
    with torch.no_grad():  # leave the identity, so the loaded weights matter
        for p in model.cause_branch.parameters():
            p.add_(0.05 * torch.randn_like(p))
    batch = processor([make_conversation("s", 5)])
    with torch.no_grad():
        before = model(**batch)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    loaded = UniMEECModel.from_pretrained(tmp_path).eval()
    assert loaded.config.cause_layers == 1 and len(loaded.cause_branch.layers) == 1
    with torch.no_grad():
        after = loaded(**UniMEECProcessor.from_pretrained(tmp_path)([make_conversation("s", 5)]))
    assert torch.equal(before.cause_logits, after.cause_logits)
    assert torch.equal(before.emotion_logits, after.emotion_logits)
