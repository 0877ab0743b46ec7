"""Feature extraction from raw media: openSMILE audio functionals, facial expressions, HF encoders.

Heavy libraries (torch, opensmile, PyAV, OpenCV, transformers) are imported when an extractor
runs, so importing this package is cheap. Stores live in :mod:`unimeec.data.feature_store`.
"""

from unimeec.features.base import Extractor, UtteranceFeatures, UtteranceSpan
from unimeec.features.extract import (
    EXTRACTORS,
    ExtractionSummary,
    build_extractor,
    extract_features,
    read_manifest,
)

__all__ = [
    "EXTRACTORS",
    "ExtractionSummary",
    "Extractor",
    "UtteranceFeatures",
    "UtteranceSpan",
    "build_extractor",
    "extract_features",
    "read_manifest",
]
