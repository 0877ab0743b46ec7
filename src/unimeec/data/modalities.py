"""The modalities of an utterance, and what a source of per-utterance feature vectors gives.

Why a module of its own: the modality names are used by the feature stores, the ECF tables,
the training config and the command line; one tuple here keeps them from drifting apart.
"""

from __future__ import annotations

from typing import Literal, Protocol, get_args, runtime_checkable

import numpy as np

#: A modality fed to the model as a feature vector (text goes through the backbone).
FeatureModality = Literal["audio", "visual"]
#: ``("audio", "visual")``: the values of :data:`FeatureModality`.
FEATURE_MODALITIES: tuple[str, ...] = get_args(FeatureModality)
#: Every modality, text first (the order of the model's inputs).
MODALITIES: tuple[str, ...] = ("text", *FEATURE_MODALITIES)


@runtime_checkable
class FeatureLookup(Protocol):
    """What the model's processor needs: a dimension and raw vectors by utterance.

    ``get`` returns ``None`` for an utterance without a vector (a missing modality). Feature
    stores (:class:`~unimeec.data.feature_store.FeatureStore`) and the official ECF tables
    (:class:`~unimeec.data.ecf_features.EcfFeatures`) implement it; so can a plain dict
    wrapper in a test.
    """

    @property
    def dim(self) -> int: ...

    def get(self, conversation_id: str, utterance_index: int) -> np.ndarray | None: ...
