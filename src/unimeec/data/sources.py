"""The official files we download, pinned to a commit and a SHA-256: a view of the registry.

Each dataset declares its files in its module of :mod:`unimeec.data.datasets`; this module
collects them for ``unimeec data download`` and names the one pickle the ECF reader agrees
to load (its hash is pinned there, because unpickling runs code).
"""

from __future__ import annotations

from types import MappingProxyType

from unimeec.data.datasets import DATASETS, SourceFile
from unimeec.data.datasets.ecf1 import VIDEO_ID_MAPPING_SHA256

#: Downloadable datasets (official files publicly on GitHub), in registry order.
DOWNLOADS = MappingProxyType(
    {name: spec.downloads for name, spec in DATASETS.items() if spec.downloads}
)

__all__ = ["DOWNLOADS", "VIDEO_ID_MAPPING_SHA256", "SourceFile"]
