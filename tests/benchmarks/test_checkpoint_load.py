"""benchmarks/checkpoint_load.py: one result row whose verification is part of the load."""

from __future__ import annotations

import json


def test_checkpoint_load_smoke_writes_one_row(bench_dir, tmp_path) -> None:
    import checkpoint_load

    out = tmp_path / "checkpoint-load.json"
    assert checkpoint_load.main(["--smoke", "--out", str(out)]) == 0
    [row] = json.loads(out.read_text())
    assert row["name"] == "unimeec-checkpoint-load" and row["settings"]["repeats"] == 2
    metrics = row["metrics"]
    assert set(metrics) == {"directory_mib", "verify_s", "load_s", "verify_share_of_load"}
    # the tiny model's directory: random 2-layer BERT weights plus the MiniLM tokenizer files
    assert 1 < metrics["directory_mib"] < 20
    assert metrics["verify_share_of_load"] == metrics["verify_s"] / metrics["load_s"]
    assert metrics["verify_s"] < metrics["load_s"]  # loading includes the verification
