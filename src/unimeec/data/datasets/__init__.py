"""The dataset registry: one declaration per dataset, one module per declaration.

Why: a dataset used to be described in five tables in four files (reader formats, file
layout, label set, default task, download sources) that nothing checked against each
other. Now each module of this package declares one :class:`DatasetSpec` named ``SPEC``,
and this registry collects them; the tables the rest of the code reads (:data:`LABEL_SETS`,
:data:`DEFAULT_TASKS`, ``unimeec.data.sources.DOWNLOADS``, the reader formats) are views of
it. Adding a dataset is one new file here (see ``docs/architecture.md``)::

    # src/unimeec/data/datasets/mydata.py
    SPEC = DatasetSpec(
        name="mydata", labels=("neutral", "joy", "anger"), default_task="emotion",
        files=split_files("mydata/{split}.jsonl"), file_format="jsonl",
        description="my conversations, in our JSONL format")

Modules are found by name (every module of this package that does not start with ``_``),
imported in alphabetical order, so the registry's order is stable. This package imports
only :mod:`unimeec.data.labels`: the schema can read label sets from it without a cycle.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

#: The task a dataset trains by default (``task: auto``): joint where both labels exist.
Task = Literal["joint", "emotion", "cause"]
#: The split names every layout covers.
SPLITS: tuple[str, ...] = ("train", "dev", "test")


@dataclass(frozen=True)
class SourceFile:
    """One file of an official GitHub repository at a fixed commit, with its SHA-256."""

    repo: str
    commit: str
    remote_path: str
    local_path: str
    sha256: str

    @property
    def url(self) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.remote_path}"


@dataclass(frozen=True)
class ReaderFormat:
    """A file format: its name for ``format=`` / ``--format``, the reader, other spellings.

    ``reader`` is ``"module:function"``, imported on first use, so reading one format never
    pays for the others.
    """

    name: str
    reader: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetSpec:
    """Everything the code knows about one benchmark.

    ``files``: per split, candidate paths relative to the data directory; the first that
    exists is read. ``file_format``: the format of those files (``None``: detected per file,
    for datasets distributed in several forms). ``formats``: the reader formats this dataset
    brings. ``downloads``: the official files ``unimeec data download`` fetches (empty when
    they cannot be redistributed). ``aliases``: other names of the dataset (e.g. ``ecf2``).
    ``description``: one line for ``unimeec data stats --help``.
    """

    name: str
    labels: tuple[str, ...]
    default_task: Task
    files: Mapping[str, tuple[str, ...]]
    file_format: str | None
    formats: tuple[ReaderFormat, ...] = ()
    downloads: tuple[SourceFile, ...] = ()
    aliases: tuple[str, ...] = ()
    description: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def split_files(*patterns: str, **renamed: str) -> dict[str, tuple[str, ...]]:
    """Candidate files per split from ``{split}`` patterns; ``renamed`` maps a split to the
    word its files use instead (RECCON calls dev ``valid``)."""
    return {s: tuple(p.format(split=renamed.get(s, s)) for p in patterns) for s in SPLITS}


def source_files(
    repo: str, commit: str, rows: list[tuple[str, str, str]]
) -> tuple[SourceFile, ...]:
    """``(remote path, local path, sha256)`` rows of one repository at one commit."""
    return tuple(SourceFile(repo, commit, remote, local, sha) for remote, local, sha in rows)


def _discover() -> dict[str, DatasetSpec]:
    specs: dict[str, DatasetSpec] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        spec = getattr(module, "SPEC", None)
        if not isinstance(spec, DatasetSpec):
            raise TypeError(f"{module.__name__} declares no SPEC = DatasetSpec(...)")
        for name in spec.names:
            if name in specs:
                raise ValueError(f"dataset name {name!r} declared twice ({module.__name__})")
            specs[name] = spec
    return specs


#: Every dataset by name and alias (an alias maps to the same spec). Built here, after the
#: definitions above, which the dataset modules import while this runs.
_BY_NAME: dict[str, DatasetSpec] = _discover()
#: Every dataset once, by its main name, in registry order.
DATASETS: Mapping[str, DatasetSpec] = MappingProxyType({s.name: s for s in _BY_NAME.values()})


def get_dataset(name: str) -> DatasetSpec | None:
    """The spec of ``name`` (or one of its aliases); ``None`` when unknown."""
    return _BY_NAME.get(name)


def dataset_names() -> tuple[str, ...]:
    """Every accepted dataset name, aliases included, sorted."""
    return tuple(sorted(_BY_NAME))


#: Label set by dataset name or alias (the ``dataset`` field of a Conversation).
LABEL_SETS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {name: spec.labels for name, spec in _BY_NAME.items()}
)
#: Default task by dataset name or alias.
DEFAULT_TASKS: Mapping[str, Task] = MappingProxyType(
    {name: spec.default_task for name, spec in _BY_NAME.items()}
)
#: Every reader format the datasets bring, by name.
FORMATS: Mapping[str, ReaderFormat] = MappingProxyType(
    {fmt.name: fmt for spec in DATASETS.values() for fmt in spec.formats}
)

__all__ = [
    "DATASETS",
    "DEFAULT_TASKS",
    "FORMATS",
    "LABEL_SETS",
    "SPLITS",
    "DatasetSpec",
    "ReaderFormat",
    "SourceFile",
    "Task",
    "dataset_names",
    "get_dataset",
    "source_files",
    "split_files",
]
