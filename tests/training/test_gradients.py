"""PCGrad (optim.gradient_projection=pcgrad): the projection, the gradients it leaves behind."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from unimeec.errors import ConfigError
from unimeec.training.config import OptimConfig
from unimeec.training.gradients import pcgrad_backward, project_conflicting
from unimeec.training.module import UniMEECLightningModule


def test_conflicting_gradients_lose_their_opposing_parts() -> None:
    # g1.g2 = -1, |g1|^2 = 1, |g2|^2 = 2:
    # g1' = g1 + g2 / 2 = (0.5, 0.5), g2' = g2 + g1 = (0, 1)
    combined, cosine = project_conflicting(torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0]))
    assert combined.tolist() == pytest.approx([0.5, 1.5])
    assert cosine.item() == pytest.approx(-1 / math.sqrt(2))
    # g1' is orthogonal to g2 and g2' to g1: nothing of one pushes against the other
    assert torch.dot(torch.tensor([0.5, 0.5]), torch.tensor([-1.0, 1.0])).item() == 0


def test_agreeing_or_zero_gradients_are_summed() -> None:
    combined, cosine = project_conflicting(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0]))
    assert combined.tolist() == [2.0, 1.0]
    assert cosine.item() == pytest.approx(1 / math.sqrt(2))
    combined, cosine = project_conflicting(torch.tensor([0.0, 0.0]), torch.tensor([-1.0, 2.0]))
    assert combined.tolist() == [-1.0, 2.0] and cosine.item() == 0.0


class _TwoTasks(nn.Module):
    """A shared weight vector w and one head per task: L1 = h1 . w, L2 = h2 . w + c."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.0, 2.0]))
        self.h1 = nn.Parameter(torch.tensor([1.0, 0.0]))
        self.h2 = nn.Parameter(torch.tensor([-1.0, 1.0]))
        self.c = nn.Parameter(torch.tensor(3.0))
        self.unused = nn.Parameter(torch.tensor(5.0))

    def terms(self) -> list[torch.Tensor]:
        return [torch.dot(self.h1, self.w), torch.dot(self.h2, self.w) + self.c]


def test_pcgrad_backward_projects_shared_weights_only_and_accumulates() -> None:
    model = _TwoTasks()
    model.w.grad = torch.tensor([10.0, 10.0])  # an earlier micro-batch
    cosine = pcgrad_backward(model.terms(), list(model.parameters()))
    # dL1/dw = h1 = (1, 0), dL2/dw = h2 = (-1, 1): the pair above, (0.5, 1.5) after projection
    assert model.w.grad.tolist() == pytest.approx([10.5, 11.5])
    assert cosine is not None and cosine.item() == pytest.approx(-1 / math.sqrt(2))
    # each head is reached by one term: its plain gradient (= w)
    assert model.h1.grad.tolist() == [1.0, 2.0] and model.h2.grad.tolist() == [1.0, 2.0]
    assert model.c.grad.item() == 1.0
    assert model.unused.grad is None


def test_pcgrad_backward_without_conflict_equals_summed_backward() -> None:
    model, reference = _TwoTasks(), _TwoTasks()
    for m in (model, reference):
        with torch.no_grad():
            m.h2.copy_(torch.tensor([2.0, 1.0]))  # h1 . h2 > 0
    pcgrad_backward(model.terms(), list(model.parameters()))
    sum(reference.terms()).backward()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        assert (p.grad is None) == (q.grad is None), name
        if p.grad is not None:
            assert torch.equal(p.grad, q.grad), name


def test_pcgrad_needs_two_terms() -> None:
    model = _TwoTasks()
    with pytest.raises(ValueError, match="two loss terms, got 1"):
        pcgrad_backward(model.terms()[:1], list(model.parameters()))


class _Labelled(nn.Module):
    config = SimpleNamespace(emotion_labels=["neutral", "joy"])


class _TwoTaskModel(_Labelled):
    """``_TwoTasks`` behind the model interface the Lightning module expects."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = _TwoTasks()

    def forward(self, conversations: list) -> SimpleNamespace:
        terms = torch.stack(self.inner.terms())
        return SimpleNamespace(loss=terms.sum(), loss_terms=terms)


@pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`")
def test_module_backward_projects_the_terms_at_lightnings_loss_scale() -> None:
    module = UniMEECLightningModule(_TwoTaskModel(), OptimConfig(gradient_projection="pcgrad"))
    loss = module.training_step({"conversations": [None]}, 0)
    # Lightning passes the loss divided by accumulate_grad_batches (here 2)
    module.backward(loss / 2)
    assert module.model.inner.w.grad.tolist() == pytest.approx([0.25, 0.75])
    assert module.model.inner.c.grad.item() == pytest.approx(0.5)
    # with projection off, the same step is the plain backward of the sum
    plain = UniMEECLightningModule(_TwoTaskModel(), OptimConfig())
    plain.backward(plain.training_step({"conversations": [None]}, 0) / 2)
    assert plain.model.inner.w.grad.tolist() == pytest.approx([0.0, 0.5])


def test_pcgrad_refuses_several_processes() -> None:
    module = UniMEECLightningModule(_Labelled(), OptimConfig(gradient_projection="pcgrad"))
    module._trainer = SimpleNamespace(world_size=2)
    with pytest.raises(ConfigError, match="runs on one device; this run has 2 processes"):
        module.on_fit_start()
    module._trainer = SimpleNamespace(world_size=1)
    module.on_fit_start()
