"""Each benchmark script runs end to end in its ``--smoke`` form and writes valid rows."""

from __future__ import annotations

import json
import math
import re

import pytest

REQUIRED = {"name", "dataset", "split", "metrics", "seeds", "command", "machine", "date"}


def _rows(path) -> list[dict]:
    rows = json.loads(path.read_text())
    assert isinstance(rows, list) and rows
    for row in rows:
        assert REQUIRED <= set(row), row["name"]
        assert all(math.isfinite(v) for v in row["metrics"].values())
    return rows


def test_result_record_and_seed_aggregation(bench_dir):
    import bench_common as bc

    mean, std = bc.aggregate_seeds([{"mecpe_pair_f1": 0.5, "x": 1.0}, {"mecpe_pair_f1": 0.7}])
    assert mean == {"mecpe_pair_f1": pytest.approx(0.6)}
    assert std == {"mecpe_pair_f1": pytest.approx(math.sqrt(0.02))}
    row = bc.result_record("baseline-x", "ecf1", "test", {"a": 1}, [0], "cmd", "m", note="n")
    assert set(row) == REQUIRED | {"note"} and row["metrics"] == {"a": 1.0}
    with pytest.raises(ValueError, match="metric a is not finite"):
        bc.result_record("x", "ecf1", "test", {"a": float("nan")}, [0], "cmd", "m")


