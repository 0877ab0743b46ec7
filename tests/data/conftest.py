"""Real datasets read once per test session (reading is the slow part)."""

from __future__ import annotations

from pathlib import Path

import pytest

from unimeec.data import Conversation, load_dataset


@pytest.fixture(scope="session")
def load(shared_data: Path):  # type: ignore[no-untyped-def]
    """``load(name, split)`` with a per-session cache."""
    cache: dict[tuple[str, str], list[Conversation]] = {}

    def _load(name: str, split: str) -> list[Conversation]:
        if (name, split) not in cache:
            cache[name, split] = load_dataset(name, split, shared_data)
        return cache[name, split]

    return _load


@pytest.fixture
def make_file(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``make_file(name, content)`` writes a fixture file into the test's tmp dir."""

    def _make(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _make
