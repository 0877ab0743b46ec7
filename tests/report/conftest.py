"""Real ECF 1.0 test conversations, predictions of a tiny random UniMEEC model on them (real
Predictor output: emotion probabilities, pair scores, a mix of correct, missed and spurious
pairs and wrong emotions), and the report the CLI builds from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from unimeec.cli import main
from unimeec.data import Conversation, load_dataset, read_conversations, write_conversations

#: Resamples of the report in the tests (the CLI default, 1,000, is for users).
TEST_RESAMPLES = 200


@pytest.fixture(scope="session")
def ecf_test(shared_data: Path) -> list[Conversation]:
    return load_dataset("ecf1", "test", shared_data)


@pytest.fixture(scope="session")
def predictions_file(
    tmp_path_factory: pytest.TempPathFactory, tiny_backbone: str, ecf_test: list[Conversation]
) -> Path:
    import torch

    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor
    from unimeec.predict import Predictor

    torch.manual_seed(0)
    model = UniMEECModel(UniMEECConfig(backbone=tiny_backbone, thc_heads=2)).eval()
    predictor = Predictor(model, UniMEECProcessor.from_config(model.config), device="cpu")
    path = tmp_path_factory.mktemp("predictions") / "ecf1_test.jsonl"
    write_conversations(predictor.predict(ecf_test, progress=False), path)
    return path


@pytest.fixture(scope="session")
def predictions(predictions_file: Path) -> list[Conversation]:
    return read_conversations(predictions_file)


@pytest.fixture(scope="session")
def gold_file(shared_data: Path) -> Path:
    return shared_data / "ecf1" / "test.txt"


@pytest.fixture(scope="session")
def site_dir(
    tmp_path_factory: pytest.TempPathFactory, predictions_file: Path, gold_file: Path
) -> Path:
    """The report of the predictions against the official ECF 1.0 test file, via the CLI."""
    out = tmp_path_factory.mktemp("report") / "site"
    assert (
        main(
            [
                "report",
                str(predictions_file),
                "--gold",
                str(gold_file),
                "--out",
                str(out),
                "--bootstrap",
                str(TEST_RESAMPLES),
                "--no-progress",
            ]
        )
        == 0
    )
    return out
