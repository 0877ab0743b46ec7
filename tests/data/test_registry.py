"""The dataset registry: every declaration is consistent with itself, with the tables derived
from it, with the readers and with the real files; a new dataset is one new module."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import get_args

import pytest

import unimeec.data.datasets as registry
from unimeec.cli import main
from unimeec.data.datasets import (
    DATASETS,
    DEFAULT_TASKS,
    LABEL_SETS,
    SPLITS,
    DatasetSpec,
    Task,
    get_dataset,
)
from unimeec.data.labels import NEUTRAL_LABELS
from unimeec.data.loading import dataset_path
from unimeec.data.readers import ALIASES, READERS, detect_format, get_reader
from unimeec.data.sources import DOWNLOADS, VIDEO_ID_MAPPING_SHA256
from unimeec.training.config import DataConfig

SPECS = list(DATASETS.values())


def test_the_registry_holds_every_dataset_once() -> None:
    assert list(DATASETS) == [
        "convecpe",
        "dailydialog",
        "ecf1",
        "emorynlp",
        "iemocap",
        "meld",
        "reccon",
        "semeval2024",
    ]
    assert get_dataset("ecf2") is DATASETS["semeval2024"]  # ECF 2.0 is the SemEval-2024 data
    assert get_dataset("ecf3") is None


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_each_declaration_is_consistent(spec: DatasetSpec) -> None:
    assert spec.description and len(spec.labels) == len(set(spec.labels)) >= 2
    assert sum(label in NEUTRAL_LABELS for label in spec.labels) <= 1  # no ambiguous neutral
    assert spec.default_task in get_args(Task)
    assert tuple(spec.files) == SPLITS and all(spec.files[s] for s in SPLITS)
    folders = {candidate.split("/")[0] for s in SPLITS for candidate in spec.files[s]}
    assert len(folders) == 1, folders  # one folder per dataset under the data directory
    own = [fmt.name for fmt in spec.formats]
    if spec.file_format is None:
        assert len(own) >= 2  # only a dataset distributed in several forms detects per file
    else:  # its own reader, or our JSONL format
        assert spec.file_format in [*own, "jsonl"]
    for fmt in spec.formats:
        assert READERS[fmt.name] is fmt and callable(get_reader(fmt.name))
        assert all(ALIASES[alias] == fmt.name for alias in fmt.aliases)
    for source in spec.downloads:
        assert source.local_path.split("/")[0] in folders
        assert re.fullmatch(r"[0-9a-f]{64}", source.sha256) and re.fullmatch(
            r"[0-9a-f]{40}", source.commit
        )
    for name in spec.names:
        assert LABEL_SETS[name] == spec.labels and DEFAULT_TASKS[name] == spec.default_task
        assert DataConfig(dataset=name).dataset == name  # the training config accepts it


def test_the_derived_tables() -> None:
    assert set(LABEL_SETS) == set(DEFAULT_TASKS) == {*DATASETS, "ecf2"}
    assert {name: len(files) for name, files in DOWNLOADS.items()} == {
        "ecf1": 6,
        "meld": 3,
        "semeval2024": 1,
    }
    assert DOWNLOADS["ecf1"][5].local_path == "ecf1/video_id_mapping.npy"
    assert DOWNLOADS["ecf1"][5].sha256 == VIDEO_ID_MAPPING_SHA256
    assert set(READERS) == {
        "convecpe",
        "dailydialog",
        "ecf",
        "emorynlp",
        "iemocap-tsv",
        "iemocap-json",
        "jsonl",
        "meld",
        "reccon",
        "semeval",
    }


def test_data_stats_help_lists_every_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "stats", "--help"]) == 0  # main returns argparse's exit code
    lines = capsys.readouterr().out.split("datasets:\n")[1].splitlines()
    assert len(lines) == len(DATASETS)
    assert lines[-1] == (
        "  semeval2024 (also ecf2): ECF 2.0 / SemEval-2024 Task 3, NUSTM's JSON "
        "files (default task: joint)"
    )


def test_every_real_file_is_read_by_its_datasets_format(shared_data: Path) -> None:
    found = {}
    for spec in SPECS:
        for split in SPLITS:
            if not any((shared_data / c).is_file() for c in spec.files[split]):
                continue
            fmt = detect_format(dataset_path(spec.name, split, shared_data))
            assert fmt in [f.name for f in spec.formats], (spec.name, split, fmt)
            found.setdefault(spec.name, []).append(split)
    assert found == {
        "dailydialog": ["dev", "test"],
        "ecf1": ["train", "dev", "test"],
        "emorynlp": ["train", "dev", "test"],
        "meld": ["train", "dev", "test"],
        "reccon": ["train", "dev", "test"],
        "semeval2024": ["train"],
    }


NEW_DATASET = """
from unimeec.data.datasets import DatasetSpec, ReaderFormat, split_files

SPEC = DatasetSpec(
    name="toydata",
    labels=("neutral", "joy"),
    default_task="emotion",
    files=split_files("toydata/{split}.toy"),
    file_format="toy",
    formats=(ReaderFormat("toy", "unimeec.data.readers.jsonl:read_jsonl"),),
    description="a toy dataset in our JSONL format",
)
"""


def test_the_documented_example_is_the_tested_one() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    assert NEW_DATASET.split("\n\n")[1].strip() in doc


def test_a_new_dataset_is_one_new_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "toydata.py").write_text(NEW_DATASET, encoding="utf-8")
    monkeypatch.setattr(registry, "__path__", [*registry.__path__, str(tmp_path)])
    try:
        specs = registry._discover()
        assert specs["toydata"].labels == ("neutral", "joy")
        assert specs["toydata"].files["dev"] == ("toydata/dev.toy",)
        assert set(specs) == {*LABEL_SETS, "toydata"}

        (tmp_path / "twice.py").write_text(NEW_DATASET, encoding="utf-8")
        with pytest.raises(
            ValueError,
            match=r"dataset name 'toydata' declared twice "
            r"\(unimeec.data.datasets.twice\)",
        ):
            registry._discover()
        (tmp_path / "twice.py").write_text("SPEC = None\n", encoding="utf-8")
        sys.modules.pop("unimeec.data.datasets.twice", None)
        with pytest.raises(TypeError, match=r"unimeec.data.datasets.twice declares no SPEC"):
            registry._discover()
    finally:
        for name in ("toydata", "twice"):
            sys.modules.pop(f"unimeec.data.datasets.{name}", None)
