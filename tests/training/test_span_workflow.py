"""Subtask 1 end to end on real SemEval-2024 conversations with a tiny random backbone:
the trainer reads the spans, holds out the hash dev split, trains the span head; ``unimeec
predict --format semeval-subtask1`` writes the official submission; ``unimeec evaluate``
scores it exactly as the Python API does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from unimeec.cli import main
from unimeec.data import load_dataset, write_conversations
from unimeec.data.holdout import holdout_split
from unimeec.errors import ConfigError
from unimeec.evaluation import evaluate
from unimeec.models import UniMEECConfig, UniMEECProcessor
from unimeec.predict import Predictor
from unimeec.training.config import TrainConfig, load_config
from unimeec.training.datamodule import UniMEECDataModule

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
LIMIT = 40


def test_trainer_reads_all_9292_spans(shared_data: Path) -> None:
    config = load_config(CONFIGS / "semeval2024_subtask1.yaml", [f"data.data_dir={shared_data}"])
    datamodule = UniMEECDataModule(config.data)
    datamodule.load()
    train = datamodule.split("train")
    assert len(train) == 1374 and not datamodule.split("dev")
    spans = [p.span for c in train for p in c.pairs]
    assert len(spans) == 9292  # 9,364 listed, 72 exact duplicates removed
    assert all(s is not None and s.start is not None for s in spans)  # all located


def test_dev_fraction_holds_out_the_hash_split(shared_data: Path) -> None:
    config = load_config(
        CONFIGS / "semeval2024_subtask1_dev.yaml", [f"data.data_dir={shared_data}"]
    )
    datamodule = UniMEECDataModule(config.data)
    datamodule.load()
    assert (len(datamodule.split("train")), len(datamodule.split("dev"))) == (1223, 151)
    dev = datamodule.split("dev")
    assert [c.id for c in dev[:5]] == ["9", "39", "55", "105", "109"]
    assert sum(len(c.pairs) for c in dev) == 1045 and sum(len(c) for c in dev) == 1509
    # the rule looks at each conversation alone: a subset splits the same way
    few = UniMEECDataModule(config.data.model_copy(update={"limit": 40}))
    few.load()
    assert [c.id for c in few.split("dev")] == ["9", "39"]
    tiny = UniMEECDataModule(config.data.model_copy(update={"limit": 5}))
    with pytest.raises(
        ConfigError,
        match=r"^data.dev_fraction=0.1 leaves 5 training and 0 dev "
        r"conversations of 5; both must be non-empty$",
    ):
        tiny.load()
    with pytest.raises(
        ConfigError,
        match="data.dev_fraction already gives a dev split to tune "
        "tau on; remove decoding.crossfit_fraction",
    ):
        load_config(CONFIGS / "semeval2024_subtask1_dev.yaml", ["decoding.crossfit_fraction=0.1"])
    with pytest.raises(
        ConfigError, match="dev_fraction holds dev out of the training splits; set dev_split: null"
    ):
        load_config(CONFIGS / "semeval2024_subtask1_dev.yaml", ["data.dev_split=dev"])


@pytest.mark.slow
def test_every_span_of_a_candidate_pair_gets_a_label(shared_data: Path) -> None:
    conversations = load_dataset("semeval2024", "train", shared_data)
    processor = UniMEECProcessor.from_config(UniMEECConfig(span_head=True))
    n = sum(
        processor(conversations[k : k + 100])["span_labels"].shape[0]
        for k in range(0, len(conversations), 100)
    )
    # 9,292 spans; 69 of them belong to pairs outside the cause window [i - 7, i + 3]
    assert n == 9223


@pytest.fixture(scope="module")
def run_dir(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path, tiny_backbone: str
) -> Path:
    """A cause-only run: its pairs follow the gold emotions (a tiny model's are all neutral)."""
    out = tmp_path_factory.mktemp("span-runs")
    assert (
        main(
            [
                "train",
                "--config",
                str(CONFIGS / "semeval2024_subtask1_dev.yaml"),
                "--data-dir",
                str(shared_data),
                "--output-dir",
                str(out),
                f"data.limit={LIMIT}",
                f"model.backbone={tiny_backbone}",
                "model.thc_heads=2",
                "trainer.max_epochs=1",
                "trainer.accelerator=cpu",
                "task=cause",
                "trainer.enable_progress_bar=false",
                "run_name=span",
                "decoding.threshold_grid=[0.3,0.5]",
            ]
        )
        == 0
    )
    return out / "span"


@pytest.fixture(scope="module")
def dev_gold(shared_data: Path) -> list:
    return holdout_split(load_dataset("semeval2024", "train", shared_data)[:LIMIT], 0.1)[1]


def test_run_reports_span_metrics_on_dev(run_dir: Path) -> None:
    dev = json.loads((run_dir / "metrics_dev.json").read_text())
    assert {
        "semeval_st1_strict_weighted_f1",
        "semeval_st1_proportional_weighted_f1",
        "semeval_st1_strict_micro_f1",
        "semeval_st1_proportional_micro_f1",
    } <= set(dev)
    saved = TrainConfig.model_validate(yaml.safe_load((run_dir / "config.yaml").read_text()))
    assert saved.model["span_head"] is True and saved.data.dev_fraction == 0.1


def test_predict_subtask1_submission_and_evaluate(
    run_dir: Path, dev_gold: list, tmp_path: Path
) -> None:
    assert [c.id for c in dev_gold] == ["9", "39"]  # the hold-out among the first 40
    gold_file = tmp_path / "dev_gold.json"
    write_conversations(dev_gold, gold_file, format="semeval-subtask1")
    unlabelled = tmp_path / "dev_input.json"
    records = json.loads(gold_file.read_text())
    for record in records:
        del record["emotion-cause_pairs"]
        # the gold emotions stay: a cause-only model (task=cause) pairs the gold emotion
        # utterances, so the tiny model predicts pairs whatever its emotion head would say
    unlabelled.write_text(json.dumps(records))
    submission = tmp_path / "submission.json"
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(run_dir),
                str(unlabelled),
                "--format",
                "semeval-subtask1",
                "--threshold",
                "0.0",
                "--output",
                str(submission),
            ]
        )
        == 0
    )
    written = json.loads(submission.read_text())
    causes = [(r, p[1]) for r in written for p in r["emotion-cause_pairs"]]
    assert causes  # tau = 0: every candidate of a gold emotion utterance
    for record, cause in causes:
        match = re.fullmatch(r"(\d+)_(\d+)_(\d+)", cause)
        assert match, cause
        utt, start, end = map(int, match.groups())
        n_tokens = len(record["conversation"][utt - 1]["text"].split())
        assert 0 <= start < end <= n_tokens
    report = tmp_path / "report.json"
    assert (
        main(
            ["evaluate", "--gold", str(gold_file), "--pred", str(submission), "--json", str(report)]
        )
        == 0
    )
    scored = json.loads(report.read_text())["metrics"]
    predictions = Predictor.from_pretrained(run_dir).predict(dev_gold, threshold=0.0)
    expected = evaluate(dev_gold, predictions)
    for key in (
        "semeval_st1_strict_weighted_f1",
        "semeval_st1_proportional_weighted_f1",
        "semeval_st1_proportional_micro_precision",
        "mecpe_pair_f1",
    ):
        assert scored[key] == pytest.approx(expected[key], abs=1e-12), key
    assert all(p.span is not None for c in predictions for p in c.pairs)
