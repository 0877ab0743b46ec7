"""The serving benchmarks run end to end in their ``--smoke`` form and write valid rows."""

from __future__ import annotations

import json
import math
from pathlib import Path

REQUIRED = {"name", "dataset", "split", "metrics", "seeds", "command", "machine", "date"}


def _rows(path: Path) -> list[dict]:
    rows = json.loads(path.read_text())
    for row in rows:
        assert REQUIRED <= set(row), row["name"]
        assert all(math.isfinite(v) for v in row["metrics"].values())
    return rows


def test_quantize_smoke(bench_dir: Path, shared_data: Path, tmp_path: Path) -> None:
    import quantize

    out = tmp_path / "q.json"
    assert (
        quantize.main(
            [
                "--smoke",
                "--data-dir",
                str(shared_data),
                "--limit",
                "3",
                "--bootstrap",
                "5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = {r["name"]: r for r in _rows(out)}
    assert set(rows) == {"unimeec-fp32-threads2", "unimeec-int8-threads2"}
    for name in ("unimeec-fp32-threads2", "unimeec-int8-threads2"):
        metrics = rows[name]["metrics"]
        assert 0 < metrics["latency_p50_ms"] <= metrics["latency_p95_ms"]
        assert 0 <= metrics["merc_weighted_f1"] <= 1 and 0 <= metrics["mecpe_pair_f1"] <= 1
        assert rows[name]["repeats"] == 5 and rows[name]["latency_utterances"] == 10
    assert rows["unimeec-int8-threads2"]["model_version"].endswith("+int8")
    comparison = rows["unimeec-int8-threads2"]["int8_vs_fp32"]
    assert comparison["delta_mecpe_pair_f1"] == (
        rows["unimeec-int8-threads2"]["metrics"]["mecpe_pair_f1"]
        - rows["unimeec-fp32-threads2"]["metrics"]["mecpe_pair_f1"]
    )
    assert set(comparison["paired_bootstrap"]["mecpe_pair_f1"]) >= {"difference", "p_value"}
    assert "--compare" in comparison["command"]
    assert "--quantize int8" in " ".join(rows["unimeec-int8-threads2"]["quality_commands"])


def test_load_smoke(bench_dir: Path, shared_data: Path, tmp_path: Path) -> None:
    import load

    out = tmp_path / "load.json"
    assert (
        load.main(
            [
                "--smoke",
                "--data-dir",
                str(shared_data),
                "--modes",
                "int8",
                "--clients",
                "1",
                "4",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = _rows(out)
    assert [r["name"] for r in rows] == ["serve-int8-1-clients", "serve-int8-4-clients"]
    for row in rows:
        metrics = row["metrics"]
        assert metrics["requests"] == 16 and metrics["errors"] == 0
        assert metrics["latency_p50_ms"] <= metrics["latency_p99_ms"]
        assert metrics["peak_rss_mib"] > 100 and metrics["requests_per_s"] > 0
    assert rows[0]["metrics"]["mean_batch_size"] == 1.0
    assert "--quantize int8" in rows[0]["server_command"]
