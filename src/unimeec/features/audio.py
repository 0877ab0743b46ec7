"""openSMILE functionals: ComParE_2016 (6373-d, the set ECF distributes) and eGeMAPSv02 (88-d).

openSMILE is free for research and education only (audEERING's licence); see the README.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from unimeec.data.feature_store import ExtractorInfo
from unimeec.errors import FeatureError
from unimeec.features.base import AudioExtractor

#: Extractor name -> (opensmile.FeatureSet member, dimension).
OPENSMILE_SETS: dict[str, tuple[str, int]] = {
    "compare_2016": ("ComParE_2016", 6373),
    "egemaps_v02": ("eGeMAPSv02", 88),
}


class OpenSmileExtractor(AudioExtractor):
    """Utterance-level openSMILE functionals of 16 kHz mono audio."""

    def __init__(self, feature_set: str = "compare_2016") -> None:
        if feature_set not in OPENSMILE_SETS:
            raise FeatureError(
                f"unknown openSMILE feature set {feature_set!r}; expected one of "
                f"{', '.join(OPENSMILE_SETS)}"
            )
        self.name = feature_set
        self._smile: Any = None

    @property
    def dim(self) -> int:
        return OPENSMILE_SETS[self.name][1]

    def info(self) -> ExtractorInfo:
        import av
        import opensmile

        return ExtractorInfo(
            name=f"opensmile-{OPENSMILE_SETS[self.name][0]}",
            settings={
                "feature_set": OPENSMILE_SETS[self.name][0],
                "feature_level": "Functionals",
                "sample_rate": self.sample_rate,
                "channels": "mono",
            },
            versions={"opensmile": opensmile.__version__, "av": av.__version__},
        )

    def _load(self) -> Any:
        if self._smile is None:
            import opensmile

            self._smile = opensmile.Smile(
                feature_set=getattr(opensmile.FeatureSet, OPENSMILE_SETS[self.name][0]),
                feature_level=opensmile.FeatureLevel.Functionals,
            )
        return self._smile

    def embed_signal(self, signal: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "segment too short": NaN, handled
            frame = self._load().process_signal(signal, self.sample_rate)
        vector = frame.to_numpy(dtype=np.float32).reshape(-1)
        if vector.shape != (self.dim,):
            raise FeatureError(f"openSMILE returned {vector.shape[0]} values, expected {self.dim}")
        return vector

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_smile": None}
