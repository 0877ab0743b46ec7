"""Prediction at scale: the round-robin plan (hand-computed), shard merging and its errors,
and real runs of ``unimeec predict`` with two gloo processes on CPU compared byte for byte
with the single-process output (tiny random backbone, real ECF conversations)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from unimeec.cli import main
from unimeec.data import Conversation, load_dataset, read_conversations, write_conversations
from unimeec.errors import DataFormatError
from unimeec.predict import length_batches, predict_file
from unimeec.predict_distributed import merge_shards, shard_path, shard_plan

SRC = Path(__file__).resolve().parents[1] / "src"


# ---------------------------------------------------------------------- the plan
LENGTHS = [5, 1, 3, 2, 4, 1, 6]


def test_length_batches_sorts_by_length_and_keeps_input_order_on_ties() -> None:
    assert length_batches(LENGTHS, 2) == [[1, 5], [3, 2], [4, 0], [6]]
    assert length_batches([], 2) == []


@pytest.mark.parametrize(
    ("world", "expected"),
    [
        (1, [[[1, 5], [3, 2], [4, 0], [6]]]),
        (2, [[[1, 5], [4, 0]], [[3, 2], [6]]]),
        (3, [[[1, 5], [6]], [[3, 2]], [[4, 0]]]),
        (5, [[[1, 5]], [[3, 2]], [[4, 0]], [[6]], []]),
    ],
)
def test_shard_plan_deals_batches_round_robin_without_padding(
    world: int, expected: list[list[list[int]]]
) -> None:
    plan = shard_plan(LENGTHS, 2, world)
    assert plan == expected
    positions = [p for rank in plan for batch in rank for p in batch]
    assert sorted(positions) == list(range(len(LENGTHS)))  # every position exactly once


# ---------------------------------------------------------------------- merging
@pytest.fixture(scope="module")
def conversations(shared_data: Path) -> list[Conversation]:
    """Seven real ECF 1.0 test conversations (5 to 21 utterances)."""
    return load_dataset("ecf1", "test", shared_data)[:7]


def _write_shards(conversations: list[Conversation], directory: Path, world: int) -> None:
    for rank, batches in enumerate(shard_plan([len(c) for c in conversations], 2, world)):
        positions = sorted(p for batch in batches for p in batch)
        write_conversations(
            [conversations[p] for p in positions], shard_path(directory, rank, world)
        )


@pytest.mark.parametrize("world", [2, 5])
def test_merge_restores_input_order(
    conversations: list[Conversation], tmp_path: Path, world: int
) -> None:
    """7 conversations in 4 batches of 2: with 5 processes, the last one's shard is empty."""
    _write_shards(conversations, tmp_path, world)
    sizes = [len(shard_path(tmp_path, r, world).read_text().splitlines()) for r in range(world)]
    assert sizes == ([4, 3] if world == 2 else [2, 2, 2, 1, 0])
    merged = merge_shards(conversations, tmp_path, batch_size=2, world_size=world)
    assert [c.to_dict() for c in merged] == [c.to_dict() for c in conversations]


def test_merge_refuses_missing_short_and_foreign_shards(
    conversations: list[Conversation], tmp_path: Path
) -> None:
    _write_shards(conversations, tmp_path, 2)
    last = shard_path(tmp_path, 1, 2)
    kept = last.read_text(encoding="utf-8").splitlines(keepends=True)
    last.unlink()
    with pytest.raises(
        DataFormatError,
        match=r"rank-00001-of-00002\.jsonl: shard not found; "
        "with several nodes the shard directory must be on a filesystem",
    ):
        merge_shards(conversations, tmp_path, batch_size=2, world_size=2)
    last.write_text("".join(kept[:-1]), encoding="utf-8")
    with pytest.raises(
        DataFormatError,
        match=r"rank-00001-of-00002\.jsonl: shard holds 2 "
        r"conversations, expected 3 \(did rank 1 fail\?\)",
    ):
        merge_shards(conversations, tmp_path, batch_size=2, world_size=2)
    # lengths 5, 10, 5, 3, 5, 21, 12: batches [3, 0] [2, 4] [1, 6] [5], so rank 1 holds
    # positions 2, 4, 5; swap its last two lines
    assert [len(c) for c in conversations] == [5, 10, 5, 3, 5, 21, 12]
    last.write_text("".join([kept[0], kept[2], kept[1]]), encoding="utf-8")
    with pytest.raises(
        DataFormatError,
        match=rf"rank-00001-of-00002\.jsonl:2: conversation "
        rf"'{conversations[5].id}' where the input has '{conversations[4].id}'",
    ):
        merge_shards(conversations, tmp_path, batch_size=2, world_size=2)