def test_quality_smoke_writes_unimeec_and_baseline_rows(
    bench_dir, tiny_backbone, shared_data, tmp_path
):
    import quality

    out = tmp_path / "quality.json"
    assert (
        quality.main(
            [
                "--smoke",
                "--datasets",
                "ecf1",
                "--backbone",
                tiny_backbone,
                "--data-dir",
                str(shared_data),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = _rows(out)
    names = [r["name"] for r in rows]
    assert names == [
        "unimeec",
        "unimeec-gold-emotions",
        "baseline-context-classifier",
        "baseline-rule-on-classifier-emotions",
        "baseline-rule-gold-emotions",
    ] or sorted(names) == sorted(
        [
            "unimeec",
            "unimeec-gold-emotions",
            "baseline-context-classifier",
            "baseline-rule-on-classifier-emotions",
            "baseline-rule-gold-emotions",
        ]
    )
    by_name = {r["name"]: r for r in rows}
    # 4 conversations of ECF 1.0 test: the rule on gold emotions, hand-checkable via evaluate
    from unimeec.baselines import apply_cause_rule
    from unimeec.data import load_dataset
    from unimeec.evaluation import evaluate

    gold = load_dataset("ecf1", "test", data_dir=shared_data)[:4]
    expected = evaluate(gold, apply_cause_rule(gold))["mecpe_pair_f1"]
    assert by_name["baseline-rule-gold-emotions"]["metrics"]["mecpe_pair_f1"] == expected
    assert by_name["unimeec"]["seeds"] == [0] and by_name["unimeec"]["split"] == "test"
    assert 0.0 <= by_name["unimeec"]["metrics"]["merc_weighted_f1"] <= 1.0
    assert "quality.py --smoke" in by_name["unimeec"]["command"]


def test_ablations_smoke_names_each_variant(bench_dir, tiny_backbone, shared_data, tmp_path):
    import ablations

    out = tmp_path / "ablations.json"
    assert (
        ablations.main(
            [
                "--smoke",
                "--variants",
                "no-thc",
                "emotion-only",
                "--backbone",
                tiny_backbone,
                "--data-dir",
                str(shared_data),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = _rows(out)
    assert [r["name"] for r in rows] == ["unimeec-no-thc", "unimeec-emotion-only"]
    assert "model.use_thc=false" in rows[0]["training"][0]["overrides"]
    assert (
        "mecpe_pair_f1" not in rows[1]["all_metrics"]
        or rows[1]["all_metrics"]["mecpe_pair_f1"] == 0.0
    )


def test_speed_smoke_measures_both_scopes_and_plots(
    bench_dir, tiny_backbone, shared_data, tmp_path
):
    import speed

    out = tmp_path / "speed.json"
    assert (
        speed.main(
            [
                "--smoke",
                "--in-process",
                "--backbone",
                tiny_backbone,
                "--data-dir",
                str(shared_data),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = _rows(out)
    by_name = {r["name"]: r for r in rows}
    per_step = {}
    for scope in ("conversation", "utterance"):
        training = by_name[f"unimeec-{scope}-scope-training"]["metrics"]
        assert training["peak_rss_mib"] > 50
        assert training["overhead_ratio"] == pytest.approx(
            training["unimeec_fwd_bwd_ms"] / training["bare_backbone_fwd_bwd_ms"]
        )
        per_step[scope] = training["train_utterances_per_s"] * training["train_step_ms"] / 1000
        prediction = by_name[f"unimeec-{scope}-scope-prediction"]["metrics"]
        assert prediction["latency_p95_ms"] >= prediction["latency_p50_ms"] > 0
    # throughput x step time = utterances per step: both scopes train on the same batches
    assert per_step["conversation"] == pytest.approx(per_step["utterance"])
    curves = by_name["unimeec-cost-vs-length"]["curves"]
    assert [r["utterances"] for r in curves["utterance"]] == [2, 6]
    # utterance scope reads one prompt per target: more tokens for more utterances
    assert curves["utterance"][1]["tokens"] > curves["utterance"][0]["tokens"]
    assert (tmp_path / "speed.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gpu_step_limits_share_the_budget(bench_dir):
    import gpu

    assert gpu.step_limit(400.0, 0.35, 450.0) == pytest.approx(157.5)
    assert gpu.step_limit(100.0, 0.35, 450.0) == 100.0
    assert gpu.step_limit(300.0, 1.0, 450.0) == 300.0
    assert gpu.step_limit(19.0, 0.35, 450.0) is None


def test_gpu_driver_records_environment_and_each_step(bench_dir, tmp_path, monkeypatch):
    """Steps run as processes from the repository root; each one's exit and time is recorded."""
    import gpu

    # bench_common.py run as a script only imports the standard library: a fast real step
    monkeypatch.setattr(
        gpu,
        "steps",
        lambda args: [
            ("first", ["bench_common.py"], 0.5),
            ("second", ["bench_common.py", "x"], 1.0),
        ],
    )
    out = tmp_path / "out"
    assert gpu.main(["--out", str(out), "--budget-s", "100"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    import torch

    assert summary["environment"]["cuda"] is torch.cuda.is_available()
    assert ("gpu" in summary["environment"]) is torch.cuda.is_available()
    assert "torch" in summary["environment"]
    first, second = summary["steps"]
    assert (first["name"], first["exit"], first["limit_s"]) == ("first", 0, 50.0)
    assert second["name"] == "second" and second["exit"] == 0
    assert second["command"].endswith("bench_common.py x")
    assert first["seconds"] < 50


def test_gpu_steps_speed_then_sweep_on_the_carry(bench_dir):
    import gpu

    args = gpu.build_parser().parse_args(
        ["--out", "/o", "--carry", "C", "--budget-s", "500", "--speed-reserve-s", "100"]
    )
    steps = {name: (argv, share) for name, argv, share in gpu.steps(args)}
    assert list(steps) == ["speed", "sweep"]
    sweep, share = steps["sweep"]
    assert share == 1.0
    # the sweep stops starting jobs early enough to stop, merge and archive within its share
    assert float(sweep[sweep.index("--budget-s") + 1]) == 400 - gpu.SWEEP_GRACE_S
    assert sweep[sweep.index("--carry") + 1] == "C" and sweep[sweep.index("--seeds") + 1 :][:3] == [
        "0",
        "1",
        "2",
    ]
    assert "--base" not in sweep and "--no-baselines" not in sweep
    speed, share = steps["speed"]
    assert share == pytest.approx(0.2)
    assert speed[speed.index("--backbone") + 1] == "C/minilm"
    assert speed[speed.index("--data-dir") + 1] == "C/data"
    for argv, _ in steps.values():
        assert argv[argv.index("--precision") + 1] == "bf16"
    second = gpu.build_parser().parse_args(
        [
            "--out",
            "/o",
            "--tuning",
            "default",
            "epochs-8",
            "--base",
            "optim.lr_head=3e-4",
            "--ablations",
            "--no-baselines",
        ]
    )
    sweep = {name: argv for name, argv, _ in gpu.steps(second)}["sweep"]
    assert sweep[sweep.index("--tuning") + 1 : sweep.index("--tuning") + 3] == [
        "default",
        "epochs-8",
    ]
    assert sweep[sweep.index("--base") + 1] == "optim.lr_head=3e-4"
    assert sweep[sweep.index("--ablations") + 1] == "--no-baselines"  # none


def test_gpu_carry_shim_points_the_minilm_package_at_the_carried_export(bench_dir, tmp_path):
    import importlib.util

    from make_gpu_carry import write_minilm_shim

    path = write_minilm_shim(tmp_path)
    spec = importlib.util.spec_from_file_location("shim_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.get_model_path() == (tmp_path / "minilm").resolve()


def test_published_results_are_valid_rows_and_the_readme_table_is_generated_from_them(bench_dir):
    import table

    rows = table.load_rows(bench_dir / "results")
    assert rows, "benchmarks/results/ holds no result rows"
    for row in rows:
        assert REQUIRED <= set(row), row["name"]
        # one command, or a loop over seeds of one: `for s in 42 0 1; do unimeec ...; done`
        command = re.sub(r"^for s in [\d ]+; do (.*\$s); done$", r"\1", row["command"])
        assert command.startswith(("python benchmarks/", "BUDGET_S=", "unimeec ")), command
        assert all(math.isfinite(v) for v in row["metrics"].values()), row["name"]
        fractions = [v for k, v in row["metrics"].items() if k.startswith(("merc_", "mecpe_"))]
        assert all(0.0 <= v <= 1.0 for v in fractions), row["name"]
    assert any("baseline" in r["name"] for r in rows)
    readme = (bench_dir / "README.md").read_text(encoding="utf-8")
    section = readme.split(table.START, 1)[1].split(table.END, 1)[0]
    assert section.strip() == table.render(rows).strip()
    # the front README's results table too: every cell from the row its spec names
    import headline

    front = (bench_dir.parent / "README.md").read_text(encoding="utf-8")
    generated = front.split(headline.START, 1)[1].split(headline.END, 1)[0]
    assert generated.strip() == headline.render_headline(rows).strip()
    assert generated.count("\n| ") == len(headline.LINES) + 1  # one line per spec, after the header


def test_headline_cells_name_missing_rows_and_bold_the_better(bench_dir):
    import headline

    rows = [
        {"_file": "f.json", "name": "a", "dataset": "ecf1", "metrics": {"x": 0.5}, "seeds": [0]},
        {"_file": "f.json", "name": "b", "dataset": "ecf1", "metrics": {"x": 0.25}, "seeds": [0]},
    ]
    ours, base = (
        headline.Cell("f.json", ("a",), "ecf1", ("x",)),
        headline.Cell("f.json", ("b",), "ecf1", ("x",), "rule: "),
    )
    assert headline._cell(rows, ours, base) == "**50.0**"
    assert headline._cell(rows, base, ours) == "rule: 25.0"
    assert headline._cell(rows, ours) == "50.0"  # nothing to compare with: no bold
    with pytest.raises(SystemExit, match=r"no row 'c' \(ecf1\) in results/f.json"):
        headline._cell(rows, headline.Cell("f.json", ("c",), "ecf1", ("x",)))
