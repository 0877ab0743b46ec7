"""Do the emotion and the cause loss pull the shared encoder the same way?

Issue 16 asks *why* the cause loss does not help emotions. A joint loss helps one task
through the other only where both gradients reach shared weights; this measures, on real
ECF 1.0 training batches, the gradient of each loss alone with respect to every parameter
group and reports, per group:

- ``cosine``: cosine similarity of the emotion-loss and cause-loss gradients (mean over
  batches; > 0 the tasks agree, < 0 they conflict, ~0 they are unrelated);
- ``conflict_share``: the fraction of batches with a negative cosine;
- ``cause_to_emotion_norm``: ||grad cause|| / ||grad emotion|| (mean over batches): how much
  of the shared update the cause loss contributes at ``cause_loss_weight`` 1.

Groups: ``backbone`` (the pre-trained encoder, shared by both prompts), ``context`` (THC,
shared) and ``all shared`` (both). Measured for the untrained model (the start of training)
and, with ``--checkpoint``, for trained models (the end of training; rows
``gradient-conflict-trained-<directory name>``).

    python benchmarks/gradient_conflict.py --checkpoint runs/ecf1-joint --batches 24 \\
        --out benchmarks/results/gradient-conflict-cpu.json
    python benchmarks/gradient_conflict.py --smoke
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
from pathlib import Path
from typing import Any

import bench_common as bc

log = logging.getLogger("benchmarks.gradient_conflict")

#: Parameter groups: name -> predicate on the parameter's name.
GROUPS = {
    "backbone": lambda name: name.startswith("backbone."),
    "context": lambda name: name.startswith("context."),
    "all-shared": lambda name: name.startswith(("backbone.", "context.")),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint",
        type=Path,
        nargs="*",
        default=[],
        help="trained run or model directories (each gives a 'trained' row)",
    )
    parser.add_argument("--data-dir", type=Path, default=bc.DEFAULT_DATA_DIR)
    parser.add_argument("--backbone", default=None, help="backbone of the untrained model")
    parser.add_argument("--batches", type=int, default=24, help="training batches measured")
    parser.add_argument("--batch-size", type=int, default=4, help="conversations per batch")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--machine-note", default=None)
    parser.add_argument("--out", type=Path, default=bc.RESULTS_DIR / "gradient-conflict.json")
    parser.add_argument("--smoke", action="store_true")
    return parser


def _flat(grads: dict[str, Any], group: str) -> Any:
    import torch

    parts = [g.reshape(-1) for name, g in grads.items() if GROUPS[group](name)]
    return torch.cat(parts) if parts else torch.zeros(1)


def loss_gradients(model: Any, batch: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Gradients of the emotion loss and of the cause loss alone (train mode, dropout on)."""
    import torch

    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params = [p for p in model.parameters() if p.requires_grad]
    out = model(**batch)
    if out.emotion_loss is None or out.cause_loss is None:
        raise SystemExit("the model must train both tasks (task: joint)")
    emotion = torch.autograd.grad(out.emotion_loss, params, retain_graph=True, allow_unused=True)
    cause = torch.autograd.grad(out.cause_loss, params, allow_unused=True)

    def named(grads: tuple[Any, ...]) -> dict[str, Any]:
        return {
            n: (g if g is not None else torch.zeros_like(p)).detach()
            for n, p, g in zip(names, params, grads)
        }

    return named(emotion), named(cause)


def measure(model: Any, processor: Any, batches: list[list[Any]]) -> dict[str, float]:
    import torch

    model.train()
    per_group: dict[str, dict[str, list[float]]] = {g: {"cosine": [], "ratio": []} for g in GROUPS}
    for conversations in batches:
        emotion, cause = loss_gradients(model, processor(conversations))
        for group, values in per_group.items():
            e, c = _flat(emotion, group), _flat(cause, group)
            values["cosine"].append(float(torch.nn.functional.cosine_similarity(e, c, dim=0)))
            values["ratio"].append(float(c.norm() / e.norm().clamp_min(1e-12)))
    metrics: dict[str, float] = {}
    for group, values in per_group.items():
        cosines = values["cosine"]
        metrics[f"{group}_cosine"] = statistics.fmean(cosines)
        metrics[f"{group}_cosine_std"] = statistics.stdev(cosines) if len(cosines) > 1 else 0.0
        metrics[f"{group}_conflict_share"] = sum(c < 0 for c in cosines) / len(cosines)
        metrics[f"{group}_cause_to_emotion_norm"] = statistics.fmean(values["ratio"])
    return metrics


def main(argv: list[str] | None = None) -> int:
    import random

    import torch

    from unimeec.checkpoint import load_model_and_processor
    from unimeec.data import load_dataset
    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    bc.set_cpu_threads(args.threads)
    train = load_dataset("ecf1", "train", data_dir=args.data_dir)
    if args.smoke:
        args.batches, args.batch_size = 2, 2
        args.backbone = bc.make_tiny_backbone(tempfile.mkdtemp(prefix="unimeec-gc-"))
    rng = random.Random(args.seed)
    order = rng.sample(range(len(train)), args.batches * args.batch_size)
    batches = [
        [train[i] for i in order[k : k + args.batch_size]]
        for k in range(0, len(order), args.batch_size)
    ]
    models: list[tuple[str, str | None, Any, Any]] = []
    torch.manual_seed(args.seed)
    kwargs = {"backbone": args.backbone} if args.backbone else {}
    model = UniMEECModel(UniMEECConfig(emotion_labels=list(train[0].labels), **kwargs))
    models.append(("untrained", None, model, UniMEECProcessor.from_config(model.config)))
    for checkpoint in args.checkpoint:
        model, processor = load_model_and_processor(checkpoint)
        models.append((f"trained-{Path(checkpoint).name}", str(checkpoint), model, processor))
    machine = bc.machine_description(args.machine_note)
    rows = []
    for state, checkpoint, model, processor in models:
        log.info("measuring %s model %s on %d batches", state, checkpoint or "", len(batches))
        metrics = measure(model, processor, batches)
        rows.append(
            bc.result_record(
                f"gradient-conflict-{state}",
                "ecf1",
                "train",
                metrics,
                [args.seed],
                bc.command_line(argv),
                machine,
                checkpoint=checkpoint,
                batches=len(batches),
                batch_conversations=args.batch_size,
                cause_loss_weight=float(model.config.cause_loss_weight),
            )
        )
    path = bc.write_results(rows, args.out)
    print(f"wrote {len(rows)} rows to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
