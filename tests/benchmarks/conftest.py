"""Fixtures of the benchmark tests: a tiny random backbone and the benchmarks/ scripts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    """benchmarks/ on sys.path, so tests call each script's ``main(argv)`` in-process."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return BENCHMARKS


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory, minilm_path, bench_dir) -> str:
    """A random 2-layer BERT (hidden 32) with the real MiniLM tokenizer."""
    from bench_common import make_tiny_backbone

    return make_tiny_backbone(tmp_path_factory.mktemp("tiny_backbone"), minilm_path)
