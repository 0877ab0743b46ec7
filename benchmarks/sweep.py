"""Dev-selected tuning, seeds, baselines and ablations as parallel jobs on one GPU.

Why parallel: with a 6-layer backbone a training step is a few thousand small kernels, so
one run keeps an H200 mostly idle (kernel launches, not arithmetic, set its speed). Running
several benchmark processes side by side on the same GPU fills it; the device time of a
lent machine is short, so that is what makes seeds and ablations fit.

What runs (every job is an ordinary ``quality.py`` / ``ablations.py`` command with one
seed, so each row can be re-run alone; the driver only schedules and merges):

1. **tuning** on ECF 1.0, seed 0: the experiment file's configuration (``default``) and
   one change per variant of :data:`TUNING`; each is dev-selected as usual;
2. **selection**: the variant with the best *dev* ``joint_f1`` (mean of dev emotion
   weighted F1 and dev pair F1) is chosen; test numbers play no part;
3. the chosen configuration with more seeds on ECF 1.0, and on MELD and RECCON-DD;
4. the baselines (context classifier, rule) per seed on ECF 1.0 and MELD;
5. the ablations of METHOD.md section 6, each against ``default`` (same epochs, seed 0);
6. ``--claims``: the paper's claim variants (emotion-only, cause-only, THC off) with every
   seed on top of the *chosen* configuration, named as issue 16's rows.

``--tune-dataset meld --datasets meld`` tunes on another set (an emotion-only or cause-only
set is chosen by its one dev F1). With a single ``--tuning`` variant there is nothing to
choose, so every job starts at once.

Jobs start in priority order while ``--budget-s`` lasts; one still running at the end is
stopped and leaves no row. At the end rows of the same system and dataset from different
seeds are merged (mean, sample standard deviation, each seed kept) into ``results.json``;
``selection.json`` holds the dev table of the tuning, ``summary.json`` every job's command,
exit status and duration, ``jobs.tar.gz`` the job logs and raw rows.

    python benchmarks/sweep.py --carry .gpu_carry --out OUT --budget-s 380 --workers 8
    python benchmarks/sweep.py --smoke --device cpu --workers 2 --out /tmp/sweep-smoke
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench_common as bc
from ablations import VARIANTS

from unimeec.evaluation.formulas import joint_f1

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

#: Tuning variants: the experiment file's configuration plus one change each.
TUNING: dict[str, list[str]] = {
    "default": [],
    "lr-backbone-5e-5": ["optim.lr_backbone=5e-5"],
    "lr-backbone-2e-4": ["optim.lr_backbone=2e-4"],
    "lr-head-3e-4": ["optim.lr_head=3e-4"],
    "thc-feed-forward": ["model.thc_feed_forward=true"],
    "cause-weight-0.5": ["model.cause_loss_weight=0.5"],
    "batch-4": ["data.batch_size=4"],
    "lr-head-1e-4": ["optim.lr_head=1e-4"],
    "epochs-8": ["trainer.max_epochs=8"],
    "thc-layers-2": ["model.thc_layers=2"],
    "dropout-0.2": ["model.dropout=0.2"],
    "utterance-scope": ["model.scope=utterance"],
    "no-ema": ["trainer.ema_decay=null"],  # the ECF 1.0 config averages from half-way
    "ema-0.995": ["trainer.ema_decay=0.995"],
    "cause-weight-0.3": ["model.cause_loss_weight=0.3"],
    "uncertainty": ["model.loss_balancing=uncertainty"],
    "pcgrad": ["optim.gradient_projection=pcgrad"],
    "fixed-loss": ["model.loss_balancing=fixed"],
    "cause-reads-emotion": ["model.cause_reads_emotion=true"],
    "cause-layers-1": ["model.cause_layers=1"],
    # MELD's config predates the ECF rounds 3-11: their recipe, whole and in parts
    "ecf-recipe": [
        "optim.lr_backbone=1e-4",
        "trainer.ema_decay=0.99",
        "trainer.ema_start=0.5",
        "decoding.tune_neutral_bias=true",
    ],
    "ema-half": ["trainer.ema_decay=0.99", "trainer.ema_start=0.5"],
    "neutral-bias": ["decoding.tune_neutral_bias=true"],
    "lr-backbone-1e-4": ["optim.lr_backbone=1e-4"],
}
#: The variants of a first round (``--tuning`` picks others for a second one).
FIRST_ROUND = (
    "default",
    "lr-backbone-5e-5",
    "lr-backbone-2e-4",
    "lr-head-3e-4",
    "thc-feed-forward",
    "cause-weight-0.5",
    "batch-4",
)
#: A third round (after rounds 1-2 chose lr_head 3e-4 and the utterance scope):
#: ``--base optim.lr_head=3e-4 model.scope=utterance --tuning default no-ema ...``.
THIRD_ROUND = (
    "default",
    "no-ema",
    "ema-0.995",
    "cause-weight-0.3",
    "dropout-0.2",
    "uncertainty",
    "pcgrad",
)
#: A fourth round, on the main job's configuration as it stands after the CPU rounds 3-11
#: (learned loss weights, weight average, neutral bias; ``configs/ecf1_joint.yaml``):
#: ``--tuning default utterance-scope lr-head-3e-4 ...`` with no ``--base``.
FOURTH_ROUND = (
    "default",
    "utterance-scope",
    "lr-head-3e-4",
    "lr-backbone-5e-5",
    "fixed-loss",
    "cause-reads-emotion",
    "cause-layers-1",
)
#: Ablations run against ``default`` (its row is the reference, ``unimeec-full``).
ABLATIONS = (
    "utterance-scope",
    "no-thc",
    "mask-readout",
    "emotion-only",
    "cause-only",
    "random-head",
)
#: The paper's claims, each a ``quality.py`` job per seed with the chosen configuration
#: (overrides from ``ablations.VARIANTS``), named as the issue's rows so that ``unimeec`` is
#: their reference: emotion-only, cause-only (with its gold-emotion twin) and THC off.
CLAIMS = ("emotion-only", "cause-only", "no-thc")
TUNE_PREFIX = "unimeec-tune-"
#: Datasets that get the chosen configuration with every seed (the tuning set: the rest).
DATASETS = ("ecf1", "meld", "reccon")
#: Start order of a dataset's chosen-configuration jobs: (first seed, other seeds).
SEED_PRIORITY = {"meld": (2, 5), "reccon": (5, 6)}


@dataclass
class Job:
    """One benchmark process; ``after_selection`` jobs get the chosen overrides appended."""

    name: str
    script: str
    arguments: list[str]
    priority: int
    after_selection: bool = False
    process: subprocess.Popen[bytes] | None = None
    log: Any = None
    started: float | None = None
    status: dict[str, Any] = field(default_factory=dict)

    def out(self, work: Path) -> Path:
        return work / f"{self.name}.json"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--carry", type=Path, default=REPO / ".gpu_carry")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="the jobs' rows and logs (default OUT/jobs; archived at the end)",
    )
    parser.add_argument(
        "--budget-s", type=float, default=380.0, help="wall-clock budget of all jobs together"
    )
    parser.add_argument("--workers", type=int, default=8, help="jobs at once")
    parser.add_argument(
        "--min-start-s", type=float, default=45.0, help="start no job with less than this left"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="default: CARRY/data (with --smoke: ../shared/data)",
    )
    parser.add_argument("--backbone", default=None, help="default: CARRY/minilm")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="bf16", choices=["32", "bf16"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--tuning", nargs="+", default=list(FIRST_ROUND), choices=sorted(TUNING))
    parser.add_argument(
        "--base",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="overrides under every UniMEEC job (e.g. an earlier round's choice); "
        "tuning variants change this base",
    )
    parser.add_argument(
        "--no-baselines",
        action="store_true",
        help="skip the classifier jobs (e.g. in a second tuning round)",
    )
    parser.add_argument(
        "--ablations", nargs="*", default=list(ABLATIONS), choices=sorted(ABLATIONS)
    )
    parser.add_argument(
        "--tune-dataset",
        default="ecf1",
        choices=DATASETS,
        help="the dataset of the tuning runs and of the dev selection",
    )
    parser.add_argument(
        "--datasets",
        nargs="*",
        default=list(DATASETS),
        choices=DATASETS,
        help="datasets that get the chosen configuration with every seed",
    )
    parser.add_argument(
        "--claims",
        nargs="*",
        default=[],
        choices=CLAIMS,
        help="claim variants trained with every seed on the chosen configuration",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="pass --smoke to every job (tiny model, a few steps)"
    )
    return parser


def common_arguments(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """(arguments of every job, UniMEEC overrides of every UniMEEC job)."""
    common = ["--device", args.device, "--precision", args.precision, "--epochs", str(args.epochs)]
    data_dir = args.data_dir or (bc.DEFAULT_DATA_DIR if args.smoke else args.carry / "data")
    common += ["--data-dir", str(data_dir)]
    if args.smoke:
        common.append("--smoke")
    if args.backbone or not args.smoke:
        common += ["--backbone", str(args.backbone or args.carry / "minilm")]
    # the GPU's batch: 8 conversations per step, evaluation 32 at a time
    overrides = (
        []
        if args.smoke
        else ["data.batch_size=8", "trainer.accumulate_grad_batches=1", "data.eval_batch_size=32"]
    )
    return common, overrides + list(args.base)


def plan(args: argparse.Namespace) -> list[Job]:
    """Every job with its priority (lower starts first)."""
    common, overrides = common_arguments(args)
    first, *more = args.seeds

    def unimeec(dataset: str, seed: int, name: str, extra: list[str]) -> list[str]:
        return [
            "--datasets",
            dataset,
            "--systems",
            "unimeec",
            "--seeds",
            str(seed),
            "--unimeec-name",
            name,
            *common,
            "--unimeec-override",
            *overrides,
            *extra,
        ]

    def classifier(dataset: str, seed: int) -> list[str]:
        return ["--datasets", dataset, "--systems", "classifier", "--seeds", str(seed), *common]

    jobs: list[Job] = []
    if "utterance-scope" in args.ablations:  # the slowest job starts first
        jobs.append(
            Job(
                "ablation-utterance-scope",
                "ablations.py",
                [
                    "--variants",
                    "utterance-scope",
                    "--seeds",
                    str(first),
                    *common,
                    "--unimeec-override",
                    *overrides,
                ],
                0,
            )
        )
    tune = args.tune_dataset
    jobs += [
        Job(f"tune-{v}", "quality.py", unimeec(tune, first, TUNE_PREFIX + v, TUNING[v]), 1)
        for v in args.tuning
    ]
    # the chosen configuration per dataset: the tuning run is the tuning set's first seed
    chosen: list[Job] = []
    for dataset in args.datasets:
        seeds = more if dataset == tune else args.seeds
        for i, s in enumerate(seeds):
            if dataset == tune:
                priority = 2
            else:
                priority = SEED_PRIORITY.get(dataset, (5, 6))[min(i, 1)]
            chosen.append(
                Job(
                    f"{dataset}-seed{s}",
                    "quality.py",
                    unimeec(dataset, s, "unimeec", []),
                    priority,
                    True,
                )
            )
    jobs += chosen
    baselines = () if args.no_baselines else ("ecf1", "meld")
    jobs += [
        Job(f"classifier-{d}-seed{first}", "quality.py", classifier(d, first), 3) for d in baselines
    ]
    jobs += [
        Job(
            f"ablation-{v}",
            "ablations.py",
            ["--variants", v, "--seeds", str(first), *common, "--unimeec-override", *overrides],
            4,
        )
        for v in args.ablations
        if v != "utterance-scope"
    ]
    jobs += [
        Job(
            f"claim-{v}-seed{s}",
            "quality.py",
            unimeec("ecf1", s, f"unimeec-{v}", VARIANTS[v]),
            4,
            True,
        )
        for v in args.claims
        for s in args.seeds
    ]
    jobs += [
        Job(f"classifier-{d}-seed{s}", "quality.py", classifier(d, s), 6)
        for s in more
        for d in baselines
    ]
    return sorted(jobs, key=lambda j: j.priority)  # stable: the order above within a priority


def read_rows(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [r for r in data if isinstance(r, dict) and "name" in r]


def selection_score(dev: dict[str, float]) -> float | None:
    """Dev joint F1, or the one task's dev F1 where the tuning set has one task (MELD)."""
    joint = joint_f1(dev)
    if joint is not None:
        return joint
    for key in ("merc_weighted_f1", "mecpe_pair_f1"):
        if key in dev:
            return float(dev[key])
    return None


