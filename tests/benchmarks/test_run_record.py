"""``run_record.py``: a finished run directory becomes a results row the tables read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml


def _run(tmp_path: Path, pair_f1: float, seed: int = 42, lr: float = 1e-4) -> Path:
    run = tmp_path / f"run-{pair_f1}-{seed}-{lr}"
    run.mkdir()
    metrics = {"merc_weighted_f1": 0.55, "mecpe_pair_f1": pair_f1, "merc_f1_joy": 0.4}
    (run / "metrics_test.json").write_text(json.dumps(metrics))
    (run / "metrics_dev.json").write_text(json.dumps({**metrics, "mecpe_pair_f1": 0.5}))
    (run / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "seed": seed,
                "data": {"dataset": "ecf1"},
                "model": {"cause_threshold": {42: 0.25, 0: 0.3, 1: 0.35}.get(seed, 0.5)},
                "optim": {"lr_backbone": lr},
            }
        )
    )
    return run


def test_rows_carry_test_dev_threshold_and_command(tmp_path, bench_dir):
    import run_record
    from table import render

    out = tmp_path / "rows.json"
    for f1, name in ((0.49, "unimeec-tune-default"), (0.46, "unimeec-tune-ema-0.99")):
        assert (
            run_record.main(
                [
                    str(_run(tmp_path, f1)),
                    "--name",
                    name,
                    "--command",
                    f"unimeec train {name}",
                    "--out",
                    str(out),
                    "--append",
                ]
            )
            == 0
        )
    rows = json.loads(out.read_text())
    assert [r["name"] for r in rows] == ["unimeec-tune-default", "unimeec-tune-ema-0.99"]
    default, ema = rows
    assert default["metrics"]["mecpe_pair_f1"] == 0.49
    assert ema["metrics"] == {"merc_weighted_f1": 0.55, "mecpe_pair_f1": 0.46}
    assert ema["all_metrics"]["merc_f1_joy"] == 0.4 and ema["seeds"] == [42]
    assert ema["training"][0]["cause_threshold"] == 0.25
    assert ema["training"][0]["dev_metrics"]["mecpe_pair_f1"] == 0.5
    assert ema["command"] == "unimeec train unimeec-tune-ema-0.99"
    # the tuning table shows both, dev joint = (55 + 50) / 2
    table = render([{**r, "_file": "rows.json"} for r in rows])
    assert "| default | the config file | 52.5 | 55.0 | 50.0 | 55.0 | 49.0 |" in table
    assert "| ema-0.99 | the config file | 52.5 | 55.0 | 50.0 | 55.0 | 46.0 |" in table
    # a second record of the same name replaces the first
    run_record.main(
        [
            str(_run(tmp_path, 0.47)),
            "--name",
            "unimeec-tune-ema-0.99",
            "--command",
            "again",
            "--out",
            str(out),
            "--append",
        ]
    )
    assert [r["command"] for r in json.loads(out.read_text())] == [
        "unimeec train unimeec-tune-default",
        "again",
    ]


def test_one_row_from_several_seeds_holds_mean_and_spread(tmp_path, bench_dir):
    import run_record

    out = tmp_path / "rows.json"
    runs = [str(_run(tmp_path, f1, seed)) for f1, seed in ((0.50, 42), (0.52, 0), (0.54, 1))]
    args = [*runs, "--name", "unimeec", "--command", "c", "--out", str(out)]
    assert run_record.main([*args, "--seconds", "800", "810", "820"]) == 0
    (row,) = json.loads(out.read_text())
    assert row["seeds"] == [42, 0, 1]
    assert row["metrics"]["mecpe_pair_f1"] == pytest.approx(0.52)
    assert row["metrics_std"]["mecpe_pair_f1"] == pytest.approx(0.02)  # sample std
    assert row["metrics_std"]["merc_weighted_f1"] == 0.0
    assert [t["seconds"] for t in row["training"]] == [800, 810, 820]
    assert [t["cause_threshold"] for t in row["training"]] == [0.25, 0.3, 0.35]
    with pytest.raises(SystemExit, match="3 values for 2 run directories"):
        run_record.main([*args[:2], *args[3:], "--seconds", "1", "2", "3"])
    other = str(_run(tmp_path, 0.5, 7, lr=2e-4))
    with pytest.raises(
        SystemExit, match=r"differs from .* in more than the seed \(optim.lr_backbone\)"
    ):
        run_record.main([runs[0], other, *args[3:]])


def test_gold_emotions_scores_the_saved_model_on_the_runs_test_conversations(
    tmp_path, bench_dir, tiny_backbone, shared_data
):
    import argparse

    import run_record
    import torch
    from unimeec_runner import predict_with_gold_emotions

    from unimeec.checkpoint import save_checkpoint
    from unimeec.data import load_dataset
    from unimeec.evaluation import evaluate
    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor

    run = _run(tmp_path, 0.3)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["data"] |= {"limit": 6, "test_split": "test", "dev_split": "dev"}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    test = load_dataset("ecf1", "test", shared_data)[:6]
    argv = [str(run), "--name", "unimeec", "--command", "c", "--out", str(tmp_path / "r.json")]
    argv += ["--gold-emotions", "--data-dir", str(shared_data)]
    with pytest.raises(SystemExit, match=r"model: no saved model \(config.json\)"):
        run_record.main(argv)

    torch.manual_seed(0)
    model = UniMEECModel(UniMEECConfig(backbone=tiny_backbone, emotion_labels=list(test[0].labels)))
    save_checkpoint(model, UniMEECProcessor.from_config(model.config), run / "model")
    assert run_record.main(argv) == 0
    plain, gold = json.loads((tmp_path / "r.json").read_text())
    assert (plain["name"], gold["name"]) == ("unimeec", "unimeec-gold-emotions")
    assert plain["metrics"]["mecpe_pair_f1"] == 0.3  # metrics_test.json, untouched
    assert gold["metrics"]["merc_weighted_f1"] == 1.0  # the emotions are the gold ones
    expected = evaluate(
        test,
        predict_with_gold_emotions(
            run / "model", test, argparse.Namespace(device="cpu", precision="32")
        ),
    )
    assert gold["metrics"]["mecpe_pair_f1"] == pytest.approx(expected["mecpe_pair_f1"])
    assert gold["all_metrics"]["mecpe_emotion_f1"] == 1.0
    # dev: the same decoding on the run's dev conversations, for choices made on dev
    dev = load_dataset("ecf1", "dev", shared_data)[:6]
    expected_dev = evaluate(
        dev,
        predict_with_gold_emotions(
            run / "model", dev, argparse.Namespace(device="cpu", precision="32")
        ),
    )
    dev_row = gold["training"][0]["dev_metrics"]
    assert dev_row["mecpe_pair_f1"] == pytest.approx(expected_dev["mecpe_pair_f1"])
    assert dev_row["merc_weighted_f1"] == 1.0
    assert plain["training"][0]["dev_metrics"] != dev_row
    assert gold["dev_emotions"] == "gold" and "dev_emotions" not in plain
    assert "gold emotion utterances" in gold["note"]
    # a tuning variant's line shows its gold-emotion pair F1, dev and test
    from table import render

    argv_tune = [str(run), "--name", "unimeec-tune-x", "--command", "c"]
    argv_tune += ["--out", str(tmp_path / "t.json"), "--gold-emotions"]
    assert run_record.main([*argv_tune, "--data-dir", str(shared_data)]) == 0
    rows = [{**r, "_file": "t.json"} for r in json.loads((tmp_path / "t.json").read_text())]
    (line,) = [t for t in render(rows).splitlines() if t.startswith("| x |")]
    dev_f1, test_f1 = expected_dev["mecpe_pair_f1"], expected["mecpe_pair_f1"]
    assert f"| {100 * dev_f1:.1f} | {100 * test_f1:.1f} |" in line
