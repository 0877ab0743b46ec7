"""Speed and memory benchmark of UniMEEC (text only), for both prompt scopes.

Measures, on real ECF 1.0 conversations:

- training throughput (utterances/s; forward + backward + AdamW step) and peak RSS (and
  peak CUDA memory on a GPU), each scope in a fresh process so peaks do not mix;
- the overhead ratio: a UniMEEC training step (forward, loss, backward) divided by the bare
  backbone's forward + backward on exactly the same token tensors (target: below 1.2), at
  ``--train-batch`` or, one row each, at every ``--overhead-batches`` size;
- prediction latency per conversation (p50/p95, batch 1: processor + forward + decode) and
  throughput at batch sizes 1 and 32;
- cost against conversation length (training step and prediction per conversation, for
  lengths built from consecutive real ECF utterances), saved as a PNG plot.

The model is untrained (speed does not depend on the weights). ``--compile on|both`` runs
the training and overhead measurements with THC and the heads compiled
(``UniMEECModel.compile_context``; rows named ``...-compiled``, compilation timed apart as
``compile_warmup_s``); ``both`` times eager and compiled in one process on the same batches.

    python benchmarks/speed.py --threads 2 --out benchmarks/results/speed-cpu.json
    python benchmarks/speed.py --scopes conversation --compile both --overhead-batches 8 16 32
    python benchmarks/speed.py --smoke        # CI: tiny random backbone, few steps
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import logging
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_common as bc

log = logging.getLogger("benchmarks.speed")
SCOPES = ("conversation", "utterance")
COMPILE_MODES = {"off": (False,), "on": (True,), "both": (False, True)}
#: Metric of compiled rows: graphs built during the timed part (0 = compilation kept out).
RECOMPILES = "graphs_compiled_while_timed"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scopes", nargs="+", default=list(SCOPES), choices=SCOPES)
    parser.add_argument("--data-dir", type=Path, default=bc.DEFAULT_DATA_DIR)
    parser.add_argument("--backbone", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="32", choices=["32", "bf16"])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--train-batch", type=int, default=8, help="conversations per step")
    parser.add_argument(
        "--train-steps",
        type=int,
        default=10,
        help="timed training steps (and timed steps per overhead batch size)",
    )
    parser.add_argument(
        "--overhead-batches",
        nargs="+",
        type=int,
        default=None,
        metavar="N",
        help="conversations per step at which to measure the overhead ratio, "
        "one row each (default: --train-batch only, in the training row)",
    )
    parser.add_argument(
        "--compile",
        default="off",
        choices=list(COMPILE_MODES),
        help="compile THC and the heads for the training and overhead "
        "measurements (prediction stays eager); both: eager and compiled "
        "in one process on the same batches",
    )
    parser.add_argument(
        "--latency-conversations",
        type=int,
        default=100,
        help="ECF test conversations timed one by one",
    )
    parser.add_argument(
        "--throughput-batches",
        type=int,
        default=4,
        help="batches of 32 conversations timed for throughput",
    )
    parser.add_argument("--lengths", nargs="+", type=int, default=[2, 4, 8, 16, 24, 32, 48])
    parser.add_argument("--repeats", type=int, default=3, help="timings per length (median)")
    parser.add_argument("--machine-note", default=None)
    parser.add_argument("--out", type=Path, default=bc.RESULTS_DIR / "speed.json")
    parser.add_argument(
        "--plot", type=Path, default=None, help="PNG of cost vs length (default: --out with .png)"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="measure in this process (faster start; peak RSS then covers "
        "everything measured before)",
    )
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument(
        "--replot",
        type=Path,
        default=None,
        metavar="RESULTS_JSON",
        help="only draw the PNG from the cost-vs-length row of an earlier run "
        "(e.g. one from a machine without matplotlib) next to that file",
    )
    return parser


# ---------------------------------------------------------------------- helpers
def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _reset_cuda_peak(device: str) -> None:
    """Each measurement reports its own CUDA peak, also when run in one process."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _autocast(args: argparse.Namespace) -> Any:
    import torch

    return torch.autocast(
        device_type=args.device.split(":")[0],
        dtype=torch.bfloat16,
        enabled=args.precision == "bf16",
    )


