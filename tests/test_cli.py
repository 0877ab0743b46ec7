"""Exit codes and one-line messages of the ``unimeec`` command (docs/input-validation.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unimeec.cli import EXIT_BUG, main

RECORD = {
    "id": "a",
    "utterances": [{"speaker": "A", "text": "Hi", "emotion": "joy"}],
    "dataset": "ecf1",
}


def _jsonl(path: Path, *records: dict) -> Path:  # type: ignore[type-arg]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_our_errors_are_one_line_and_exit_1(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = _jsonl(tmp_path / "bad.jsonl", RECORD, {**RECORD, "id": "b", "has_cause_labels": "no"})
    assert main(["data", "stats", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"unimeec data: error: {bad}:2, conversation b, field 'has_cause_labels': "
        "conversation: input should be a valid boolean, got 'no' (str)\n"
    )


def test_empty_input_is_an_error_not_silence(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert main(["data", "stats", str(empty)]) == 1
    assert "no conversations in the file" in capsys.readouterr().err
    assert main(["data", "convert", str(empty), str(tmp_path / "out.jsonl")]) == 1
    assert not (tmp_path / "out.jsonl").exists()


def test_output_path_problems(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    good = _jsonl(tmp_path / "good.jsonl", RECORD)
    assert main(["data", "convert", str(good), str(tmp_path / "new" / "dir" / "o.jsonl")]) == 0
    assert (tmp_path / "new" / "dir" / "o.jsonl").is_file()
    capsys.readouterr()
    (tmp_path / "folder.jsonl").mkdir()
    assert main(["data", "convert", str(good), str(tmp_path / "folder.jsonl")]) == 1
    assert capsys.readouterr().err == (
        f"unimeec data: error: {tmp_path / 'folder.jsonl'}: is a "
        "directory; give a file name to write\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "--checkpoint", "run", "in.jsonl", "--batch-size", "0"],
        ["predict", "--checkpoint", "run", "in.jsonl", "--batch-size", "two"],
        [
            "features",
            "extract",
            "--manifest",
            "m.jsonl",
            "--modality",
            "audio",
            "--extractor",
            "egemaps_v02",
            "--out",
            "s",
            "--workers",
            "0",
        ],
        ["data", "stats"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_help_and_version_exit_0(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("unimeec ")


def test_unexpected_exception_is_reported_as_a_bug(
    tmp_path: Path,
    capsys,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = _jsonl(tmp_path / "good.jsonl", RECORD)

    def broken(conversations):  # type: ignore[no-untyped-def]
        return {}["missing"]  # a programming error inside a command

    monkeypatch.setattr("unimeec.data.commands.compute_stats", broken)
    assert main(["data", "stats", str(good)]) == EXIT_BUG == 70
    err = capsys.readouterr().err
    assert err.endswith(
        "unimeec data: internal error (KeyError: 'missing'). This is a bug in "
        "unimeec, please report it; rerun with 'unimeec -v ...' for the "
        "traceback\n"
    )
    assert "Traceback" not in err
    assert main(["-v", "data", "stats", str(good)]) == 70
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in broken" in err
    assert err.rstrip().endswith("please report it")
