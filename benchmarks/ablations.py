"""Ablation grid of METHOD.md section 6 on ECF 1.0: one UniMEEC training per variant.

Each variant is the full model with one configuration change (the same ``key=value``
overrides ``unimeec train`` accepts), dev-selected and test-reported like ``quality.py``:

=====================  ==========================================  ======================
variant                override                                    claim tested
=====================  ==========================================  ======================
full                   (none)                                      reference
no-thc                 ``model.use_thc=false``                     THC helps
emotion-only           ``task=emotion``                            joint > single task
cause-only             ``task=cause``                              joint > single task
utterance-scope        ``model.scope=utterance``                   scope (cost/quality)
conversation-scope     ``model.scope=conversation``                scope (cost/quality)
random-head            ``model.label_word_init=false``             verbalizer init helps
mask-readout           ``model.emotion_readout=mask``              METHOD.md's readout
=====================  ==========================================  ======================

The modality ablations (text+audio, text+visual, all three) need audio/visual feature
stores for ECF, which this repository's data directory does not include; pass them with
``--unimeec-override data.features.audio=PATH`` etc. and a variant name to measure them.

    python benchmarks/ablations.py --epochs 3 --seeds 0 --out benchmarks/results/ablations.json
    python benchmarks/ablations.py --smoke
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import bench_common as bc
import quality

log = logging.getLogger("benchmarks.ablations")

VARIANTS: dict[str, list[str]] = {
    "full": [],
    "no-thc": ["model.use_thc=false"],
    "emotion-only": ["task=emotion"],
    "cause-only": ["task=cause"],
    "utterance-scope": ["model.scope=utterance"],
    "conversation-scope": ["model.scope=conversation"],
    "random-head": ["model.label_word_init=false"],
    "mask-readout": ["model.emotion_readout=mask"],
}
DEFAULT_VARIANTS = (
    "full",
    "no-thc",
    "emotion-only",
    "cause-only",
    "utterance-scope",
    "random-head",
    "mask-readout",
)


def main(argv: list[str] | None = None) -> int:
    parser = quality.build_parser()
    parser.description = __doc__.splitlines()[0]
    parser.set_defaults(datasets=["ecf1"], out=bc.RESULTS_DIR / "ablations.json")
    parser.add_argument(
        "--variants", nargs="+", default=list(DEFAULT_VARIANTS), choices=sorted(VARIANTS)
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    bc.set_cpu_threads(args.threads)
    command = bc.command_line(argv, "benchmarks/ablations.py")
    with tempfile.TemporaryDirectory(prefix="unimeec-ablations-") as tmp:
        if args.smoke:
            args.backbone = args.backbone or bc.make_tiny_backbone(Path(tmp) / "tiny")
            args.limit, args.max_steps, args.epochs = args.limit or 4, args.max_steps or 2, 1
        if args.run_dir is None:
            args.run_dir = Path(tmp) / "runs"
        rec = quality.Recorder(args.out, command, bc.machine_description(args.machine_note))
        for dataset in args.datasets:
            splits = quality.load_splits(dataset, args.data_dir, args.limit)
            for variant in args.variants:
                overrides = [*args.unimeec_override, *VARIANTS[variant]]
                quality.run_unimeec(
                    dataset,
                    splits,
                    args,
                    rec,
                    name=f"unimeec-{variant}",
                    overrides=overrides,
                    gold_emotions=False,
                )
    print(f"wrote {len(rec.rows)} rows to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
