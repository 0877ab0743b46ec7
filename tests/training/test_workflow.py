"""The whole workflow through the CLI on 20 real ECF conversations with a tiny random backbone:
train -> run directory -> test -> predict (CLI and Python API) -> reload reproduces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from unimeec.cli import main
from unimeec.data import Conversation, load_dataset, read_conversations
from unimeec.evaluation import evaluate
from unimeec.predict import Predictor
from unimeec.training.config import DecodingConfig
from unimeec.training.run import pick_decoding

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ecf1_joint.yaml"
GRID = [0.3, 0.5, 0.7]


def _train_args(data_dir: Path, output_dir: Path, backbone: str, *extra: str) -> list[str]:
    return [
        "train",
        "--config",
        str(CONFIG),
        "--data-dir",
        str(data_dir),
        "--output-dir",
        str(output_dir),
        "data.limit=20",
        "data.batch_size=4",
        f"model.backbone={backbone}",
        "trainer.max_epochs=1",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "trainer.log_every_n_steps=2",
        "run_name=smoke",
        f"decoding.threshold_grid={GRID}",
        *extra,
    ]


@pytest.fixture(scope="module")
def run_dir(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path, tiny_backbone: str
) -> Path:
    out = tmp_path_factory.mktemp("runs")
    assert main(_train_args(shared_data, out, tiny_backbone)) == 0
    return out / "smoke"


@pytest.fixture(scope="module")
def test_gold(shared_data: Path) -> list[Conversation]:
    return load_dataset("ecf1", "test", shared_data)[:20]


def test_run_directory_layout(run_dir: Path, tiny_backbone: str) -> None:
    for name in (
        "config.yaml",
        "metrics_dev.json",
        "metrics_test.json",
        "predictions_test.jsonl",
        "checkpoints/best.ckpt",
        "logs/csv/metrics.csv",
        "model/config.json",
        "model/model.safetensors",
        "model/README.md",
        "model/training_config.yaml",
        "model/tokenizer_config.json",
    ):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "logs" / "tensorboard").glob("events.out.tfevents.*"))
    header = (run_dir / "logs" / "csv" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {
        "train/loss_step",
        "val/mecpe_pair_f1",
        "val/merc_weighted_f1",
        "val/joint_f1",
        "lr-AdamW/backbone",
        "lr-AdamW/head",
    } <= set(header)
    config = (run_dir / "config.yaml").read_text()
    assert "limit: 20" in config and "seed: 42" in config
    card = (run_dir / "model" / "README.md").read_text()
    assert "seed: 42" in card and "dataset: `ecf1`" in card and "- train: 20 conversations" in card
    assert "| mecpe_pair_f1 |" in card and "unimeec train --config" in card
    assert f"backbone: `{tiny_backbone}`" in card and "dev `val/joint_f1`" in card
    sealed = json.loads((run_dir / "model" / "checkpoint_manifest.json").read_text())["files"]
    assert sorted(sealed) == sorted(
        p.name for p in (run_dir / "model").iterdir() if p.name != "checkpoint_manifest.json"
    )


def test_threshold_is_tuned_on_dev_and_saved(run_dir: Path) -> None:
    import yaml

    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    tau = saved["model"]["cause_threshold"]
    assert tau in GRID
    model_config = json.loads((run_dir / "model" / "config.json").read_text())
    assert model_config["cause_threshold"] == tau
    assert model_config["unimeec_version"]
    # configs/ecf1_joint.yaml tunes the neutral bias with tau: saved the same way
    bias = saved["model"]["neutral_bias"]
    assert bias in DecodingConfig().neutral_bias_grid and model_config["neutral_bias"] == bias
    assert (
        f"neutral bias (added to the neutral logit before the argmax): {bias:g} (tuned on dev)"
        in (run_dir / "model" / "README.md").read_text()
    )


def test_bias_and_tau_maximise_dev_joint_f1(run_dir: Path, shared_data: Path) -> None:
    dev_gold = load_dataset("ecf1", "dev", shared_data)[:20]
    predictor = Predictor.from_pretrained(run_dir)
    saved = predictor.model.config
    scores = {
        (bias, tau): evaluate(
            dev_gold, predictor.predict(dev_gold, threshold=tau, neutral_bias=bias)
        )["joint_f1"]
        for bias in DecodingConfig().neutral_bias_grid
        for tau in GRID
    }
    assert pick_decoding(scores) == (saved.neutral_bias, saved.cause_threshold)
    assert scores[(saved.neutral_bias, saved.cause_threshold)] == max(scores.values())
    dev = json.loads((run_dir / "metrics_dev.json").read_text())
    assert dev["joint_f1"] == pytest.approx(max(scores.values()), abs=1e-9)


def test_test_metrics_match_the_offline_scorer(
    run_dir: Path, test_gold: list[Conversation]
) -> None:
    metrics = json.loads((run_dir / "metrics_test.json").read_text())
    predictions = read_conversations(run_dir / "predictions_test.jsonl")
    assert [c.id for c in predictions] == [c.id for c in test_gold]
    offline = evaluate(test_gold, predictions)
    for key in ("merc_accuracy", "merc_weighted_f1", "mecpe_pair_f1", "mecpe_cat_weighted_f1"):
        assert metrics[key] == pytest.approx(offline[key], abs=1e-9), key


def test_dev_metrics_are_those_of_the_saved_model_at_the_tuned_threshold(
    run_dir: Path, shared_data: Path
) -> None:
    dev_gold = load_dataset("ecf1", "dev", shared_data)[:20]
    predictions = Predictor.from_pretrained(run_dir).predict(dev_gold, batch_size=16)
    offline = evaluate(dev_gold, predictions)
    dev = json.loads((run_dir / "metrics_dev.json").read_text())
    for key in ("merc_accuracy", "mecpe_pair_f1", "mecpe_cause_f1"):
        assert dev[key] == pytest.approx(offline[key], abs=1e-9), key


def test_cli_test_reproduces_the_run_metrics(
    run_dir: Path, shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "metrics.json"
    assert (
        main(
            [
                "test",
                "--checkpoint",
                str(run_dir),
                "--data-dir",
                str(shared_data),
                "--output",
                str(out),
                "data.limit=20",
            ]
        )
        == 0
    )
    assert "| mecpe_pair_f1 |" in capsys.readouterr().out
    again = json.loads(out.read_text())
    saved = json.loads((run_dir / "metrics_test.json").read_text())
    assert again.keys() == saved.keys()
    for key, value in saved.items():
        assert again[key] == pytest.approx(value, abs=1e-9), key


def test_predict_cli_and_python_api_agree_and_reload_reproduces(
    run_dir: Path, test_gold: list[Conversation], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "input.jsonl"
    unlabelled = [
        {"id": c.id, "utterances": [{"speaker": u.speaker, "text": u.text} for u in c.utterances]}
        for c in test_gold[:6]
    ]
    inputs.write_text("".join(json.dumps(r) + "\n" for r in unlabelled), encoding="utf-8")
    output = tmp_path / "pred.jsonl"
    assert (
        main(["predict", "--checkpoint", str(run_dir), str(inputs), "--output", str(output)]) == 0
    )
    cli = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["id"] for r in cli] == [c.id for c in test_gold[:6]]

    first = Predictor.from_pretrained(run_dir / "model").predict(unlabelled)
    second = Predictor.from_pretrained(run_dir).predict(unlabelled)
    assert [c.to_dict() for c in first] == cli
    assert [c.to_dict() for c in second] == cli  # reloading reproduces exactly
    labels = json.loads((run_dir / "model" / "config.json").read_text())["emotion_labels"]
    for conv in first:
        for utt in conv.utterances:
            assert utt.emotion in labels
            assert set(utt.emotion_scores) == set(labels)
            assert sum(utt.emotion_scores.values()) == pytest.approx(1.0, abs=1e-5)
            assert utt.emotion == max(utt.emotion_scores, key=utt.emotion_scores.get)
        for pair in conv.pairs:
            assert (
                0.0 <= pair.score <= 1.0
                and pair.emotion == conv.utterance(pair.emotion_utterance).emotion
            )

    # the checkpoint reproduces the predictions written during the run
    saved = {c.id: c for c in read_conversations(run_dir / "predictions_test.jsonl")}
    for conv in first:
        gold_run = saved[conv.id]
        assert [u.emotion for u in conv.utterances] == [u.emotion for u in gold_run.utterances]
        assert conv.pair_set() == gold_run.pair_set()
        for u, v in zip(conv.utterances, gold_run.utterances):
            for label, p in u.emotion_scores.items():
                assert p == pytest.approx(v.emotion_scores[label], abs=1e-5)

    # SemEval submission format on stdout
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(run_dir), str(inputs), "--format", "semeval"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["conversation_ID"] for r in records] == [int(c.id) for c in test_gold[:6]]
    assert all(
        isinstance(p, list) and len(p) == 2 for r in records for p in r["emotion-cause_pairs"]
    )


def test_predict_bad_input_file_is_one_line(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "q", "utterances": [{"text": "hi", "mood": 1}]}) + "\n")
    assert main(["predict", "--checkpoint", str(run_dir), str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.jsonl" in err and "mood" in err
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"id": "e", "utterances": []}) + "\n")
    assert main(["predict", "--checkpoint", str(run_dir), str(empty)]) == 1
    assert "no utterances" in capsys.readouterr().err
    # JSON can escape a lone surrogate, which no tokenizer takes: named where it is read
    lone = tmp_path / "lone.jsonl"
    lone.write_text(
        '{"id": "s", "utterances": [{"index": 1, "speaker": "A", "text": "hi \\ud800"}]}\n'
    )
    assert main(["predict", "--checkpoint", str(run_dir), str(lone)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "lone.jsonl:1" in err and "field 'text'" in err
    assert "not valid Unicode (a lone surrogate at character 3)" in err and "\\ud800" in err


def test_predict_input_format_empty_input_and_output_path(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = {"id": "q", "utterances": [{"speaker": "A", "text": "I got the job !"}]}
    txt = tmp_path / "input.txt"  # our JSONL under a name detection cannot place
    txt.write_text(json.dumps(record) + "\n")
    assert main(["predict", "--checkpoint", str(run_dir), str(txt)]) == 1
    err = capsys.readouterr().err
    assert "cannot detect the format; name it explicitly" in err and "format=" not in err
    assert main(["predict", "--checkpoint", str(run_dir), str(txt), "--input-format", "jsonl"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "q"
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n")
    assert main(["predict", "--checkpoint", str(run_dir), str(blank)]) == 1
    assert "no conversations in the file" in capsys.readouterr().err
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(run_dir),
                str(txt),
                "--input-format",
                "jsonl",
                "-o",
                str(tmp_path),
            ]
        )
        == 1
    )
    assert "is a directory; give a file name to write" in capsys.readouterr().err
    assert main(["predict", "--checkpoint", str(run_dir), str(txt), "--batch-size", "0"]) == 2


@pytest.mark.slow  # two gloo processes: about a minute
def test_two_process_ddp_gives_the_single_process_metrics(
    run_dir: Path, test_gold: list[Conversation]
) -> None:
    from unimeec.training.run import evaluate_checkpoint

    # 20 conversations in batches of 7 = 3 batches: rank 1 gets a padded repeat of batch 0
    common = [
        "data.eval_batch_size=7",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
    ]
    single, predictions = evaluate_checkpoint(run_dir, conversations=test_gold, overrides=common)
    assert [c.id for c in predictions] == [c.id for c in test_gold]
    double, _ = evaluate_checkpoint(
        run_dir,
        conversations=test_gold,
        overrides=[*common, "trainer.devices=2", "trainer.strategy=ddp_spawn"],
    )
    assert double.keys() == single.keys()
    for key, value in single.items():
        assert double[key] == pytest.approx(value, abs=1e-6), key


@pytest.mark.slow  # two gloo processes
def test_threshold_tuning_in_two_processes_picks_the_single_process_tau(
    run_dir: Path, test_gold: list[Conversation]
) -> None:
    """Under ddp_spawn the grid's exact scores stay in the workers; the logged ones decide."""
    from unimeec.checkpoint import load_model_and_processor
    from unimeec.training.config import config_from_dict
    from unimeec.training.datamodule import UniMEECDataModule
    from unimeec.training.run import tune_decoding
    from unimeec.training.trainer import build_trainer

    model, processor = load_model_and_processor(run_dir)
    common = [
        "data.eval_batch_size=7",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "decoding.threshold_grid=[0.05, 0.3, 0.5]",
    ]
    taus = {}
    for name, extra in (
        ("single", []),
        ("double", ["trainer.devices=2", "trainer.strategy=ddp_spawn"]),
    ):
        config = config_from_dict({}, [*common, *extra])
        datamodule = UniMEECDataModule(
            config.data, processor=processor, conversations={"dev": test_gold}, roles=("dev",)
        )
        evaluator = build_trainer(config.trainer, None, monitor=None, validate=True, fit=False)
        tau, at_tau, bias = tune_decoding(model, config, evaluator, datamodule)
        assert bias is None  # decoding.tune_neutral_bias is off by default
        taus[name] = tau
        assert model.config.cause_threshold == tau
        assert bool(at_tau) == (name == "single")  # exact metrics only from this process
    # not the tie-break tau (0.5), so scores lost on the way back would fail here
    assert taus["single"] == taus["double"] != 0.5


