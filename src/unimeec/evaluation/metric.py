"""``ConversationMetrics``: the offline metrics as a ``torchmetrics.Metric`` for validation.

Each update encodes every (gold, prediction) conversation as its count row (``counts.py``) plus a
stable 64-bit key of its id. Both are concatenated states, so under DDP torchmetrics gathers
them from every process; ``compute`` keeps one row per key (a ``DistributedSampler`` pads the
last batch by repeating conversations, which would otherwise be counted twice), sums them and
applies the same formulas as :func:`unimeec.evaluation.evaluate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from unimeec.data.schema import Conversation
from unimeec.errors import DataFormatError
from unimeec.evaluation.counts import (
    CountLayout,
    align,
    conversation_key,
    count_conversation,
    infer_labels,
)
from unimeec.evaluation.formulas import metrics_from_counts


class ConversationMetrics(Metric):
    """MERC, MECPE, MECPE-Cat and span metrics over conversations, safe under DDP.

    ``labels``: the emotion label set (class order of the confusion matrix). Pass it when
    training with several processes, so every process builds the same count layout; when
    omitted it is taken from the first gold conversations seen.

    >>> metric = ConversationMetrics(labels=ECF_EMOTIONS)  # doctest: +SKIP
    >>> metric.update(model.decode(out, batch), batch["conversations"])  # doctest: +SKIP
    >>> metric.compute()["mecpe_pair_f1"]  # doctest: +SKIP
    """

    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    conversation_keys: list[torch.Tensor]
    count_rows: list[torch.Tensor]

    def __init__(self, labels: Sequence[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._layout: CountLayout | None = CountLayout(tuple(labels)) if labels else None
        self.add_state("conversation_keys", default=[], dist_reduce_fx="cat")
        self.add_state("count_rows", default=[], dist_reduce_fx="cat")

    @property
    def layout(self) -> CountLayout | None:
        return self._layout

    def update(self, preds: Sequence[Conversation], golds: Sequence[Conversation]) -> None:
        """Add a batch: predictions are matched to gold conversations by id."""
        if not golds:
            return
        if self._layout is None:
            self._layout = CountLayout(infer_labels(golds))
        pairs = align(golds, preds)
        rows = np.stack([count_conversation(g, p, self._layout) for g, p in pairs])
        self.conversation_keys.append(
            torch.tensor(
                [conversation_key(g.id) for g, _ in pairs], dtype=torch.int64, device=self.device
            )
        )
        self.count_rows.append(torch.from_numpy(rows).to(self.device))

    def compute(self) -> dict[str, float]:
        """Metrics over every distinct conversation seen (by any process)."""
        # a list of per-batch tensors locally; one concatenated tensor after a DDP sync
        if self._layout is None or (isinstance(self.count_rows, list) and not self.count_rows):
            return {}
        keys = dim_zero_cat(self.conversation_keys).cpu().numpy()
        counts = dim_zero_cat(self.count_rows).cpu().numpy()
        if counts.shape[-1] != self._layout.size:
            raise DataFormatError(
                f"count rows have {counts.shape[-1]} columns but the label set "
                f"{', '.join(self._layout.labels)} needs {self._layout.size}; pass the same "
                "labels= to ConversationMetrics in every process",
                field="labels",
            )
        _, first = np.unique(keys, return_index=True)
        return metrics_from_counts(counts[np.sort(first)].sum(axis=0), self._layout)