# ---------------------------------------------------------------------- real runs
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory, tiny_backbone: str) -> Path:
    """A random text + audio model (so the runs also carry a feature store to every rank)."""
    from unimeec.checkpoint import save_checkpoint
    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor

    torch.manual_seed(0)
    config = UniMEECConfig(
        backbone=tiny_backbone, modalities=["text", "audio"], feature_dims={"audio": 3}
    )
    model = UniMEECModel(config)
    processor = UniMEECProcessor.from_config(model.config)
    return save_checkpoint(model, processor, tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory, conversations: list[Conversation]) -> str:
    """An audio store with a vector for every utterance but the second, recorded missing."""
    from unimeec.data.feature_store import ExtractorInfo, FeatureStoreWriter

    path = tmp_path_factory.mktemp("stores") / "audio"
    info = ExtractorInfo(name="test")
    with FeatureStoreWriter(path, modality="audio", dim=3, extractor=info) as writer:
        for conv in conversations:
            for utt in conv.utterances:
                if (conv.id, utt.index) == (conversations[0].id, 2):
                    writer.add_missing(conv.id, utt.index, reason="no audio track")
                else:
                    vector = [utt.index, len(utt.text), len(conv)]
                    writer.add(conv.id, utt.index, np.array(vector, dtype=np.float32))
    return str(path)


@pytest.fixture(scope="module")
def inputs(conversations: list[Conversation], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "seven.jsonl"
    write_conversations(conversations, path)
    return path


def _args(checkpoint: Path, inputs: Path, output: Path, options: str) -> list[str]:
    """``predict`` arguments; ``options`` is split on spaces (tmp paths have none)."""
    return ["predict", "--checkpoint", str(checkpoint), str(inputs), "-o", str(output),
            *options.split()]  # fmt: skip


def _reference(checkpoint: Path, inputs: Path, output: Path, audio: str, **options: Any) -> bytes:
    """The single-process output (``Predictor``), the bytes every run must reproduce."""
    predict_file(checkpoint, inputs, output, features={"audio": audio}, **options)
    return output.read_bytes()


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m unimeec.cli`` in a fresh process: Lightning's DDP launcher re-runs it."""
    full = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "unimeec.cli", *args],
        env=full,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 0, out[-3000:]
    return out


def test_a_lightning_prediction_loads_no_training_code(
    checkpoint: Path, inputs: Path, audio: str, tmp_path: Path
) -> None:
    code = (
        "import sys\n"
        "from unimeec.predict_distributed import predict_file_distributed\n"
        f"predict_file_distributed({str(checkpoint)!r}, {str(inputs)!r}, {str(tmp_path / 'o')!r},"
        f" features={{'audio': {audio!r}}}, devices=1, accelerator='cpu', progress=False)\n"
        "print(sorted(m for m in sys.modules if m.startswith('unimeec.training')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert len((tmp_path / "o").read_text().splitlines()) == 7


def test_one_process_through_lightning_is_the_predictor_output(
    checkpoint: Path, inputs: Path, audio: str, tmp_path: Path
) -> None:
    reference = _reference(checkpoint, inputs, tmp_path / "reference.jsonl", audio, batch_size=2)
    with pytest.warns(UserWarning, match="trained with audio features but none were given"):
        predict_file(checkpoint, inputs, tmp_path / "no_audio.jsonl", batch_size=2)
    assert (tmp_path / "no_audio.jsonl").read_bytes() != reference  # the store reaches the model
    output = tmp_path / "lightning.jsonl"
    options = "--batch-size 2 --devices 1 --accelerator cpu"
    assert main([*_args(checkpoint, inputs, output, options), "--features", f"audio={audio}"]) == 0
    assert output.read_bytes() == reference
    assert not (tmp_path / "lightning.jsonl.shards").exists()  # merged, then removed
    # the official span submission (positions) goes through the same writer
    spans = _reference(
        checkpoint, inputs, tmp_path / "ref1.json", audio, output_format="semeval-subtask1"
    )
    options = "--format semeval-subtask1 --devices 1 --accelerator cpu"
    output = tmp_path / "lightning1.json"
    assert main([*_args(checkpoint, inputs, output, options), "--features", f"audio={audio}"]) == 0
    assert output.read_bytes() == spans
    assert '"emotion-cause_pairs"' in spans.decode()


def test_int8_through_lightning_is_the_int8_predictor_output(
    checkpoint: Path, inputs: Path, audio: str, tmp_path: Path
) -> None:
    reference = _reference(
        checkpoint, inputs, tmp_path / "ref.jsonl", audio, batch_size=2, quantize="int8"
    )
    assert reference != _reference(checkpoint, inputs, tmp_path / "fp32.jsonl", audio, batch_size=2)
    output = tmp_path / "int8.jsonl"
    options = (
        f"--batch-size 2 --devices 1 --accelerator cpu --quantize int8 --features audio={audio}"
    )
    assert main(_args(checkpoint, inputs, output, options)) == 0
    assert output.read_bytes() == reference


def test_two_gloo_processes_give_the_single_process_output(
    checkpoint: Path, inputs: Path, audio: str, conversations: list[Conversation], tmp_path: Path
) -> None:
    """7 conversations (odd) in 4 batches of 2: rank 0 predicts 4, rank 1 predicts 3."""
    reference = _reference(checkpoint, inputs, tmp_path / "reference.jsonl", audio, batch_size=2)
    output = tmp_path / "out" / "ddp.jsonl"
    options = "--batch-size 2 --devices 2 --accelerator cpu --strategy ddp --keep-shards"
    log = _finish(_cli(*_args(checkpoint, inputs, output, options), "--features", f"audio={audio}"))
    assert "distributed_backend=gloo" in log and "Starting with 2 processes" in log
    assert "7 conversations predicted by 2 process(es)" in log
    assert output.read_bytes() == reference  # same predictions, same order
    merged = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["id"] for r in merged] == [c.id for c in conversations]  # once each, in order
    shard_dir = output.parent / "ddp.jsonl.shards"
    shards = [read_conversations(shard_path(shard_dir, rank, 2)) for rank in range(2)]
    assert [len(s) for s in shards] == [4, 3]
    assert {c.id for c in shards[0]}.isdisjoint(c.id for c in shards[1])


