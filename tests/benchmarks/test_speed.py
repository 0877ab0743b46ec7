"""speed.py's overhead rows per batch size and its eager-vs-compiled comparison (tiny model)."""

from __future__ import annotations

import argparse
import copy
import json
import math

import pytest


def _run_speed(tmp_path, tiny_backbone, shared_data, *extra: str) -> dict[str, dict]:
    import speed

    out = tmp_path / "speed.json"
    assert (
        speed.main(
            [
                "--smoke",
                "--in-process",
                "--scopes",
                "conversation",
                "--backbone",
                tiny_backbone,
                "--data-dir",
                str(shared_data),
                "--out",
                str(out),
                *extra,
            ]
        )
        == 0
    )
    rows = json.loads(out.read_text())
    for row in rows:
        assert all(math.isfinite(v) for v in row["metrics"].values()), row["name"]
    return {r["name"]: r for r in rows}


def test_overhead_batches_give_one_row_per_size_on_the_same_tokens(
    bench_dir, tiny_backbone, shared_data, tmp_path
):
    import speed

    from unimeec.data import load_dataset
    from unimeec.models import UniMEECProcessor

    rows = _run_speed(tmp_path, tiny_backbone, shared_data, "--overhead-batches", "2", "3")
    prefix = "unimeec-conversation-scope-"
    assert [n for n in rows if "overhead" in n] == [prefix + "overhead-b2", prefix + "overhead-b3"]
    # the overhead lives in its own rows then, not twice in the training row
    assert "overhead_ratio" not in rows[prefix + "training"]["metrics"]
    assert rows[prefix + "training"]["settings"]["compile"] is False
    b3 = rows[prefix + "overhead-b3"]
    assert b3["settings"]["overhead_batch_conversations"] == 3
    assert b3["metrics"]["overhead_ratio"] == pytest.approx(
        b3["metrics"]["unimeec_fwd_bwd_ms"] / b3["metrics"]["bare_backbone_fwd_bwd_ms"]
    )
    assert not any(k.startswith(("compile", "graphs")) for k in b3["metrics"])
    # smoke: 2 timed steps after 1 warm-up, consecutive training conversations
    train = load_dataset("ecf1", "train", data_dir=shared_data)
    processor = UniMEECProcessor.from_config(
        speed.build_model(
            argparse.Namespace(backbone=tiny_backbone, device="cpu"),
            "conversation",
            train[0].labels,
        )[0].config
    )
    tokens = [int(processor(train[3 * k : 3 * k + 3])["attention_mask"].sum()) for k in (1, 2)]
    assert b3["metrics"]["tokens_per_step"] == sum(tokens) / 2


@pytest.mark.slow
def test_compile_both_times_eager_and_compiled_on_the_same_batches(
    bench_dir, tiny_backbone, shared_data, tmp_path
):
    """One CPU compilation of THC and the heads (about a minute with a cold inductor cache)."""
    rows = _run_speed(
        tmp_path, tiny_backbone, shared_data, "--compile", "both", "--overhead-batches", "2", "3"
    )
    prefix = "unimeec-conversation-scope-"
    compiled = rows[prefix + "training-compiled"]
    assert compiled["settings"]["compile"] is True
    eager_training = rows[prefix + "training"]["metrics"]
    # compiling THC and the heads takes far longer than one eager step of the tiny model
    assert 1000 * compiled["metrics"]["compile_warmup_s"] > 10 * eager_training["train_step_ms"]
    # throughput x step time = utterances per step: the same batches for both models
    assert compiled["metrics"]["train_utterances_per_s"] * compiled["metrics"][
        "train_step_ms"
    ] == pytest.approx(eager_training["train_utterances_per_s"] * eager_training["train_step_ms"])
    assert "compile_warmup_s" not in rows[prefix + "training"]["metrics"]
    for size in (2, 3):
        eager, fast = rows[f"{prefix}overhead-b{size}"], rows[f"{prefix}overhead-b{size}-compiled"]
        assert (eager["settings"]["compile"], fast["settings"]["compile"]) == (False, True)
        for row in (eager, fast):
            assert row["metrics"]["overhead_ratio"] == pytest.approx(
                row["metrics"]["unimeec_fwd_bwd_ms"] / row["metrics"]["bare_backbone_fwd_bwd_ms"]
            )
        # one shared bare-backbone timing: both ratios have the same denominator
        assert (
            eager["metrics"]["bare_backbone_fwd_bwd_ms"]
            == fast["metrics"]["bare_backbone_fwd_bwd_ms"]
        )
        assert eager["metrics"]["tokens_per_step"] == fast["metrics"]["tokens_per_step"]
        # dynamic shapes: the new batch size compiled in the warm-up, nothing while timed
        assert fast["metrics"]["graphs_compiled_while_timed"] == 0
    # prediction stays eager
    assert rows[prefix + "prediction"]["settings"]["compile"] is False
    # --compile on without --overhead-batches: the overhead goes in the training row, as eager
    only = _run_speed(tmp_path, tiny_backbone, shared_data, "--compile", "on")
    assert [n for n in only if n.startswith(prefix + "training")] == [prefix + "training-compiled"]
    metrics = only[prefix + "training-compiled"]["metrics"]
    assert metrics["overhead_ratio"] == pytest.approx(
        metrics["unimeec_fwd_bwd_ms"] / metrics["bare_backbone_fwd_bwd_ms"]
    )
    assert metrics["graphs_compiled_while_timed"] == 0


@pytest.mark.slow
def test_compiled_context_gives_the_eager_loss(bench_dir, tiny_backbone, shared_data):
    """Correctness of ``compile_context`` on a real batch (eval mode: no dropout randomness)."""
    import speed
    import torch

    from unimeec.data import load_dataset

    train = load_dataset("ecf1", "train", data_dir=shared_data)
    model, processor = speed.build_model(
        argparse.Namespace(backbone=tiny_backbone, device="cpu"), "conversation", train[0].labels
    )
    compiled = copy.deepcopy(model)
    compiled.compile_context()
    graphs = speed._compiled_graphs()
    batch = processor(train[:3])
    model.eval()
    compiled.eval()
    with torch.no_grad():
        eager_out, compiled_out = model(**batch), compiled(**batch)
    assert speed._compiled_graphs() > graphs  # the compiled path really ran
    assert compiled_out.loss.item() == pytest.approx(eager_out.loss.item(), rel=1e-5)
    torch.testing.assert_close(
        compiled_out.emotion_logits, eager_out.emotion_logits, rtol=1e-4, atol=1e-5
    )
    torch.testing.assert_close(
        compiled_out.cause_logits, eager_out.cause_logits, rtol=1e-4, atol=1e-5
    )


def test_speed_table_shows_the_compile_column_only_when_a_row_has_it(bench_dir):
    import table

    def row(name: str, **metrics: float) -> dict:
        return {
            "name": name,
            "split": "train",
            "metrics": metrics,
            "machine": "GPU NVIDIA H200",
            "date": "2026-11-26T05:00:00Z",
            "seeds": [0],
            "command": "python x",
        }

    eager = row("unimeec-conversation-scope-overhead-b16", overhead_ratio=1.8)
    compiled = row("unimeec-conversation-scope-training-compiled", compile_warmup_s=31.04)
    assert "compile + warm-up s" not in table.speed_table([eager])
    lines = table.speed_table([eager, compiled]).splitlines()
    head = [c.strip() for c in lines[0].split("|")]
    last = [c.strip() for c in lines[-1].split("|")]
    assert last[head.index("compile + warm-up s")] == "31.0"
    assert [c.strip() for c in lines[2].split("|")][head.index("overhead ratio")] == "1.80"