def _to_device(batch: dict[str, Any], device: str) -> dict[str, Any]:
    return {k: (v.to(device) if hasattr(v, "to") else v) for k, v in batch.items()}


def build_model(args: argparse.Namespace, scope: str, labels: tuple[str, ...]) -> tuple[Any, Any]:
    import torch

    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor

    kwargs = {"backbone": args.backbone} if args.backbone else {}
    config = UniMEECConfig(scope=scope, emotion_labels=list(labels), **kwargs)
    torch.manual_seed(0)
    model = UniMEECModel(config).to(args.device)
    processor = UniMEECProcessor.from_config(model.config)
    return model, processor


def backbone_of(model: Any) -> Any:
    """The bare encoder inside UniMEEC (the reference of the overhead ratio)."""
    for name in ("backbone", "encoder"):
        module = getattr(model, name, None)
        if module is not None:
            return module
    raise AttributeError("UniMEECModel exposes no `backbone` attribute")


def token_inputs(batch: dict[str, Any]) -> dict[str, Any]:
    """The token tensors the backbone reads (what "the same tokens" means)."""
    keys = ("input_ids", "attention_mask", "token_type_ids")
    return {k: batch[k] for k in keys if k in batch}


def peak_rss_mib() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load(args: argparse.Namespace, split: str) -> list[Any]:
    from unimeec.data import load_dataset

    return load_dataset("ecf1", split, data_dir=args.data_dir)


# ---------------------------------------------------------------------- measurements
def _batches(convs: list[Any], size: int, count: int) -> list[list[Any]]:
    """``count`` consecutive batches of ``size`` conversations (wrapping round the split)."""
    return [[convs[(k * size + i) % len(convs)] for i in range(size)] for k in range(count)]