@pytest.mark.slow
def test_a_process_without_work_still_writes_its_shard(
    checkpoint: Path, audio: str, conversations: list[Conversation], tmp_path: Path
) -> None:
    """One conversation on two processes: rank 1 has no batch; SemEval output format."""
    single = tmp_path / "one.jsonl"
    write_conversations(conversations[:1], single)
    reference = _reference(
        checkpoint, single, tmp_path / "ref.json", audio, output_format="semeval"
    )
    output = tmp_path / "ddp.json"
    options = f"--format semeval --devices 2 --accelerator cpu --features audio={audio}"
    _finish(_cli(*_args(checkpoint, single, output, options), "--shard-dir", str(tmp_path / "s")))
    assert output.read_bytes() == reference
    records = json.loads(output.read_text())
    assert [r["conversation_ID"] for r in records] == [int(conversations[0].id)]
    assert not (tmp_path / "s").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_nodes_of_one_process_each(
    checkpoint: Path, inputs: Path, audio: str, tmp_path: Path
) -> None:
    """``--num-nodes 2``: the same command on each "node" (here two local processes with
    NODE_RANK 0 and 1 and one rendezvous address), shards in a directory both can see."""
    reference = _reference(checkpoint, inputs, tmp_path / "reference.jsonl", audio, batch_size=3)
    output = tmp_path / "nodes.jsonl"
    rendezvous = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}
    options = "--batch-size 3 --num-nodes 2 --devices 1 --accelerator cpu --strategy ddp"
    command = [*_args(checkpoint, inputs, output, options), "--features", f"audio={audio}"]
    nodes = [_cli(*command, env={**rendezvous, "NODE_RANK": str(rank)}) for rank in range(2)]
    logs = [_finish(node) for node in nodes]
    assert "7 conversations predicted by 2 process(es)" in logs[0]
    assert "conversations predicted" not in logs[1]  # only global rank 0 reports
    assert output.read_bytes() == reference


def test_scale_options_need_an_output_file(
    checkpoint: Path, inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["predict", "--checkpoint", str(checkpoint), str(inputs), "--devices", "2"]) == 1
    assert capsys.readouterr().err.strip() == (
        "unimeec predict: error: --output is required with --devices/--num-nodes/--strategy "
        "(the shards of the processes are merged into it)"
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without a GPU")
def test_gpu_without_gpu_is_one_line(
    checkpoint: Path, inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(checkpoint, inputs, tmp_path / "x.jsonl", "--accelerator gpu")) == 1
    assert capsys.readouterr().err.strip() == (
        "unimeec predict: error: --accelerator gpu but no CUDA GPU is available on this "
        "machine; use --accelerator cpu"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            "--strategy deepspeed",
            "--strategy 'deepspeed': expected one of auto, ddp, ddp_spawn, ddp_fork",
        ),
        ("--accelerator tpu", "--accelerator 'tpu': expected one of auto, cpu, gpu, cuda"),
    ],
)
def test_bad_scale_options_are_one_line(
    checkpoint: Path,
    inputs: Path,
    tmp_path: Path,
    options: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(_args(checkpoint, inputs, tmp_path / "x.jsonl", options)) == 1
    assert capsys.readouterr().err.strip() == f"unimeec predict: error: {message}"
    assert not list(tmp_path.iterdir())  # refused before anything was written
