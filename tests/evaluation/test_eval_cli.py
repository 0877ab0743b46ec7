"""``unimeec evaluate`` end to end: files in, table and JSON report out, clear errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from unimeec.cli import main
from unimeec.data import load_dataset, write_conversations
from unimeec.data.schema import Conversation
from unimeec.evaluation import evaluate

Case = tuple[list[Conversation], list[Conversation]]
SystemFactory = Callable[..., Case]


def _write(tmp_path: Path, gold: list[Conversation], *systems: list[Conversation]) -> list[str]:
    paths = [tmp_path / "gold.jsonl"] + [tmp_path / f"pred_{k}.jsonl" for k in range(len(systems))]
    for path, conversations in zip(paths, [gold, *systems]):
        write_conversations(conversations, path)
    return [str(p) for p in paths]


def test_table_and_json_report(
    tmp_path: Path, mecpe_case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    gold, pred = mecpe_case
    gold_path, pred_path = _write(tmp_path, gold, pred)
    out = tmp_path / "report" / "metrics.json"
    assert main(["evaluate", "--gold", gold_path, "--pred", pred_path, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "without prediction: 1 (c3)" in printed
    # 6/13 = 46.15 % pair F1, 5/21 = 23.81 % weighted MECPE-Cat F1
    assert any(line.split() == ["mecpe_pair_f1", "46.15"] for line in printed.splitlines())
    assert any(line.split() == ["mecpe_cat_weighted_f1", "23.81"] for line in printed.splitlines())
    report = json.loads(out.read_text())
    assert report["metrics"] == pytest.approx(evaluate(gold, pred))
    assert report["counts"]["missing"] == 1 and report["missing_conversations"] == ["c3"]
    assert report["cat_counts"]["joy"] == [1, 2, 1]
    assert len(report["confusion_matrix"]) == 7 and len(report["confusion_matrix"][0]) == 8
    assert report["settings"]["pred"] == pred_path and report["intervals"] == {}


def test_compare_runs_a_paired_bootstrap(
    tmp_path: Path, synthetic_system: SystemFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    gold, strong = synthetic_system(4, 0.9)
    _, weak = synthetic_system(4, 0.3)
    gold_path, a_path, b_path = _write(tmp_path, gold, strong, weak)
    out = tmp_path / "compare.json"
    assert (
        main(
            [
                "evaluate",
                "--gold",
                gold_path,
                "--pred",
                a_path,
                "--compare",
                b_path,
                "--bootstrap",
                "100",
                "--seed",
                "3",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    test = report["comparison"]["mecpe_pair_f1"]
    assert test["difference"] == pytest.approx(
        report["metrics"]["mecpe_pair_f1"] - report["comparison_metrics"]["mecpe_pair_f1"]
    )
    assert test["low"] > 0 and test["p_value"] == pytest.approx(1 / 101)
    interval = report["intervals"]["mecpe_pair_f1"]
    assert interval["low"] <= interval["estimate"] <= interval["high"]
    assert report["settings"]["bootstrap"] == 100
    assert "A - B" in capsys.readouterr().out


def test_prediction_errors_name_the_file(
    tmp_path: Path, mecpe_case: Case, conv: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    gold, _ = mecpe_case
    gold_path, pred_path = _write(tmp_path, gold, [conv("99", ["joy"])])
    assert main(["evaluate", "--gold", gold_path, "--pred", pred_path]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"unimeec evaluate: error: {pred_path}, conversation 99, field 'id': "
        "prediction for a conversation id that is not in the gold data"
    )
    assert main(["evaluate", "--gold", gold_path, "--pred", pred_path, "--bootstrap", "-1"]) == 1
    assert "--bootstrap must be >= 0" in capsys.readouterr().err


def test_semeval_json_predictions_with_emotions(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold_file = shared_data / "ecf2-semeval2024" / "Subtask_1_train.json"
    gold = load_dataset("semeval2024", "train", shared_data)
    pred_path = tmp_path / "Subtask_1_pred.json"
    # a submission for the first 50 conversations, utterances carrying predicted emotions
    write_conversations(gold[:50], pred_path, format="semeval-subtask1")
    out = tmp_path / "semeval.json"
    assert (
        main(["evaluate", "--gold", str(gold_file), "--pred", str(pred_path), "--json", str(out)])
        == 0
    )
    report = json.loads(out.read_text())
    assert report["counts"]["missing"] == 1374 - 50
    assert report["metrics"]["mecpe_pair_precision"] == 1.0
    assert report["metrics"]["semeval_st1_strict_micro_precision"] == 1.0
    assert 0 < report["metrics"]["semeval_st1_strict_weighted_f1"] < 0.1
    # the utterances' predicted emotions enable MERC; the 1,324 missing conversations' count
    # as unpredicted
    n_pred = sum(len(c.utterances) for c in gold[:50])
    assert report["metrics"]["merc_accuracy"] == pytest.approx(n_pred / 13619)
    assert "without prediction: 1324" in capsys.readouterr().out
