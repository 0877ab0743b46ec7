"""The model card written into every saved model directory.

Why: a checkpoint without its data, splits, seed and scores cannot be trusted or
reproduced (the complaint about peer projects). The card is plain Markdown with a YAML
header, readable on any file browser and by the Hugging Face Hub.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import yaml

from unimeec.evaluation.report import TABLE_ORDER
from unimeec.training.config import TrainConfig

#: The model card's file name in a model directory (what the Hugging Face Hub shows).
MODEL_CARD_FILE = "README.md"

#: Metrics shown in the card's table (when present): the evaluation report's order, without
#: the MECPE-Cat micro and span metrics (the card stays one short table).
CARD_METRICS: tuple[str, ...] = tuple(
    m for m in TABLE_ORDER if not m.startswith(("semeval_", "mecpe_cat_micro"))
)


def metrics_table(columns: Mapping[str, Mapping[str, float]]) -> str:
    """A Markdown table, one row per metric, one column per split; values in percent."""
    names = [m for m in CARD_METRICS if any(m in values for values in columns.values())]
    if not names:
        return "(no metrics)"
    header = "| metric | " + " | ".join(columns) + " |"
    rule = "| --- | " + " | ".join("---:" for _ in columns) + " |"
    rows = []
    for name in names:
        cells = [
            f"{100 * values[name]:.2f}" if name in values else "" for values in columns.values()
        ]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join([header, rule, *rows])


def render_model_card(
    config: TrainConfig,
    *,
    split_sizes: Mapping[str, int],
    metrics: Mapping[str, Mapping[str, float]],
    command: Sequence[str] | None,
    threshold: float | None,
    neutral_bias: float | None = None,
    version: str,
    backbone: str,
    monitor: str,
) -> str:
    """The README.md of a saved model directory."""
    data = config.data
    header = {
        "library_name": "unimeec",
        "tags": ["emotion-recognition", "emotion-cause-pair-extraction", "unimeec"],
        "datasets": [data.dataset],
        "unimeec_version": version,
    }
    split_lines = "\n".join(f"- {role}: {n} conversations" for role, n in split_sizes.items())
    features = ", ".join(f"{m} from `{p}`" for m, p in data.features.items()) or "none (text only)"
    command_text = " ".join(command) if command else "(Python API)"
    tau = f"{threshold:g}" if threshold is not None else "not used"
    given = config.model.get("neutral_bias", 0.0)
    bias = f"{neutral_bias:g} (tuned on dev)" if neutral_bias is not None else f"{given:g}"
    return f"""---
{yaml.safe_dump(header, sort_keys=False).strip()}
---

# UniMEEC model: {data.dataset}, task `{config.resolved_task}`

Trained with unimeec {version}. Load it with
`unimeec.predict.Predictor.from_pretrained("<this directory>")` or
`unimeec predict --checkpoint <this directory> INPUT`.

## Data
- dataset: `{data.dataset}`; training splits: {", ".join(data.train_splits)}; model selection
  and threshold tuning on: {data.dev_split or "nothing (last epoch kept)"};
  test split: {data.test_split or "none"}
- conversations per split limited to: {data.limit if data.limit is not None else "no limit"}
{split_lines}
- audio/visual features: {features}

## Training
- seed: {config.seed}
- backbone: `{backbone}`
- epochs: at most {config.trainer.max_epochs}; best epoch and early stopping (patience
  {config.trainer.early_stopping_patience}) on dev `{monitor}`
- cause threshold tau: {tau}
- neutral bias (added to the neutral logit before the argmax): {bias}
- command: `{command_text}`

## Scores (percent; MERC = emotion recognition, MECPE = emotion-cause pairs)
{metrics_table(metrics)}
"""