def select(work: Path, tuning: list[str], base: list[str] | None = None) -> dict[str, Any]:
    """The tuning variant with the best dev selection score (test metrics are not read)."""
    table = []
    for variant in tuning:
        for row in read_rows(work / f"tune-{variant}.json"):
            if row["name"] == TUNE_PREFIX + variant and row.get("training"):
                dev = row["training"][0].get("dev_metrics", {})
                table.append(
                    {
                        "variant": variant,
                        "overrides": TUNING[variant],
                        "dev": dev,
                        "dev_joint_f1": joint_f1(dev),
                        "dev_score": selection_score(dev),
                        "epochs_run_s": row["training"][0].get("seconds"),
                    }
                )
    scored = [t for t in table if t["dev_score"] is not None]
    best = max(scored, key=lambda t: t["dev_score"]) if scored else None
    return {
        "criterion": "dev joint_f1 = mean(dev merc_weighted_f1, dev mecpe_pair_f1); "
        "an emotion-only or cause-only set: its one dev F1",
        "base": list(base or []),
        "chosen": best["variant"] if best else "default",
        "overrides": best["overrides"] if best else [],
        "variants": table,
    }


def _job_command(row_command: str, command: str) -> str:
    """The job's own command line (rows of a job name ``<sweep command> (step: <job>)``)."""
    prefix = f"{command} (step: "
    if row_command.startswith(prefix) and row_command.endswith(")"):
        return row_command[len(prefix) : -1]
    return row_command


