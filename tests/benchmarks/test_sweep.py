"""The parallel sweep: dev-only selection, seed merging, and a small end-to-end smoke run."""

from __future__ import annotations

import json
import math

import pytest


def _tuning_row(variant: str, emotion: float, pair: float, test_pair: float) -> dict:
    return {
        "name": f"unimeec-tune-{variant}",
        "dataset": "ecf1",
        "split": "test",
        "metrics": {"mecpe_pair_f1": test_pair},
        "seeds": [0],
        "command": "c",
        "machine": "m",
        "date": "d",
        "training": [{"dev_metrics": {"merc_weighted_f1": emotion, "mecpe_pair_f1": pair}}],
    }


def test_selection_reads_dev_only(bench_dir, tmp_path):
    import sweep

    # "lr-head-3e-4" has the best test pair F1 but the worse dev mean: it must not win
    for variant, row in {
        "default": _tuning_row("default", 0.50, 0.50, 0.40),
        "lr-head-3e-4": _tuning_row("lr-head-3e-4", 0.40, 0.55, 0.90),
        "batch-4": _tuning_row("batch-4", 0.56, 0.48, 0.30),
    }.items():
        (tmp_path / f"tune-{variant}.json").write_text(json.dumps([row]))
    chosen = sweep.select(tmp_path, ["default", "lr-head-3e-4", "batch-4", "thc-feed-forward"])
    assert chosen["chosen"] == "batch-4" and chosen["overrides"] == ["data.batch_size=4"]
    scores = {v["variant"]: v["dev_joint_f1"] for v in chosen["variants"]}
    assert scores == {
        "default": pytest.approx(0.5),
        "lr-head-3e-4": pytest.approx(0.475),
        "batch-4": pytest.approx(0.52),
    }  # the missing variant is not scored


def test_merge_combines_seeds_of_separate_jobs(bench_dir):
    import sweep

    def row(seed: int, f1: float) -> dict:
        return {
            "name": "unimeec",
            "dataset": "meld",
            "split": "test",
            "metrics": {"merc_weighted_f1": f1},
            "seeds": [seed],
            "command": f"S (step: job{seed})",
            "machine": "m",
            "date": "d",
            "all_metrics": {"merc_weighted_f1": f1, "x": f1},
            "training": [{"seed": seed}],
        }

    other = {**row(0, 0.3), "dataset": "ecf1"}
    merged = {r["dataset"]: r for r in sweep.merge_rows([row(2, 0.6), row(0, 0.5), other], "S")}
    meld = merged["meld"]
    assert meld["seeds"] == [0, 2] and meld["metrics"] == {"merc_weighted_f1": pytest.approx(0.55)}
    assert meld["metrics_std"]["merc_weighted_f1"] == pytest.approx(math.sqrt(0.005))
    assert [t["seed"] for t in meld["training"]] == [0, 2]
    assert meld["command"] == "S" and meld["job_commands"] == ["job0", "job2"]
    assert merged["ecf1"]["seeds"] == [0] and merged["ecf1"]["command"] == "S"


