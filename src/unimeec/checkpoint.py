"""Checkpoint I/O: save and load a model directory, sealed by a SHA-256 manifest.

Why one module: inference (:mod:`unimeec.predict`) and training (:mod:`unimeec.training.run`)
both read and write model directories; keeping the format here means inference never
imports training code. A model directory is what ``save_pretrained`` of the model and the
processor write, plus the files training adds (model card, training config), plus
:data:`MANIFEST_FILE`::

    model/
      config.json                 UniMEECConfig (+ the unimeec version that saved it)
      model.safetensors           weights
      processor_config.json       processor settings
      tokenizer.json, ...         the backbone's tokenizer files
      README.md                   model card (training only)
      training_config.yaml        resolved experiment config (training only)
      checkpoint_manifest.json    SHA-256 of every other file

Why a manifest: a checkpoint that lost ``tokenizer.json`` still loads (transformers falls
back to another tokenizer) and silently predicts ``[UNK]`` for every word. Loading checks
every file against the manifest first and raises :class:`~unimeec.errors.CheckpointError`
naming the missing or changed file. Directories saved before manifests existed load with a
warning. A deliberate edit (say, of the model card) is sealed again with
:func:`write_manifest`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError

from unimeec import __version__
from unimeec.errors import CheckpointError
from unimeec.hashing import file_sha256
from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor

log = logging.getLogger(__name__)

#: Major.minor of the unimeec version written into every checkpoint we save.
VERSION_KEY = "unimeec_version"
#: The integrity manifest of a model directory.
MANIFEST_FILE = "checkpoint_manifest.json"
MANIFEST_FORMAT = "unimeec-checkpoint-manifest"
MANIFEST_FORMAT_VERSION = 1
#: Weight files in the order ``from_pretrained`` prefers them.
WEIGHT_FILES: tuple[str, ...] = ("model.safetensors", "pytorch_model.bin")

#: What loading a damaged checkpoint raises from inside torch / safetensors / transformers.
_LOAD_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    RuntimeError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    SafetensorError,
)


# ---------------------------------------------------------------------- locating
def resolve_model_dir(checkpoint: str | Path) -> Path:
    """A run directory or a model directory -> the model directory (with ``config.json``)."""
    path = Path(checkpoint)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint directory not found")
    if (path / "model" / "config.json").is_file():
        return path / "model"
    if (path / "config.json").is_file():
        return path
    raise CheckpointError(
        f"{path / 'config.json'}: not found; expected a run directory (with "
        "model/) or a model directory saved by unimeec train"
    )


# ---------------------------------------------------------------------- versions
def mark_version(model: Any) -> None:
    """Record our version in the model config, checked again by :func:`load_model_and_processor`."""
    setattr(model.config, VERSION_KEY, __version__)


def compatible(saved: str, current: str) -> bool:
    """Same major version (same major.minor while in 0.x, where minors may break)."""
    s, c = saved.split("."), current.split(".")
    return s[:2] == c[:2] if c[0] == "0" else s[0] == c[0]


# ---------------------------------------------------------------------- integrity
def _files(model_dir: Path) -> list[str]:
    """Every file under ``model_dir`` but the manifest, as sorted POSIX relative paths."""
    return sorted(
        p.relative_to(model_dir).as_posix()
        for p in model_dir.rglob("*")
        if p.is_file() and p.name != MANIFEST_FILE
    )


def write_manifest(model_dir: str | Path) -> dict[str, str]:
    """Hash every file of ``model_dir`` into :data:`MANIFEST_FILE`; the name -> SHA-256 map."""
    model_dir = Path(model_dir)
    files = {name: file_sha256(model_dir / name) for name in _files(model_dir)}
    record = {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_FORMAT_VERSION,
        "unimeec_version": __version__,
        "algorithm": "sha256",
        "files": files,
    }
    (model_dir / MANIFEST_FILE).write_text(
        json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    return files


def verify_manifest(model_dir: str | Path) -> bool:
    """Check every file listed in the manifest; False (and a warning) when there is none.

    A listed file that is gone or whose SHA-256 differs is a CheckpointError naming it.
    Files not listed (e.g. a note the user dropped in) get a warning naming them, since a
    tokenizer file added later would be read without having been verified.
    """
    model_dir = Path(model_dir)
    path = model_dir / MANIFEST_FILE
    if not path.is_file():
        log.warning(
            "%s: no %s (saved by an older unimeec); the checkpoint's files cannot be verified",
            model_dir,
            MANIFEST_FILE,
        )
        return False
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: corrupt checkpoint manifest ({err})") from None
    record = record if isinstance(record, dict) else {}
    files = record.get("files")
    if (
        record.get("format") != MANIFEST_FORMAT
        or not isinstance(files, dict)
        or not all(isinstance(v, str) for v in files.values())
    ):
        raise CheckpointError(
            f"{path}: not a {MANIFEST_FORMAT} (expected a 'files' mapping of name -> SHA-256)"
        )
    for name, expected in sorted(files.items()):
        file = model_dir / name
        if not file.resolve().is_relative_to(model_dir.resolve()):
            raise CheckpointError(f"{path}: lists {name!r}, which is outside the model directory")
        if not file.is_file():
            raise CheckpointError(
                f"{file}: missing from the checkpoint (listed in {MANIFEST_FILE})"
            )
        actual = file_sha256(file)
        if actual != expected:
            raise CheckpointError(
                f"{file}: changed since the checkpoint was saved (SHA-256 "
                f"{actual[:12]}..., {MANIFEST_FILE} says {expected[:12]}...)"
            )
    extra = [name for name in _files(model_dir) if name not in files]
    if extra:
        log.warning(
            "%s: %s not listed in %s (added after saving; not verified)",
            model_dir,
            ", ".join(extra),
            MANIFEST_FILE,
        )
    return True


# ---------------------------------------------------------------------- saving
def save_checkpoint(
    model: Any, processor: Any, model_dir: str | Path, *, files: Mapping[str, str] | None = None
) -> Path:
    """Write model, processor and extra text ``files`` (name -> content), then seal them.

    The version is marked first so :func:`load_model_and_processor` can refuse checkpoints
    of incompatible versions; the manifest is written last, over everything else.
    """
    model_dir = Path(model_dir)
    mark_version(model)
    model.save_pretrained(model_dir)
    processor.save_pretrained(model_dir)
    for name, text in (files or {}).items():
        (model_dir / name).write_text(text, encoding="utf-8")
    write_manifest(model_dir)
    return model_dir


# ---------------------------------------------------------------------- loading
def _reason(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _read_config(model_dir: Path) -> dict[str, Any]:
    config_path = model_dir / "config.json"
    try:
        raw = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{config_path}: corrupt checkpoint config ({err})") from None
    if not isinstance(raw, dict) or raw.get("model_type") != UniMEECConfig.model_type:
        found = raw.get("model_type") if isinstance(raw, dict) else type(raw).__name__
        raise CheckpointError(
            f"{config_path}: model_type {found!r} is not a UniMEEC checkpoint "
            f"(expected {UniMEECConfig.model_type!r})"
        )
    saved_version = raw.get(VERSION_KEY)
    if saved_version is not None and not compatible(str(saved_version), __version__):
        raise CheckpointError(
            f"{config_path}: saved by unimeec {saved_version}, which is not "
            f"compatible with this unimeec {__version__}; retrain or install "
            f"unimeec {saved_version}"
        )
    return raw


def load_model_and_processor(checkpoint: str | Path) -> tuple[Any, Any]:
    """Load a saved ``UniMEECModel`` (eval mode) and ``UniMEECProcessor``.

    ``checkpoint`` is a model directory or a run directory. The manifest is verified before
    anything is parsed; every failure is a CheckpointError naming the file.
    """
    model_dir = resolve_model_dir(checkpoint)
    verify_manifest(model_dir)
    _read_config(model_dir)
    weights = [model_dir / name for name in WEIGHT_FILES]
    weight_file = next((w for w in weights if w.is_file()), None)
    if weight_file is None:
        raise CheckpointError(f"{weights[0]}: model weights not found")
    try:
        model = UniMEECModel.from_pretrained(model_dir)
    except _LOAD_ERRORS as err:
        raise CheckpointError(f"{weight_file}: cannot load the model ({_reason(err)})") from None
    try:
        processor = UniMEECProcessor.from_pretrained(model_dir)
    except _LOAD_ERRORS as err:
        raise CheckpointError(
            f"{model_dir}: cannot load the processor/tokenizer ({_reason(err)})"
        ) from None
    model.eval()
    return model, processor


# ---------------------------------------------------------------------- batches
def move_batch(batch: dict[str, Any], device: torch.device | str) -> dict[str, Any]:
    """A processor batch with its tensors on ``device``; ``conversations`` stay as they are."""
    return {
        key: value.to(device) if isinstance(value, torch.Tensor) else value
        for key, value in batch.items()
    }
