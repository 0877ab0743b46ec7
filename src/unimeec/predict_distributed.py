"""``unimeec predict`` on several devices or nodes: Lightning's ``Trainer.predict`` with DDP.

Why a module of its own, beside :mod:`unimeec.predict` and outside ``unimeec.training``:
inference never depends on training code, yet prediction at scale should run on the engine
training runs on, with the same options (``devices``, ``num_nodes``, ``strategy``) and the
same cluster launchers (Lightning's own, ``torchrun``, SLURM). Everything that decides a
prediction comes from :class:`~unimeec.predict.Predictor` (loading, input parsing, label
space, feature stores) and its batching plan (:func:`~unimeec.predict.length_batches`), so
the one-process and the many-process paths cannot drift apart.

What it guarantees, and how:

- **Every conversation exactly once.** The single-process batches are dealt to the ranks
  round-robin (batch ``k`` to rank ``k mod W``), without padding: no rank repeats a
  conversation to even out the counts, as ``DistributedSampler`` does. Ranks run unequal
  numbers of batches; prediction has no collective per step, so none waits for another.
- **The same predictions as one process.** Every conversation is predicted in the same
  batch (same batch-mates, same padding) as :meth:`Predictor.predict` would use.
- **Input order.** Each rank writes its predictions as a shard (our JSONL, in input
  order) under the shard directory; after a barrier, global rank 0 merges the shards into
  the output, checking every shard's count and every conversation id against the input at
  its position, then deletes the shards (unless asked to keep them). The shard directory
  must be visible to rank 0: on several nodes, put it on a shared filesystem.

Shard layout (``OUTPUT.shards`` unless ``shard_dir`` is given)::

    predictions.jsonl.shards/
      rank-00000-of-00002.jsonl     batches 0, 2, 4, ... of the plan, in input order
      rank-00001-of-00002.jsonl     batches 1, 3, 5, ...
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, TQDMProgressBar
from torch.utils.data import DataLoader

from unimeec.data.io import read_conversations, write_conversations
from unimeec.data.schema import Conversation
from unimeec.errors import ConfigError, DataFormatError
from unimeec.outputs import prepare_output
from unimeec.predict import OUTPUT_FORMATS, Predictor, length_batches, write_predictions

log = logging.getLogger(__name__)

#: Suffix of the default shard directory, beside the output file.
SHARD_DIR_SUFFIX = ".shards"
#: Strategies that split the work into processes without sharding the model.
STRATEGIES = ("auto", "ddp", "ddp_spawn", "ddp_fork")
_ACCELERATORS = ("auto", "cpu", "gpu", "cuda")


# ---------------------------------------------------------------------- the plan
def shard_plan(lengths: Sequence[int], batch_size: int, world_size: int) -> list[list[list[int]]]:
    """Per rank, its batches of input positions: the one-process plan dealt round-robin."""
    batches = length_batches(lengths, batch_size)
    return [batches[rank::world_size] for rank in range(world_size)]


def shard_path(shard_dir: str | Path, rank: int, world_size: int) -> Path:
    """The shard file of global ``rank`` among ``world_size`` processes."""
    return Path(shard_dir) / f"rank-{rank:05d}-of-{world_size:05d}.jsonl"


def merge_shards(
    conversations: Sequence[Conversation],
    shard_dir: str | Path,
    *,
    batch_size: int,
    world_size: int,
) -> list[Conversation]:
    """The predictions of all shards in input order; a missing, short or foreign shard is a
    one-line :class:`DataFormatError` naming the file (so a failed rank is never merged)."""
    merged: list[Conversation | None] = [None] * len(conversations)
    plan = shard_plan([len(c) for c in conversations], batch_size, world_size)
    for rank, batches in enumerate(plan):
        path = shard_path(shard_dir, rank, world_size)
        if not path.is_file():
            raise DataFormatError(
                "shard not found; with several nodes the shard directory "
                "must be on a filesystem that every node shares",
                path=path,
            )
        positions = sorted(p for batch in batches for p in batch)
        # an empty shard (a rank without batches) is valid here, unlike an empty input file
        predictions = read_conversations(path, format="jsonl") if path.stat().st_size else []
        if len(predictions) != len(positions):
            raise DataFormatError(
                f"shard holds {len(predictions)} conversations, expected "
                f"{len(positions)} (did rank {rank} fail?)",
                path=path,
            )
        for line, (position, prediction) in enumerate(zip(positions, predictions), start=1):
            expected = conversations[position].id
            if prediction.id != expected:
                raise DataFormatError(
                    f"conversation {prediction.id!r} where the input has "
                    f"{expected!r} (a shard of another run?)",
                    path=path,
                    line=line,
                )
            merged[position] = prediction
    assert all(p is not None for p in merged), "the plan covers every position"
    return [p for p in merged if p is not None]


# ---------------------------------------------------------------------- Lightning parts
class _Collate:
    """Positions -> (positions, model tensors). The conversations stay out of the batch:
    Lightning moves batches to the device by recursing into them, which frozen dataclasses
    refuse; :meth:`ShardedPredictionModule.predict_step` puts them back."""

    def __init__(
        self,
        conversations: Sequence[Conversation],
        processor: Any,
        features: Mapping[str, Any] | None,
    ) -> None:
        self.conversations = conversations
        self.processor = processor
        self.features = features

    def __call__(self, positions: list[int]) -> tuple[list[int], dict[str, torch.Tensor]]:
        batch = self.processor([self.conversations[i] for i in positions], features=self.features)
        batch.pop("conversations")
        return positions, batch


class ShardedPredictionModule(L.LightningModule):
    """Predicts this rank's share of ``conversations``; each step returns (position, prediction)
    pairs. The data loader lives here because its content depends on the rank."""

    def __init__(
        self,
        predictor: Predictor,
        conversations: Sequence[Conversation],
        features: Mapping[str, Any] | None,
        *,
        batch_size: int,
        threshold: float | None,
        neutral_bias: float | None = None,
    ) -> None:
        super().__init__()
        self.model = predictor.model
        self.processor = predictor.processor
        self.conversations = list(conversations)
        self.features = features
        self.batch_size = batch_size
        self.threshold = threshold
        self.neutral_bias = neutral_bias
        # fewer batches than processes leaves some ranks without work, which is fine here
        self.allow_zero_length_dataloader_with_multiple_devices = True

    def predict_dataloader(self) -> DataLoader:
        plan = shard_plan(
            [len(c) for c in self.conversations], self.batch_size, self.trainer.world_size
        )
        # batch_size=None: each item is already a batch (a list of positions)
        return DataLoader(
            plan[self.trainer.global_rank],
            batch_size=None,  # type: ignore[arg-type]
            collate_fn=_Collate(self.conversations, self.processor, self.features),
        )

    def predict_step(
        self, batch: tuple[list[int], dict[str, torch.Tensor]], batch_idx: int
    ) -> list[tuple[int, Conversation]]:
        positions, tensors = batch
        inputs: dict[str, Any] = {
            **tensors,
            "conversations": [self.conversations[i] for i in positions],
        }
        out = self.model(**inputs)
        return list(
            zip(
                positions,
                self.model.decode(
                    out, inputs, threshold=self.threshold, neutral_bias=self.neutral_bias
                ),
            )
        )


class ShardWriter(Callback):
    """Writes this rank's shard, waits for every rank, and lets global rank 0 merge.

    In ``teardown`` rather than ``on_predict_end``: Lightning skips the predict loop, and
    its hooks, on a rank with no batches (fewer batches than processes), and that rank must
    still write its empty shard and reach the barrier.
    """

    def __init__(
        self,
        conversations: Sequence[Conversation],
        output: Path,
        shard_dir: Path,
        *,
        output_format: str,
        batch_size: int,
        keep_shards: bool,
    ) -> None:
        self.conversations = conversations
        self.output = output
        self.shard_dir = shard_dir
        self.output_format = output_format
        self.batch_size = batch_size
        self.keep_shards = keep_shards
        self._results: list[tuple[int, Conversation]] = []

    def on_predict_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._results.extend(outputs)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "predict":
            return
        world = trainer.world_size
        self.shard_dir.mkdir(parents=True, exist_ok=True)
        ordered = sorted(self._results, key=lambda item: item[0])
        write_conversations(
            [c for _, c in ordered], shard_path(self.shard_dir, trainer.global_rank, world)
        )
        self._results = []
        trainer.strategy.barrier("unimeec-predict-shards")
        if not trainer.is_global_zero:
            return
        merged = merge_shards(
            self.conversations, self.shard_dir, batch_size=self.batch_size, world_size=world
        )
        write_predictions(merged, self.output, self.output_format)
        log.info("%d shards merged into %s (%d conversations)", world, self.output, len(merged))
        if not self.keep_shards:
            for rank in range(world):
                shard_path(self.shard_dir, rank, world).unlink()
            if not any(self.shard_dir.iterdir()):
                self.shard_dir.rmdir()


# ---------------------------------------------------------------------- entry point
@dataclass
class DistributedPrediction:
    """What :func:`predict_file_distributed` did, as seen by this process."""

    output: Path
    conversations: int
    world_size: int
    #: False in the extra processes of a multi-process run, which should stay quiet
    primary: bool


def _devices(devices: int | str) -> int | str:
    text = str(devices)
    return int(text) if text.isdigit() else text


def check_hardware(accelerator: str, devices: int | str) -> None:
    """One-line :class:`ConfigError` for hardware this machine lacks (before Lightning's
    multi-line errors from deep inside its connectors)."""
    if accelerator not in _ACCELERATORS:
        raise ConfigError(
            f"--accelerator {accelerator!r}: expected one of {', '.join(_ACCELERATORS)}"
        )
    if accelerator in ("gpu", "cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"--accelerator {accelerator} but no CUDA GPU is available on "
                "this machine; use --accelerator cpu"
            )
        if isinstance(devices, int) and devices > torch.cuda.device_count():
            raise ConfigError(
                f"--devices {devices} but this machine has {torch.cuda.device_count()} GPU(s)"
            )


def predict_file_distributed(
    checkpoint: str | Path,
    input_path: str | Path,
    output: str | Path,
    *,
    output_format: str = "jsonl",
    features: Mapping[str, Any] | None = None,
    batch_size: int = 16,
    threshold: float | None = None,
    neutral_bias: float | None = None,
    accelerator: str = "auto",
    devices: int | str = "auto",
    num_nodes: int = 1,
    strategy: str = "auto",
    shard_dir: str | Path | None = None,
    keep_shards: bool = False,
    progress: bool = True,
    input_format: str | None = None,
    quantize: str = "none",
) -> DistributedPrediction:
    """Predict every conversation of a file with ``Trainer.predict`` on ``devices`` x
    ``num_nodes`` processes; write ``output`` (one file, in input order) from global rank 0.

    Every process runs this function (Lightning's launcher, ``torchrun`` or SLURM start
    them); each reads the input, predicts its share and writes its shard.
    """
    if output_format not in OUTPUT_FORMATS:
        raise DataFormatError(
            f"unknown output format {output_format!r}; use one of {', '.join(OUTPUT_FORMATS)}",
            field="format",
        )
    if strategy not in STRATEGIES:
        raise ConfigError(f"--strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    if batch_size < 1 or num_nodes < 1:
        raise ConfigError("--batch-size and --num-nodes must be at least 1")
    devices = _devices(devices)
    check_hardware(accelerator, devices)
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if quantize == "int8" and on_gpu:  # Lightning would move the int8 CPU kernels to the GPU
        raise ConfigError("--quantize int8 runs on the CPU only; add --accelerator cpu")
    output = prepare_output(output)  # a bad output path fails before the model runs
    shards = (
        Path(shard_dir)
        if shard_dir is not None
        else output.with_name(output.name + SHARD_DIR_SUFFIX)
    )
    # loaded on the CPU: Lightning moves it to this rank's device (no copy on cuda:0 per rank)
    predictor = Predictor.from_pretrained(
        checkpoint, device="cpu", batch_size=batch_size, quantize=quantize
    )
    inputs = read_conversations(input_path, format=input_format)
    conversations, _, lookups = predictor.prepare(inputs, features)
    writer = ShardWriter(
        conversations,
        output,
        shards,
        output_format=output_format,
        batch_size=batch_size,
        keep_shards=keep_shards,
    )
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision="32-true",
        logger=False,
        callbacks=[writer, *([TQDMProgressBar()] if progress else [])],
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress,
        use_distributed_sampler=False,  # the plan splits without padding
        default_root_dir=str(shards),
    )
    module = ShardedPredictionModule(
        predictor,
        conversations,
        lookups,
        batch_size=batch_size,
        threshold=threshold,
        neutral_bias=neutral_bias,
    )
    trainer.predict(module, return_predictions=False)
    return DistributedPrediction(
        output=output,
        conversations=len(conversations),
        world_size=trainer.world_size,
        primary=trainer.is_global_zero,
    )
