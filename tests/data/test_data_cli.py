"""``unimeec data stats|convert`` on the real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unimeec.cli import main
from unimeec.data import read_conversations


def test_stats_ecf_train(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "stats", str(shared_data / "ecf1" / "train.txt")]) == 0
    out = capsys.readouterr().out
    for line in (
        "ecf1 train",
        "conversations               1,001",
        "utterances                  9,966",
        "emotion utterances          5,577",
        "pairs                       7,055",
        (
            "labels: neutral 4,389, joy 1,708, surprise 1,365, anger 1,140, sadness 789, "
            "disgust 301, fear 274"
        ),
    ):
        assert line in out


def test_stats_by_dataset_name(
    shared_data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNIMEEC_DATA", str(shared_data))
    assert main(["data", "stats", "reccon", "--split", "test"]) == 0
    out = capsys.readouterr().out
    assert "reccon test" in out and "2,405" in out and "pairs                       1,888" in out
    assert "duplicate pairs removed         6" in out and "latent causes                  39" in out
    assert main(["data", "stats", "dailydialog", "--data-dir", str(shared_data)]) == 0
    out = capsys.readouterr().out  # train is absent: only dev and test are printed
    assert "dailydialog dev" in out and "dailydialog test" in out and "train" not in out
    assert "emotion utterances" in out and "pairs" not in out  # no cause labels


def test_stats_error_is_reported(make_file, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = make_file("bad.jsonl", "{not json}\n")
    assert main(["data", "stats", str(path)]) == 1
    assert f"error: {path}:1: invalid JSON" in capsys.readouterr().err


def test_convert(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonl = tmp_path / "dev.jsonl"
    assert main(["data", "convert", str(shared_data / "ecf1" / "dev.txt"), str(jsonl)]) == 0
    assert "wrote 112 conversations" in capsys.readouterr().out
    out = tmp_path / "Subtask_2_dev.json"
    assert main(["data", "convert", str(jsonl), str(out), "--to", "semeval-subtask2"]) == 0
    records = json.loads(out.read_text(encoding="utf-8"))
    assert len(records) == 112
    assert sum(len(r["emotion-cause_pairs"]) for r in records) == 866
    back = read_conversations(out)
    assert sum(len(c.pairs) for c in back) == 866
    assert main(["data", "convert", str(jsonl), str(tmp_path / "x.json")]) == 1  # --to needed
    assert "--to" in capsys.readouterr().err


def test_convert_to_official_subtask1_positions(shared_data: Path, tmp_path: Path) -> None:
    """`--span-format positions` writes the official submission form `<utt>_<start>_<end>`."""
    src = shared_data / "ecf2-semeval2024" / "Subtask_1_train.json"
    head = tmp_path / "head.json"
    head.write_text(json.dumps(json.loads(src.read_text(encoding="utf-8"))[:1]), encoding="utf-8")
    out = tmp_path / "pred.json"
    assert (
        main(
            [
                "data",
                "convert",
                str(head),
                str(out),
                "--to",
                "semeval-subtask1",
                "--span-format",
                "positions",
            ]
        )
        == 0
    )
    pairs = json.loads(out.read_text(encoding="utf-8"))[0]["emotion-cause_pairs"]
    # Conversation 1, utterance 1 has 28 tokens; "I realize I am totally naked ." -> tokens 21..27
    # with the final "." trimmed as the official scorer does: [21, 27).
    assert pairs[0] == ["3_surprise", "1_21_27"]
    assert (
        main(
            ["data", "convert", str(head), str(tmp_path / "x.jsonl"), "--span-format", "positions"]
        )
        == 1
    )