@pytest.mark.slow  # 7 training processes: about a minute
def test_sweep_smoke_runs_every_kind_of_job(bench_dir, shared_data, tmp_path):
    import sweep

    out = tmp_path / "sweep"
    assert (
        sweep.main(
            [
                "--smoke",
                "--device",
                "cpu",
                "--precision",
                "32",
                "--workers",
                "2",
                "--seeds",
                "0",
                "--tuning",
                "default",
                "lr-head-3e-4",
                "--ablations",
                "no-thc",
                "--data-dir",
                str(shared_data),
                "--out",
                str(out),
                "--budget-s",
                "600",
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert {j["name"]: j.get("exit") for j in summary["jobs"]} == {
        "tune-default": 0,
        "tune-lr-head-3e-4": 0,
        "meld-seed0": 0,
        "classifier-ecf1-seed0": 0,
        "classifier-meld-seed0": 0,
        "ablation-no-thc": 0,
        "reccon-seed0": 0,
    }
    selection = json.loads((out / "selection.json").read_text())
    assert selection["chosen"] in ("default", "lr-head-3e-4")
    rows = {(r["name"], r["dataset"]) for r in json.loads((out / "results.json").read_text())}
    assert {
        ("unimeec", "ecf1"),
        ("unimeec", "meld"),
        ("unimeec", "reccon"),
        ("unimeec-full", "ecf1"),
        ("unimeec-no-thc", "ecf1"),
        ("baseline-context-classifier", "meld"),
        ("baseline-rule-on-classifier-emotions", "ecf1"),
    } <= rows
    assert (out / "jobs.tar.gz").stat().st_size > 0


def test_second_round_plan_has_the_base_under_every_unimeec_job(bench_dir, tmp_path):
    import sweep

    args = sweep.build_parser().parse_args(
        [
            "--out",
            str(tmp_path),
            "--carry",
            "C",
            "--tuning",
            "default",
            "epochs-8",
            "--base",
            "optim.lr_head=3e-4",
            "--ablations",
            "--no-baselines",
            "--seeds",
            "0",
            "1",
        ]
    )
    jobs = {job.name: job for job in sweep.plan(args)}
    assert set(jobs) == {
        "tune-default",
        "tune-epochs-8",
        "ecf1-seed1",
        "meld-seed0",
        "meld-seed1",
        "reccon-seed0",
        "reccon-seed1",
    }
    for job in jobs.values():
        overrides = job.arguments[job.arguments.index("--unimeec-override") + 1 :]
        assert overrides[:4] == [
            "data.batch_size=8",
            "trainer.accumulate_grad_batches=1",
            "data.eval_batch_size=32",
            "optim.lr_head=3e-4",
        ]
    assert jobs["tune-epochs-8"].arguments[-1] == "trainer.max_epochs=8"  # the variant wins
    assert not jobs["tune-default"].after_selection and jobs["meld-seed1"].after_selection


def test_table_puts_tuning_rows_in_their_own_table_with_dev_numbers(bench_dir):
    import table

    chosen = {
        **_tuning_row("lr-head-3e-4", 0.575, 0.547, 0.509),
        "selected": True,
        "tuning_base": [],
        "_file": "gpu-sweep-round1.json",
    }
    other = {
        **_tuning_row("default", 0.564, 0.536, 0.511),
        "selected": False,
        "tuning_base": ["optim.lr_head=3e-4"],
        "_file": "gpu-sweep-round2.json",
    }
    full = {
        **_tuning_row("x", 0.5, 0.5, 0.5),
        "name": "unimeec-full",
        "_file": "gpu-sweep-round1.json",
    }
    text = table.render([chosen, other, full])
    tuning = text.split("### Tuning")[1].split("###")[0]
    assert "| **lr-head-3e-4** (chosen) | the config file | 56.1 | 57.5 | 54.7 |" in tuning
    assert "| default | `optim.lr_head=3e-4` | 55.0 | 56.4 | 53.6 |" in tuning
    assert "unimeec-full" in text.split("### Ablations")[1] and "unimeec-full" not in tuning


def test_claims_and_a_meld_tuning_round_plan_the_issue_rows(bench_dir, tmp_path):
    import sweep

    def plan(*extra: str) -> dict:
        args = sweep.build_parser().parse_args(
            ["--out", str(tmp_path), "--carry", "C", "--ablations", "--no-baselines", *extra]
        )
        return {job.name: job for job in sweep.plan(args)}

    jobs = plan("--tuning", "default", "--claims", "cause-only", "--seeds", "0", "1")
    claim = jobs["claim-cause-only-seed1"]
    assert claim.after_selection and claim.arguments[claim.arguments.index("--seeds") + 1] == "1"
    assert claim.arguments[claim.arguments.index("--unimeec-name") + 1] == "unimeec-cause-only"
    assert claim.arguments[-1] == "task=cause"  # then the chosen overrides are appended
    assert {"claim-cause-only-seed0", "ecf1-seed1", "meld-seed0", "reccon-seed1"} <= set(jobs)

    meld = plan("--tune-dataset", "meld", "--datasets", "meld", "--tuning", "default", "ecf-recipe")
    assert set(meld) == {"tune-default", "tune-ecf-recipe", "meld-seed1", "meld-seed2"}
    tune = meld["tune-ecf-recipe"].arguments
    assert tune[tune.index("--datasets") + 1] == "meld"


def test_selection_on_an_emotion_only_set_reads_its_dev_f1(bench_dir, tmp_path):
    import sweep

    for variant, f1 in {"default": 0.58, "neutral-bias": 0.584}.items():
        row = _tuning_row(variant, f1, 0.0, 0.0)
        row["training"][0]["dev_metrics"] = {"merc_weighted_f1": f1}
        (tmp_path / f"tune-{variant}.json").write_text(json.dumps([row]))
    chosen = sweep.select(tmp_path, ["default", "neutral-bias"])
    assert chosen["chosen"] == "neutral-bias"
    assert chosen["overrides"] == ["decoding.tune_neutral_bias=true"]
    assert [v["dev_joint_f1"] for v in chosen["variants"]] == [None, None]
    assert sweep.selection_score({}) is None


def test_table_has_one_tuning_table_per_dataset(bench_dir):
    import table

    ecf = {**_tuning_row("default", 0.5, 0.5, 0.5), "tuning_base": [], "_file": "a.json"}
    meld = {
        **_tuning_row("neutral-bias", 0.584, 0.0, 0.0),
        "dataset": "meld",
        "selected": True,
        "tuning_base": [],
        "_file": "b.json",
    }
    meld["training"] = [{"dev_metrics": {"merc_weighted_f1": 0.584}}]
    text = table.render([meld, ecf])
    assert text.index("### Tuning on ECF 1.0 (chosen by dev joint") < text.index(
        "### Tuning on MELD (chosen by the dataset's one dev F1"
    )
    meld_part = text.split("### Tuning on MELD")[1]
    assert "| **neutral-bias** (chosen) | the config file |  | 58.4 |" in meld_part
    assert "| default |" not in meld_part
