"""THC (models/context.py): the attention formula by hand, windows, padding and speakers."""

from __future__ import annotations

import math

import pytest
import torch

from unimeec.models.context import HierarchicalContext, RelationalAttentionLayer


def test_attention_layer_is_the_documented_formula() -> None:
    """score(i, j) = q_i . k_j / sqrt(d) + s_type(ij)(i), masked softmax, residual + LayerNorm."""
    torch.manual_seed(0)
    hidden, heads, d = 4, 2, 2
    layer = RelationalAttentionLayer(hidden, heads, dropout=0.0).eval()
    query, keys = torch.randn(1, 3, hidden), torch.randn(1, 5, hidden)  # 5 keys: padded to 8
    mask = torch.tensor([[[1, 1, 0, 0, 1], [0, 1, 1, 0, 0], [1, 1, 1, 1, 1]]], dtype=torch.bool)
    other = torch.tensor([[[0, 1, 1, 0, 0], [1, 0, 0, 1, 1], [0, 0, 1, 1, 0]]], dtype=torch.bool)
    with torch.no_grad():
        got = layer(query, keys, mask, other)[0]
        projected = layer.query(query[0])  # [3, hidden + 2 * heads]
        q = projected[:, :hidden].view(3, heads, d)
        relation = projected[:, hidden:].view(3, heads, 2)  # per head: (same, other)
        key_value = layer.key_value(keys[0]).view(5, 2, heads, d)
        k, v = key_value[:, 0], key_value[:, 1]  # [5, heads, d]
        expected = torch.empty(3, hidden)
        for i in range(3):
            for h in range(heads):
                scores = torch.tensor(
                    [
                        float(q[i, h] @ k[j, h]) / math.sqrt(d)
                        + float(relation[i, h, int(other[0, i, j])])
                        if mask[0, i, j]
                        else -math.inf
                        for j in range(5)
                    ]
                )
                weights = torch.softmax(scores, dim=0)
                expected[i, h * d : (h + 1) * d] = weights @ v[:, h]
        expected = layer.attention_norm(query[0] + layer.output(expected))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_hidden_size_must_split_into_the_heads() -> None:
    with pytest.raises(ValueError, match="hidden size 10 is not divisible by 4 heads"):
        RelationalAttentionLayer(10, 4, dropout=0.0)


def _context(**windows: int) -> HierarchicalContext:
    torch.manual_seed(0)
    settings = {
        "utterance_window": 1,
        "cause_past": 2,
        "cause_future": 0,
        "cause_window": 1,
        "emotion_window": 1,
        **windows,
    }
    return HierarchicalContext(8, 2, layers=1, dropout=0.0, **settings).eval()


def _reads(output: torch.Tensor, source: torch.Tensor, i: int) -> set[int]:
    """The utterances j of ``source`` that node i of ``output`` depends on (by autograd).

    A random direction, not the plain sum: a LayerNorm output always sums to its bias.
    """
    direction = torch.randn(output.shape[-1], generator=torch.Generator().manual_seed(0))
    (grad,) = torch.autograd.grad(
        output[0, i] @ direction, source, retain_graph=True, allow_unused=True
    )
    if grad is None:  # not in the graph at all
        return set()
    return {j for j in range(source.shape[1]) if grad[0, j].abs().sum() > 0}


def test_each_level_reads_exactly_its_window() -> None:
    """w_x = 1, cause window [i-2, i] over x' and |i-j| <= 1 over c, w_e = 1 (one layer each)."""
    n = 7
    x, c, e = (torch.randn(1, n, 8, requires_grad=True) for _ in range(3))
    valid, speakers = torch.ones(1, n, dtype=torch.bool), torch.tensor([[0, 1, 0, 1, 0, 1, 0]])
    x2, c2, e2 = _context()(x, c, e, valid, speakers)
    i = 3
    assert _reads(x2, x, i) == {2, 3, 4}
    assert _reads(x2, c, i) == set() and _reads(x2, e, i) == set()
    assert _reads(c2, c, i) == {2, 3, 4}
    assert _reads(c2, x, i) == {0, 1, 2, 3, 4}  # x'_1..x'_3, each reading one further
    assert _reads(c2, e, i) == set()
    assert _reads(e2, e, i) == {2, 3, 4}
    assert _reads(e2, c, i) == {2, 3, 4}  # through its own c'_3 only


def test_padding_and_batch_neighbours_change_nothing() -> None:
    context = _context()
    torch.manual_seed(1)
    x, c, e = (torch.randn(2, 5, 8) for _ in range(3))
    valid = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    speakers = torch.tensor([[0, 1, 0, 1, 1], [1, 1, 0, 0, 0]])
    with torch.no_grad():
        batched = context(x, c, e, valid, speakers)
        alone = context(x[1:, :3], c[1:, :3], e[1:, :3], valid[1:, :3], speakers[1:, :3])
    for together, single in zip(batched, alone):
        torch.testing.assert_close(together[1, :3], single[0], rtol=1e-5, atol=1e-5)


def test_only_same_or_other_speaker_matters() -> None:
    context = _context()
    torch.manual_seed(2)
    x, c, e = (torch.randn(1, 4, 8) for _ in range(3))
    valid = torch.ones(1, 4, dtype=torch.bool)
    with torch.no_grad():
        base = context(x, c, e, valid, torch.tensor([[0, 1, 0, 1]]))
        renamed = context(x, c, e, valid, torch.tensor([[5, 2, 5, 2]]))  # same turn-taking
        one_speaker = context(x, c, e, valid, torch.tensor([[0, 0, 0, 0]]))
    for a, b in zip(base, renamed):
        torch.testing.assert_close(a, b)
    assert not torch.allclose(base[0], one_speaker[0])
