"""Soft tokens and modality fusion (models/multimodal.py), computed by hand."""

from __future__ import annotations

import torch

from unimeec.models.multimodal import ModalityFusion, ModalitySoftPrompt


def test_soft_tokens_standardise_project_and_mark_missing() -> None:
    torch.manual_seed(0)
    prompt = ModalitySoftPrompt(feature_dim=3, hidden_size=4, n_tokens=2)
    with torch.no_grad():
        prompt.prompt.normal_()
        prompt.missing.normal_()
    prompt.set_statistics(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 0.0, 4.0]))
    # a constant dimension (std 0) is clamped: no division by zero
    torch.testing.assert_close(prompt.feature_std, torch.tensor([2.0, 1e-6, 4.0]))
    features = torch.tensor([[3.0, 2.0, 7.0], [0.0, 0.0, 0.0]])
    present = torch.tensor([True, False])
    with torch.no_grad():
        out = prompt(features, present)
        scaled = torch.tensor([1.0, 0.0, 1.0])  # (f - mean) / std of the first utterance
        content = prompt.norm(prompt.projection(scaled))
    assert out.shape == (2, 2, 4)
    torch.testing.assert_close(out[0], prompt.prompt + content)
    # the absent utterance gets the learned "missing" vector, not the zeros' projection
    torch.testing.assert_close(out[1], (prompt.prompt + prompt.missing).detach())


def test_fusion_is_identity_for_text_alone_and_projects_the_concatenation() -> None:
    states = torch.randn(1, 3, 4)
    text_only = ModalityFusion(1, 4)
    assert list(text_only.parameters()) == []
    assert torch.equal(text_only(states, torch.ones(1, 3, dtype=torch.bool)), states[0])

    torch.manual_seed(0)
    fusion = ModalityFusion(2, 4)
    with torch.no_grad():
        fusion.missing.normal_()
    states = torch.randn(2, 3, 4)
    present = torch.tensor([[True, True, True], [True, False, True]])
    with torch.no_grad():
        out = fusion(states, present)
        for u in range(3):
            audio = states[1, u] if present[1, u] else fusion.missing[1]
            torch.testing.assert_close(out[u], fusion.projection(torch.cat([states[0, u], audio])))
