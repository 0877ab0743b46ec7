"""A cause threshold for runs without a dev split, tuned by cross-fitting.

Why: a final model trained on every labelled conversation (the SemEval-2024 subtask 2
recipe) has no dev split to tune the cause threshold tau on, and the untuned 0.5 is far off:
dev-tuned thresholds of our ECF runs lie between 0.2 and 0.45, and at 0.5 recall collapses.
With ``decoding.crossfit_fraction: f`` a first run of the *same* configuration trains on the
training conversations minus a held-out fraction ``f`` and tunes tau on that held-out part
(dev rules: grid search on pair F1); the final run then trains on all conversations and
decodes at that tau. It costs one extra training run of ``1 - f`` the size.

The held-out part is fixed by the conversation ids (a hash, the same on every machine and
in every run), so it is documented and reproducible: see :mod:`unimeec.data.holdout`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from unimeec.data.holdout import holdout_split
from unimeec.data.schema import Conversation
from unimeec.errors import ConfigError
from unimeec.training.config import TrainConfig
from unimeec.training.datamodule import UniMEECDataModule

log = logging.getLogger(__name__)

#: Suffix of the run name of the cross-fitting run.
CROSSFIT_SUFFIX = "-crossfit"


def needs_crossfit(
    config: TrainConfig, conversations: Mapping[str, list[Conversation]] | None = None
) -> bool:
    """Cross-fitting applies to cause-decoding runs without a dev split."""
    given_dev = bool(conversations and conversations.get(config.data.dev_split or "", []))
    return (
        config.decoding.crossfit_fraction is not None
        and config.resolved_task != "emotion"
        and not config.data.dev_split
        and not given_dev
    )


def with_crossfit_threshold(
    config: TrainConfig,
    train: Callable[..., Any],
    *,
    output_dir: str | Path | None = None,
    conversations: Mapping[str, list[Conversation]] | None = None,
) -> TrainConfig:
    """``config`` with ``model.cause_threshold`` tuned on a held-out part of its training data.

    ``train`` is :func:`unimeec.training.run.train` (passed in, so this module does not
    import the runner that calls it).
    """
    fraction = config.decoding.crossfit_fraction
    assert fraction is not None
    reader = UniMEECDataModule(
        config.data, seed=config.seed, conversations=conversations, roles=("train",)
    )
    fit, held = holdout_split(reader.split("train"), fraction)
    log.info(
        "cross-fitting the cause threshold: training on %d conversations, tuning on %d "
        "held out (decoding.crossfit_fraction=%g)",
        len(fit),
        len(held),
        fraction,
    )
    name = (config.run_name or f"{config.data.dataset}-{config.resolved_task}") + CROSSFIT_SUFFIX
    sub = config.model_copy(deep=True)
    sub.run_name = name
    sub.data = sub.data.model_copy(
        update={"train_splits": ["train"], "dev_split": "dev", "test_split": None, "limit": None}
    )
    sub.decoding = sub.decoding.model_copy(
        update={"tune_threshold": True, "crossfit_fraction": None}
    )
    sub.predict = sub.predict.model_copy(update={"input": None})
    result = train(sub, output_dir=output_dir, conversations={"train": fit, "dev": held})
    if result.threshold is None:
        raise ConfigError(
            "cross-fitting tuned no threshold (the held-out conversations have no cause labels?)"
        )
    log.info(
        "cause threshold from cross-fitting: tau=%g (run %s)", result.threshold, result.run_dir
    )
    final = config.model_copy(deep=True)
    final.model = {**final.model, "cause_threshold": result.threshold}
    if result.neutral_bias is not None:  # decoding.tune_neutral_bias: carried over the same way
        final.model["neutral_bias"] = result.neutral_bias
    return final