def test_uncertainty_balancing_learns_its_weights_and_the_model_reloads(
    tmp_path: Path, shared_data: Path, tiny_backbone: str, test_gold: list[Conversation]
) -> None:
    extra = ("model.loss_balancing=uncertainty", "optim.lr_loss_weights=0.1")
    assert main(_train_args(shared_data, tmp_path, tiny_backbone, *extra)) == 0
    run = tmp_path / "smoke"
    lines = (run / "logs" / "csv" / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    weights = [float(r["train/weight_cause"]) for r in rows if r.get("train/weight_cause")]
    assert weights and all(w != 1.0 for w in weights)  # logged every 2 steps, and moving
    assert "lr-AdamW/loss_weights" in header
    assert json.loads((run / "model" / "config.json").read_text())["loss_balancing"] == (
        "uncertainty"
    )
    predictor = Predictor.from_pretrained(run / "model")
    assert len(predictor.predict(test_gold[:2])) == 2


def test_pcgrad_training_logs_the_gradient_cosine_and_the_model_reloads(
    tmp_path: Path, shared_data: Path, tiny_backbone: str, test_gold: list[Conversation]
) -> None:
    extra = ("optim.gradient_projection=pcgrad", "trainer.accumulate_grad_batches=2")
    assert main(_train_args(shared_data, tmp_path, tiny_backbone, *extra)) == 0
    run = tmp_path / "smoke"
    lines = (run / "logs" / "csv" / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    cosines = [
        float(r["train/grad_cosine_epoch"]) for r in rows if r.get("train/grad_cosine_epoch")
    ]
    assert len(cosines) == 1 and -1.0 <= cosines[0] <= 1.0 and cosines[0] != 0.0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["optim"]["gradient_projection"] == "pcgrad"
    predictor = Predictor.from_pretrained(run / "model")
    assert len(predictor.predict(test_gold[:2])) == 2


def test_distillation_from_a_saved_teacher_trains_caches_and_reloads(
    tmp_path: Path,
    shared_data: Path,
    tiny_backbone: str,
    run_dir: Path,
    test_gold: list[Conversation],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("UNIMEEC_CACHE", str(tmp_path / "cache"))
    teacher = run_dir / "model"
    extra = (f"distill.teacher={teacher}", "distill.weight=0.5")
    assert main(_train_args(shared_data, tmp_path / "a", tiny_backbone, *extra)) == 0
    run = tmp_path / "a" / "smoke"
    lines = (run / "logs" / "csv" / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    losses = [float(r["train/distill_loss_step"]) for r in rows if r.get("train/distill_loss_step")]
    assert losses and all(value > 0 for value in losses)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["distill"]["teacher"] == str(teacher) and saved["distill"]["weight"] == 0.5
    # the cache holds the teacher's own probabilities at neutral bias 0, in label order
    (cached,) = (tmp_path / "cache" / "distill").glob("*.npz")
    first = load_dataset("ecf1", "train", shared_data)[0]
    with np.load(cached, allow_pickle=False) as data:
        assert list(data["ids"][:1]) == [first.id] and len(data["ids"]) == 20
        assert list(data["labels"]) == list(Predictor.from_pretrained(teacher).labels)
        head = np.exp(data["log_probs"][: len(first)])
        labels = [str(label) for label in data["labels"]]
    predicted = Predictor.from_pretrained(teacher).predict(first, neutral_bias=0.0)
    expected = [[u.emotion_scores[label] for label in labels] for u in predicted.utterances]
    assert np.allclose(head, expected, atol=1e-6)

    # a second seed of the same experiment reads the cache and never loads the teacher
    def _refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the teacher was loaded again")

    monkeypatch.setattr(Predictor, "from_pretrained", _refuse)
    assert main(_train_args(shared_data, tmp_path / "b", tiny_backbone, *extra, "seed=1")) == 0
    monkeypatch.undo()
    student = Predictor.from_pretrained(tmp_path / "b" / "smoke" / "model")
    assert len(student.predict(test_gold[:2])) == 2
    # a teacher that is not there: one line naming the key and the path
    args = _train_args(shared_data, tmp_path / "c", tiny_backbone, f"distill.teacher={tmp_path}/x")
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("unimeec train: error: distill.teacher: ") and f"{tmp_path}/x" in err
