"""Does a way of choosing the neutral bias help on dev conversations it was not tuned on?

``decoding.tune_neutral_bias`` chooses a neutral-logit offset together with the cause
threshold on dev. Such choices are decided here, **on dev only**: each trained model's dev
conversations are split in two halves (even and odd positions in the dev file); on one half
two decodings are tuned, both are scored on the other half, then the halves swap. One row
per model and fold, plus their mean: the held-out change of emotion weighted F1, pair F1 and
joint F1 from the first decoding (``before``) to the second (``after``). ``--variant``:

* ``bias``: tau alone on pair F1 (``unimeec.training.run.pick_threshold``) -> bias and tau
  together on ``joint_f1`` (``pick_decoding``), as ``decoding.tune_neutral_bias`` does;
* ``split``: that shared bias -> two biases, one for the emotion labels chosen on emotion
  weighted F1 and one (with tau) for gating the pairs chosen on pair F1 (a what-if: the
  library decodes with one bias);
* ``prior``: that shared bias -> the same minus ``logit(p_tune) - logit(p_train)``, where
  ``p`` is the neutral share of the tuning half and of the training split: does the tuned
  bias carry the small dev sample's label prior, which a training-prior decoding should drop?

An emotion-only model (e.g. MELD) has no tau: its bias is chosen on emotion weighted F1
(``--variant bias`` only), as ``decoding.tune_neutral_bias`` does for emotion runs.

The test split is never read.

    python benchmarks/neutral_bias_cv.py runs/a runs/b --out benchmarks/results/neutral-bias-cv.json
    python benchmarks/neutral_bias_cv.py runs/a --variant split --out benchmarks/results/split-bias-cv.json
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
from pathlib import Path
from typing import Any

import bench_common as bc

log = logging.getLogger("benchmarks.neutral_bias_cv")
METRICS = ("merc_weighted_f1", "mecpe_pair_f1", "joint_f1")
VARIANTS = ("bias", "split", "prior")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "runs", type=Path, nargs="+", help="trained runs: joint (ECF 1.0) or emotion-only (MELD)"
    )
    parser.add_argument("--data-dir", type=Path, default=bc.DEFAULT_DATA_DIR)
    parser.add_argument("--dataset", default="ecf1")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None, help="first N dev conversations")
    parser.add_argument("--variant", choices=VARIANTS, default="bias", help="what is compared")
    parser.add_argument("--machine-note", default=None)
    parser.add_argument("--out", type=Path, default=bc.RESULTS_DIR / "neutral-bias-cv.json")
    return parser


def forward_once(model: Any, processor: Any, conversations: list[Any]) -> list[tuple[Any, Any]]:
    """(output, batch) per batch of single conversations, so any subset can be decoded."""
    import torch

    outputs = []
    with torch.inference_mode():
        for conversation in conversations:
            batch = processor([conversation])
            outputs.append((model(**batch), batch))
    return outputs


def score(
    model: Any,
    outputs: list[tuple[Any, Any]],
    positions: list[int],
    bias: float,
    tau: float,
    pair_bias: float | None = None,
) -> dict[str, float]:
    """Metrics of ``positions``; ``pair_bias`` (default ``bias``) decodes the pairs."""
    from unimeec.evaluation import evaluate

    gold, pred = [], []
    for k in positions:
        out, batch = outputs[k]
        gold += batch["conversations"]
        labelled = model.decode(out, batch, threshold=tau, neutral_bias=bias)
        if pair_bias is not None and pair_bias != bias:
            paired = model.decode(out, batch, threshold=tau, neutral_bias=pair_bias)
            labelled = [c.with_predictions(pairs=p.pairs) for c, p in zip(labelled, paired)]
        pred += labelled
    return evaluate(gold, pred)


def neutral_share(conversations: list[Any]) -> float:
    """Share of the labelled utterances whose gold emotion is neutral."""
    from unimeec.data import SplitStats

    stats = SplitStats(None, None)
    for conversation in conversations:
        stats.add(conversation)
    return 1 - stats.emotion_utterances / stats.labelled_utterances


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def main(argv: list[str] | None = None) -> int:
    from unimeec.checkpoint import load_model_and_processor
    from unimeec.data import load_dataset
    from unimeec.training.config import DecodingConfig
    from unimeec.training.run import pick_decoding, pick_threshold

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    bc.set_cpu_threads(args.threads)
    grid = DecodingConfig()
    taus, biases = grid.threshold_grid, grid.neutral_bias_grid
    dev = load_dataset(args.dataset, "dev", data_dir=args.data_dir)[: args.limit]
    if args.variant == "prior":
        train_share = neutral_share(load_dataset(args.dataset, "train", data_dir=args.data_dir))
    halves = [list(range(0, len(dev), 2)), list(range(1, len(dev), 2))]
    machine = bc.machine_description(args.machine_note)
    prefix = {"bias": "neutral-bias-cv", "split": "split-bias-cv", "prior": "prior-bias-cv"}[
        args.variant
    ]
    rows: list[dict[str, Any]] = []
    deltas: dict[str, list[float]] = {m: [] for m in METRICS}
    for run in args.runs:
        model, processor = load_model_and_processor(run)
        model.eval()
        outputs = forward_once(model, processor, dev)
        # an emotion-only model (MELD): no tau, the bias is chosen on emotion weighted F1
        emotion_only = model.config.tasks == "emotion"
        if emotion_only and args.variant != "bias":
            raise SystemExit(f"{run}: --variant {args.variant} needs a joint model")
        run_taus = [0.5] if emotion_only else taus
        target = "merc_weighted_f1" if emotion_only else "joint_f1"
        for fold, (tune, held) in enumerate((halves, halves[::-1])):
            log.info("%s fold %d: tuning on %d dev conversations", run, fold, len(tune))
            table = {(b, t): score(model, outputs, tune, b, t) for b in biases for t in run_taus}
            tau_only = (
                0.5
                if emotion_only
                else pick_threshold({t: table[(0.0, t)]["mecpe_pair_f1"] for t in taus}, taus)
            )
            bias, tau = pick_decoding({c: m[target] for c, m in table.items()})
            chosen: dict[str, float] = {"neutral_bias": bias, "cause_threshold": tau}
            if args.variant == "bias":
                before = score(model, outputs, held, 0.0, tau_only)
                after = score(model, outputs, held, bias, tau)
            else:
                before = score(model, outputs, held, bias, tau)
            if args.variant == "split":
                emotion_scores = {(b, 0.5): table[(b, taus[0])]["merc_weighted_f1"] for b in biases}
                emotion_bias = pick_decoding(emotion_scores)[0]
                pair_bias, pair_tau = pick_decoding(
                    {c: m["mecpe_pair_f1"] for c, m in table.items()}
                )
                after = score(model, outputs, held, emotion_bias, pair_tau, pair_bias)
                chosen.update(
                    emotion_bias=emotion_bias, pair_bias=pair_bias, pair_threshold=pair_tau
                )
            elif args.variant == "prior":
                tune_share = neutral_share([dev[k] for k in tune])
                corrected = bias - (logit(tune_share) - logit(train_share))
                after = score(model, outputs, held, corrected, tau)
                chosen.update(
                    corrected_bias=corrected,
                    tune_neutral_share=tune_share,
                    train_neutral_share=train_share,
                )
            present = [m for m in METRICS if m in before]
            change = {f"delta_{m}": after[m] - before[m] for m in present}
            for m in present:
                deltas[m].append(change[f"delta_{m}"])
            rows.append(
                bc.result_record(
                    f"{prefix}-{Path(run).name}-fold{fold}",
                    args.dataset,
                    "dev",
                    {**change, **{f"held_out_{m}_before": before[m] for m in present}},
                    [],
                    bc.command_line(argv),
                    machine,
                    run=str(run),
                    chosen=chosen,
                    variant=args.variant,
                    threshold_alone=tau_only,
                    tuned_on=len(tune),
                    held_out=len(held),
                )
            )
    deltas = {m: v for m, v in deltas.items() if v}
    summary = {f"delta_{m}": statistics.fmean(v) for m, v in deltas.items()}
    summary.update({f"delta_{m}_min": min(v) for m, v in deltas.items()})
    rows.append(
        bc.result_record(
            f"{prefix}-mean",
            args.dataset,
            "dev",
            summary,
            [],
            bc.command_line(argv),
            machine,
            folds=len(next(iter(deltas.values()))),
            variant=args.variant,
        )
    )
    path = bc.write_results(rows, args.out)
    for row in rows:
        shown = {k: round(100 * v, 2) for k, v in row["metrics"].items() if k.startswith("delta")}
        print(row["name"], row.get("chosen", ""), shown)
    print(f"wrote {len(rows)} rows to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
