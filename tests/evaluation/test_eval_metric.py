"""ConversationMetrics: the same numbers as ``evaluate``, duplicates counted once, mergeable."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from unimeec.data import write_conversations
from unimeec.data.labels import ECF_EMOTIONS
from unimeec.data.schema import Conversation
from unimeec.errors import DataFormatError
from unimeec.evaluation import ConversationMetrics, evaluate

Builder = Callable[..., Conversation]
Case = tuple[list[Conversation], list[Conversation]]
SystemFactory = Callable[..., tuple[list[Conversation], list[Conversation]]]


def _batches(items: list, size: int) -> list[list]:
    return [items[k : k + size] for k in range(0, len(items), size)]


@pytest.mark.parametrize("case", ["mecpe_case", "span_case", "synthetic"])
def test_batched_updates_equal_evaluate(case: str, request: pytest.FixtureRequest) -> None:
    gold, pred = (
        request.getfixturevalue("synthetic_system")(7, 0.6)
        if case == "synthetic"
        else request.getfixturevalue(case)
    )
    pred_by_id = {p.id: p for p in pred}
    metric = ConversationMetrics(labels=ECF_EMOTIONS)
    for golds in _batches(gold, 2):
        metric.update([pred_by_id[g.id] for g in golds if g.id in pred_by_id], golds)
    assert metric.compute() == pytest.approx(evaluate(gold, pred))
    metric.reset()
    with pytest.warns(UserWarning, match="before the ``update`` method"):
        assert metric.compute() == {}


def test_duplicated_conversations_are_counted_once(mecpe_case: Case) -> None:
    gold, pred = mecpe_case
    metric = ConversationMetrics()
    metric.update(pred, gold)
    # a DistributedSampler pads the last batch by repeating samples: the same conversations again
    metric.update(pred[:1], gold[:1])
    metric.update(pred, gold)
    assert metric.compute() == pytest.approx(evaluate(gold, pred))
    assert metric.layout is not None and metric.layout.labels == ECF_EMOTIONS


def _rank_metrics(gold: list, pred: list) -> list[ConversationMetrics]:
    """Two "processes" as a DistributedSampler splits 2k+1 samples: rank r gets r, r+2, ...,
    and the shorter rank is padded with the first sample again."""
    pred_by_id = {p.id: p for p in pred}
    ranks = [gold[0::2], gold[1::2]]
    ranks[1] = ranks[1] + [gold[0]] * (len(ranks[0]) - len(ranks[1]))
    metrics = []
    for shard in ranks:
        metric = ConversationMetrics(labels=ECF_EMOTIONS)
        for golds in _batches(shard, 3):
            metric.update([pred_by_id[g.id] for g in golds if g.id in pred_by_id], golds)
        metrics.append(metric)
    return metrics


def test_two_processes_merged_equal_one_process(synthetic_system: SystemFactory) -> None:
    gold, pred = synthetic_system(8, 0.5, n=21)
    expected = evaluate(gold, pred)
    single = ConversationMetrics(labels=ECF_EMOTIONS)
    single.update(pred, gold)
    assert single.compute() == pytest.approx(expected)

    alone, _ = _rank_metrics(gold, pred)
    assert alone.compute() != pytest.approx(expected)  # each rank sees only part of the data
    # torchmetrics' own merge of the states
    rank0, rank1 = _rank_metrics(gold, pred)
    rank0.merge_state(rank1)
    assert rank0.compute() == pytest.approx(expected)

    # what DDP sync does with "cat" states: each rank concatenates its list into one tensor,
    # the ranks' tensors are gathered, and the state becomes their concatenation (a tensor)
    rank0, rank1 = _rank_metrics(gold, pred)
    synced = ConversationMetrics(labels=ECF_EMOTIONS)
    synced.update([], [])  # an empty batch: updated, nothing added
    assert synced.count_rows == []
    for name in ("conversation_keys", "count_rows"):
        setattr(
            synced, name, torch.cat([torch.cat(getattr(rank, name)) for rank in (rank0, rank1)])
        )
    assert synced.compute() == pytest.approx(expected)


def test_states_are_int64_tensors_and_updates_validate(conv: Builder, mecpe_case: Case) -> None:
    gold, pred = mecpe_case
    metric = ConversationMetrics(labels=ECF_EMOTIONS)
    metric.update(pred, gold)
    assert metric.conversation_keys[0].dtype == torch.int64
    assert metric.count_rows[0].dtype == torch.int64
    assert metric.count_rows[0].shape == (3, metric.layout.size)
    with pytest.raises(DataFormatError, match="not in the gold data"):
        metric.update([conv("zzz", ["joy"])], gold)


@pytest.mark.filterwarnings("ignore:The ``compute`` method")
def test_mismatched_label_sets_between_processes_are_reported(conv: Builder) -> None:
    # a process that built its rows with another label set gathers rows of another width
    other = ConversationMetrics(labels=("neu", "hap"))
    other.update([], [conv("x", ["hap"], [(1, 1)], dataset="iemocap")])
    ecf = ConversationMetrics(labels=ECF_EMOTIONS)
    ecf.conversation_keys = other.conversation_keys
    ecf.count_rows = other.count_rows
    with pytest.raises(DataFormatError, match="pass the same labels= to ConversationMetrics"):
        ecf.compute()


_DDP_WORKER = """
import json, os, sys
import torch.distributed as dist
import torch.multiprocessing as mp


def work(rank, world, folder, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    from unimeec.data import read_conversations
    from unimeec.data.labels import ECF_EMOTIONS
    from unimeec.evaluation import ConversationMetrics

    gold = read_conversations(os.path.join(folder, "gold.jsonl"))
    pred = {p.id: p for p in read_conversations(os.path.join(folder, "pred.jsonl"))}
    # what torch's DistributedSampler (shuffle=False) hands each rank: pad with the first
    # indices to a multiple of the world size, then take every world-th index
    indices = list(range(len(gold)))
    indices += indices[:(-len(gold)) % world]
    shard = [gold[k] for k in indices[rank::world]]
    metric = ConversationMetrics(labels=ECF_EMOTIONS)
    for start in range(0, len(shard), 4):
        batch = shard[start:start + 4]
        metric.update([pred[g.id] for g in batch if g.id in pred], batch)
    with open(os.path.join(folder, f"rank{rank}.json"), "w") as out:
        json.dump(metric.compute(), out)
    dist.destroy_process_group()


if __name__ == "__main__":
    mp.spawn(work, args=(2, sys.argv[1], int(sys.argv[2])), nprocs=2)
"""


@pytest.mark.slow
def test_real_two_process_ddp_counts_padded_conversations_once(
    tmp_path: Path, synthetic_system: SystemFactory
) -> None:
    gold, pred = synthetic_system(9, 0.5, n=21)  # 21 conversations: rank 1 gets one padded
    write_conversations(gold, tmp_path / "gold.jsonl")
    write_conversations(pred[:-1], tmp_path / "pred.jsonl")  # one conversation unpredicted
    script = tmp_path / "worker.py"
    script.write_text(_DDP_WORKER)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path), str(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    expected = evaluate(gold, pred[:-1])
    for rank in (0, 1):
        result = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert result == pytest.approx(expected, abs=1e-12)