def _compiled_graphs() -> int:
    """Graphs ``torch.compile`` built so far in this process: a rise while timing = recompile."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def measure_training(
    args: argparse.Namespace, scope: str
) -> list[tuple[str, dict[str, Any], dict[str, float]]]:
    """Throughput, peak memory and overhead ratio of one scope (run in a fresh process).

    Returns ``(row suffix, settings, metrics)`` per row: ``training`` and, with
    ``--overhead-batches``, ``overhead-bN`` (``-compiled`` appended where compiled). With
    ``--compile both`` the eager model stays alive for the shared overhead timing, so the
    compiled row's peaks also cover the eager model's weights.
    """
    import torch

    bc.set_cpu_threads(args.threads)
    train = load(args, "train")
    batches = _batches(train, args.train_batch, args.train_steps + 1)
    models: dict[bool, Any] = {}
    rows: list[tuple[str, dict[str, Any], dict[str, float]]] = []
    for compiled in COMPILE_MODES[args.compile]:
        _reset_cuda_peak(args.device)
        model, processor = build_model(args, scope, train[0].labels)
        if compiled:
            model.compile_context()
        models[compiled] = model
        metrics = measure_throughput(args, model, processor, batches, compiled)
        metrics["peak_rss_mib"] = peak_rss_mib()
        if args.device.startswith("cuda"):
            metrics["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
        rows.append(
            ("training" + ("-compiled" if compiled else ""), {"compile": compiled}, metrics)
        )
    if args.overhead_batches is None:  # the default: overhead at --train-batch, in the training row
        overhead = measure_overhead(args, models, processor, batches)
        for _, settings, metrics in rows:
            compiled = settings["compile"]
            recompiles = metrics.pop(RECOMPILES, 0) + overhead[compiled].pop(RECOMPILES, 0)
            metrics.update(overhead[compiled])
            if compiled:
                metrics[RECOMPILES] = recompiles
        return rows
    for size in args.overhead_batches:
        overhead = measure_overhead(
            args, models, processor, _batches(train, size, args.train_steps + 1)
        )
        rows += [
            (
                f"overhead-b{size}" + ("-compiled" if compiled else ""),
                {"compile": compiled, "overhead_batch_conversations": size},
                overhead[compiled],
            )
            for compiled in models
        ]
    return rows


def measure_throughput(
    args: argparse.Namespace, model: Any, processor: Any, batches: list[list[Any]], compiled: bool
) -> dict[str, float]:
    """Training steps (processor, forward, backward, AdamW) per second; batches[0] warms up.

    For a compiled model the warm-up step includes compilation: its time is reported as
    ``compile_warmup_s`` and kept out of the throughput.
    """
    import torch

    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

    def step(convs: list[Any]) -> int:
        batch = _to_device(processor(convs), args.device)
        with _autocast(args):
            out = model(**batch)
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return sum(len(c) for c in convs)

    started = time.perf_counter()
    step(batches[0])  # warm-up (allocations, lazy init, compilation)
    _sync(args.device)
    warmup_s = time.perf_counter() - started
    graphs = _compiled_graphs() if compiled else 0
    started = time.perf_counter()
    utterances = sum(step(convs) for convs in batches[1:])
    _sync(args.device)
    seconds = time.perf_counter() - started
    result = {
        "train_utterances_per_s": utterances / seconds,
        "train_step_ms": 1000 * seconds / (len(batches) - 1),
    }
    if compiled:
        result["compile_warmup_s"] = warmup_s
        result[RECOMPILES] = _compiled_graphs() - graphs
    return result


def measure_overhead(
    args: argparse.Namespace, models: dict[bool, Any], processor: Any, batches: list[list[Any]]
) -> dict[bool, dict[str, float]]:
    """Each model's forward+loss+backward vs the bare backbone's forward+backward, same tokens.

    Keyed by "compiled". batches[0] is an untimed warm-up of every variant (a compiled
    model may build graphs for a new batch size); the bare backbone is timed once and
    shared, so eager and compiled ratios have the same denominator.
    """
    first = next(iter(models.values()))
    backbone = backbone_of(first)
    prepared = [_to_device(processor(convs), args.device) for convs in batches]

    def unimeec(model: Any) -> Any:
        def run(batch: dict[str, Any]) -> None:
            with _autocast(args):
                out = model(**batch)
            out.loss.backward()

        return run

    def bare(batch: dict[str, Any]) -> None:
        with _autocast(args):
            states = backbone(**token_inputs(batch)).last_hidden_state
        states.float().mean().backward()

    def zero_grads() -> None:
        for model in models.values():
            model.zero_grad(set_to_none=True)

    variants: list[tuple[Any, Any]] = [(c, unimeec(m)) for c, m in models.items()]
    variants.append(("bare", bare))
    for model in models.values():
        model.train()
    for _, fn in variants:
        zero_grads()
        fn(prepared[0])
    _sync(args.device)
    any_compiled = True in models
    graphs = _compiled_graphs() if any_compiled else 0
    timings: dict[Any, list[float]] = {key: [] for key, _ in variants}
    for k, batch in enumerate(prepared[1:]):
        # rotate the order, so that machine noise and cache effects hit every variant alike
        shift = k % len(variants)
        for key, fn in variants[shift:] + variants[:shift]:
            zero_grads()
            _sync(args.device)
            started = time.perf_counter()
            fn(batch)
            _sync(args.device)
            timings[key].append(time.perf_counter() - started)
    zero_grads()
    recompiles = _compiled_graphs() - graphs if any_compiled else 0
    timed = prepared[1:]
    bare_s = sum(timings["bare"])
    tokens = sum(int(b["attention_mask"].sum()) for b in timed)
    results: dict[bool, dict[str, float]] = {}
    for compiled in models:
        unimeec_s = sum(timings[compiled])
        results[compiled] = {
            "overhead_ratio": unimeec_s / bare_s,
            "unimeec_fwd_bwd_ms": 1000 * unimeec_s / len(timed),
            "bare_backbone_fwd_bwd_ms": 1000 * bare_s / len(timed),
            "tokens_per_step": tokens / len(timed),
        }
        if compiled:
            results[compiled][RECOMPILES] = recompiles
    return results


def measure_prediction(args: argparse.Namespace, scope: str) -> dict[str, float]:
    """Latency per conversation at batch 1 and throughput at batch 1 and 32.

    Goes through :class:`unimeec.predict.Predictor` (saved and reloaded), i.e. what a user
    calls: parsing, processor, forward and decoding are all inside the timings.
    """
    import torch

    from unimeec.checkpoint import save_checkpoint
    from unimeec.predict import Predictor

    bc.set_cpu_threads(args.threads)
    _reset_cuda_peak(args.device)
    test = load(args, "test")
    model, processor = build_model(args, scope, test[0].labels)
    with tempfile.TemporaryDirectory(prefix="unimeec-speed-model-") as saved:
        save_checkpoint(model, processor, saved)
        del model
        predictor = Predictor.from_pretrained(saved, device=args.device)
    # gold labels stripped: a user's conversation carries none
    inputs = [c.with_predictions(emotions=[None] * len(c), pairs=[]) for c in test]

    def predict(convs: list[Any]) -> None:
        with _autocast(args):
            predictor.predict(convs, batch_size=32, progress=False)
        _sync(args.device)

    predict(inputs[:2])  # warm-up
    latencies = []
    singles = inputs[: args.latency_conversations]
    for conv in singles:
        started = time.perf_counter()
        predict([conv])
        latencies.append(time.perf_counter() - started)
    n32 = min(len(inputs), 32 * args.throughput_batches)
    started = time.perf_counter()
    for k in range(0, n32, 32):
        predict(inputs[k : k + 32])
    seconds32 = time.perf_counter() - started
    ms = sorted(1000 * t for t in latencies)
    quantiles = statistics.quantiles(ms, n=20, method="inclusive") if len(ms) > 1 else ms * 19
    result = {
        "latency_p50_ms": statistics.median(ms),
        "latency_p95_ms": quantiles[18],
        "throughput_b1_conversations_per_s": len(singles) / sum(latencies),
        "throughput_b1_utterances_per_s": sum(len(c) for c in singles) / sum(latencies),
        "throughput_b32_conversations_per_s": n32 / seconds32,
        "throughput_b32_utterances_per_s": sum(len(c) for c in inputs[:n32]) / seconds32,
        "peak_rss_mib": peak_rss_mib(),
    }
    if args.device.startswith("cuda"):
        result["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return result


def conversations_of_length(pool: list[Any], length: int) -> Any:
    """A conversation of ``length`` consecutive real utterances (crossing ECF conversations)."""
    from unimeec.data.schema import Conversation, EmotionCausePair, Utterance

    utts = [u for conv in pool for u in conv.utterances][:length]
    if len(utts) < length:
        raise ValueError(f"the pool has only {len(utts)} utterances, {length} asked")
    fresh = [Utterance(k, u.speaker, u.text, u.emotion) for k, u in enumerate(utts, 1)]
    emotional = [u.index for u in fresh if u.emotion != "neutral"]
    pairs = [EmotionCausePair(i, i, fresh[i - 1].emotion) for i in emotional]
    return Conversation(f"len{length}", fresh, pairs=pairs, dataset="ecf1")


def measure_lengths(args: argparse.Namespace, scope: str) -> list[dict[str, float]]:
    """Median training-step and prediction time of one conversation per length."""
    import torch

    bc.set_cpu_threads(args.threads)
    pool = load(args, "dev")
    model, processor = build_model(args, scope, pool[0].labels)
    rows = []
    for length in args.lengths:
        conv = conversations_of_length(pool, length)
        batch = _to_device(processor([conv]), args.device)
        train_t, pred_t = [], []
        for repeat in range(args.repeats + 1):
            model.train()
            model.zero_grad(set_to_none=True)
            _sync(args.device)
            started = time.perf_counter()
            with _autocast(args):
                out = model(**batch)
            out.loss.backward()
            _sync(args.device)
            elapsed_train = time.perf_counter() - started
            model.eval()
            with torch.inference_mode():
                started = time.perf_counter()
                with _autocast(args):
                    out = model(**batch)
                model.decode(out, batch)
                _sync(args.device)
                elapsed_pred = time.perf_counter() - started
            if repeat:  # the first round is warm-up
                train_t.append(elapsed_train)
                pred_t.append(elapsed_pred)
        rows.append(
            {
                "utterances": length,
                "tokens": int(batch["attention_mask"].sum()),
                "train_step_ms": 1000 * statistics.median(train_t),
                "predict_ms": 1000 * statistics.median(pred_t),
            }
        )
    return rows


def _isolated(function: Any, *arguments: Any) -> Any:
    """Run ``function`` in a fresh (spawned) process, so its peak RSS is its own."""
    if arguments[0].in_process:
        return function(*arguments)
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *arguments).result()


def plot_lengths(
    curves: dict[str, list[dict[str, float]]], path: Path, machine: str
) -> Path | None:
    """The PNG of cost vs length; None (with a warning) where matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        log.warning("matplotlib is not installed: no plot (the curves are in the JSON)")
        return None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for scope, rows in curves.items():
        xs = [r["utterances"] for r in rows]
        ax.plot(
            xs,
            [r["train_step_ms"] for r in rows],
            marker="o",
            label=f"{scope} scope: training step",
        )
        ax.plot(
            xs,
            [r["predict_ms"] for r in rows],
            marker="s",
            linestyle="--",
            label=f"{scope} scope: prediction",
        )
    ax.set_xlabel("utterances in the conversation")
    ax.set_ylabel("milliseconds per conversation")
    ax.set_title("UniMEEC cost vs conversation length", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.text(0.01, 0.01, machine[:110], fontsize=6, alpha=0.7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def replot(results: Path) -> Path:
    """Draw the plot of an earlier run's cost-vs-length row; record its path in the row."""
    import json

    rows = json.loads(results.read_text(encoding="utf-8"))
    row = next(r for r in rows if r["name"] == "unimeec-cost-vs-length")
    path = plot_lengths(row["curves"], results.with_suffix(".png"), row["machine"])
    if path is None:
        raise SystemExit("matplotlib is needed to draw the plot")
    row["plot"] = str(path.relative_to(bc.REPO)) if path.is_relative_to(bc.REPO) else str(path)
    bc.write_results(rows, results)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.overhead_batches is not None and min(args.overhead_batches) < 1:
        parser.error("--overhead-batches sizes must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.replot is not None:
        print(f"wrote {replot(args.replot)}")
        return 0
    command = bc.command_line(argv, "benchmarks/speed.py")
    with tempfile.TemporaryDirectory(prefix="unimeec-speed-") as tmp:
        if args.smoke:
            args.backbone = args.backbone or bc.make_tiny_backbone(Path(tmp) / "tiny")
            args.train_steps, args.train_batch = 2, 2
            # a tiny model gains nothing from threads; on shared cores their spin-waits cost
            args.threads = args.threads or 1
            args.latency_conversations, args.throughput_batches = 3, 1
            args.lengths, args.repeats = [2, 6], 1
        machine = bc.machine_description(args.machine_note)
        settings = {
            "device": args.device,
            "precision": args.precision,
            "threads": args.threads,
            "backbone": args.backbone or "offline all-MiniLM-L6-v2",
            "train_batch_conversations": args.train_batch,
            "train_steps": args.train_steps,
            "modalities": ["text"],
            "compile": False,
        }
        rows: list[dict[str, Any]] = []
        curves: dict[str, list[dict[str, float]]] = {}
        plot_path = args.plot or args.out.with_suffix(".png")
        for scope in args.scopes:
            log.info("scope %s: training (compile: %s)", scope, args.compile)
            for suffix, extra, metrics in _isolated(measure_training, args, scope):
                rows.append(
                    bc.result_record(
                        f"unimeec-{scope}-scope-{suffix}",
                        "ecf1",
                        "train",
                        metrics,
                        [0],
                        command,
                        machine,
                        settings={**settings, **extra},
                    )
                )
            bc.write_results(rows, args.out)
            log.info("scope %s: prediction", scope)
            prediction = _isolated(measure_prediction, args, scope)
            rows.append(
                bc.result_record(
                    f"unimeec-{scope}-scope-prediction",
                    "ecf1",
                    "test",
                    prediction,
                    [0],
                    command,
                    machine,
                    settings=settings,
                )
            )
            bc.write_results(rows, args.out)
            log.info("scope %s: cost vs length", scope)
            curves[scope] = _isolated(measure_lengths, args, scope)
        plotted = plot_lengths(curves, plot_path, machine)
        rows.append(
            bc.result_record(
                "unimeec-cost-vs-length",
                "ecf1",
                "dev",
                {
                    f"{scope}_{key}_at_{r['utterances']}": r[key]
                    for scope, rs in curves.items()
                    for r in rs
                    for key in ("train_step_ms", "predict_ms")
                },
                [0],
                command,
                machine,
                curves=curves,
                plot=str(plotted) if plotted is not None else None,
                settings=settings,
            )
        )
        bc.write_results(rows, args.out)
    print(f"wrote {len(rows)} rows to {args.out} and the plot to {plot_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