def merge_rows(rows: list[dict[str, Any]], command: str) -> list[dict[str, Any]]:
    """One row per (name, dataset): seeds of separate jobs combined (mean, sample std).

    ``command`` (the sweep's) reproduces every row; ``job_commands`` reruns one seed alone.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["name"], row["dataset"]), []).append(row)
    merged = []
    for (name, dataset), group in groups.items():
        group.sort(key=lambda r: r["seeds"][0] if r["seeds"] else -1)
        jobs = [_job_command(r["command"], command) for r in group]
        if len(group) == 1:
            merged.append({**group[0], "command": command, "job_commands": jobs})
            continue
        per_seed_all = [r.get("all_metrics") or r["metrics"] for r in group]
        mean, std = bc.aggregate_seeds(per_seed_all)
        wanted = list(group[0]["metrics"])
        extra = {
            k: v
            for k, v in group[0].items()
            if k
            not in {
                "name",
                "dataset",
                "split",
                "metrics",
                "seeds",
                "command",
                "machine",
                "date",
                "metrics_std",
                "per_seed",
                "all_metrics",
                "training",
                "job_commands",
            }
        }
        record = bc.result_record(
            name,
            dataset,
            group[0]["split"],
            {k: mean[k] for k in wanted if k in mean},
            [s for r in group for s in r["seeds"]],
            command,
            group[0]["machine"],
            job_commands=jobs,
            metrics_std={k: std[k] for k in wanted if k in std},
            all_metrics=mean,
            per_seed=[r["metrics"] for r in group],
            training=[t for r in group for t in r.get("training", [])],
            **extra,
        )
        merged.append(record)
    return merged


def stop(job: Job) -> None:
    """Stop a job and everything it started (its own process group)."""
    assert job.process is not None
    try:
        os.killpg(job.process.pid, signal.SIGTERM)
        job.process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(job.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        job.process.wait()


def run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Schedule the plan within the budget; returns the summary."""
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONUNBUFFERED="1",
    )
    env[bc.PARENT_COMMAND_ENV] = command
    started = time.monotonic()
    pending = plan(args)
    running: list[Job] = []
    finished: list[Job] = []
    selection: dict[str, Any] | None = None
    tuning_names = {f"tune-{v}" for v in args.tuning}
    single = len(args.tuning) == 1
    if single:  # one variant: nothing to choose, so no job waits for its run
        selection = {"chosen": args.tuning[0], "overrides": TUNING[args.tuning[0]]}

    def left() -> float:
        return args.budget_s - (time.monotonic() - started)

    while pending or running:
        for job in list(running):
            if job.process is not None and job.process.poll() is not None:
                running.remove(job)
                job.log.close()
                job.status.update(
                    exit=job.process.returncode,
                    seconds=round(time.monotonic() - (job.started or 0), 1),
                )
                finished.append(job)
                print(
                    f"[{time.monotonic() - started:6.0f} s] done {job.name}: exit "
                    f"{job.process.returncode} after {job.status['seconds']} s",
                    flush=True,
                )
        if selection is None and not any(j.name in tuning_names for j in pending + running):
            selection = select(work, args.tuning, args.base)
            (args.out / "selection.json").write_text(json.dumps(selection, indent=2))
            print(
                f"[{time.monotonic() - started:6.0f} s] selected {selection['chosen']} "
                f"{selection['overrides']}",
                flush=True,
            )
        if left() <= 0:
            for job in running:
                stop(job)
                job.log.close()
                job.status.update(
                    exit="stopped at the budget",
                    seconds=round(time.monotonic() - (job.started or 0), 1),
                )
                finished.append(job)
            running = []
            break
        ready = [j for j in pending if not j.after_selection or selection is not None]
        while ready and len(running) < args.workers and left() >= args.min_start_s:
            job = ready.pop(0)
            pending.remove(job)
            argv = list(job.arguments)
            if job.after_selection and selection is not None:
                argv += selection["overrides"]
            argv = [sys.executable, str(HERE / job.script), *argv, "--out", str(job.out(work))]
            job.log = open(work / f"{job.name}.log", "wb")  # noqa: SIM115 - closed when it ends
            job.process = subprocess.Popen(
                argv,
                cwd=REPO,
                env=env,
                stdout=job.log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            job.started = time.monotonic()
            job.status = {
                "name": job.name,
                "command": " ".join(argv[1:]),
                "start_s": round(job.started - started, 1),
            }
            running.append(job)
            print(f"[{job.status['start_s']:6.0f} s] start {job.name}", flush=True)
        if not running and (not ready or left() < args.min_start_s):
            break
        time.sleep(1.0)
    for job in pending:
        job.status = {"name": job.name, "skipped": "budget spent"}
        finished.append(job)
    if selection is None or single:  # the dev table of the one variant too
        selection = select(work, args.tuning, args.base)
        (args.out / "selection.json").write_text(json.dumps(selection, indent=2))
    return {
        "jobs": [j.status for j in finished],
        "selection": selection,
        "seconds": round(time.monotonic() - started, 1),
    }


def collect(
    args: argparse.Namespace, selection: dict[str, Any], command: str
) -> list[dict[str, Any]]:
    """Merge the jobs' rows; the chosen tuning run is seed ``first`` of ``unimeec`` on ECF."""
    work = args.work
    rows: list[dict[str, Any]] = []
    for path in sorted(work.glob("*.json")):
        rows += read_rows(path)
    chosen = TUNE_PREFIX + selection["chosen"]
    default = TUNE_PREFIX + "default"
    aliases = [(chosen, "unimeec")] + ([(default, "unimeec-full")] if args.ablations else [])
    for row in rows:
        if row["name"].startswith(TUNE_PREFIX):  # the tuning table needs the round's facts
            row.update(
                tuning_base=selection.get("base", []),
                selected=row["name"] in (chosen, chosen + "-gold-emotions"),
            )
    for row in list(rows):
        for prefix, alias in aliases:
            if row["name"] in (prefix, prefix + "-gold-emotions"):
                suffix = row["name"][len(prefix) :]
                if alias == "unimeec-full" and suffix:
                    continue  # the ablation table has no gold-emotion rows
                rows.append({**row, "name": alias + suffix, "selected": False})
    return merge_rows(rows, command)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    args.work = args.work or args.out / "jobs"
    command = os.environ.get(bc.PARENT_COMMAND_ENV) or bc.command_line(argv, "benchmarks/sweep.py")
    summary = run(args, command)
    rows = collect(args, summary["selection"], command)
    bc.write_results(rows, args.out / "results.json")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    with tarfile.open(args.out / "jobs.tar.gz", "w:gz") as archive:
        archive.add(args.work, arcname="jobs")
    print(f"wrote {len(rows)} rows to {args.out / 'results.json'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
