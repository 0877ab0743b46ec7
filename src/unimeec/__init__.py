"""unimeec: unified multimodal emotion recognition and emotion-cause analysis (UniMEEC)."""

from unimeec.data.schema import CauseSpan, Conversation, EmotionCausePair, Utterance
from unimeec.errors import (
    CheckpointError,
    ConfigError,
    DataFormatError,
    DownloadError,
    FeatureError,
    UnimeecError,
)

__version__ = "0.1.0"

__all__ = [
    "CauseSpan",
    "CheckpointError",
    "ConfigError",
    "Conversation",
    "DataFormatError",
    "DownloadError",
    "EmotionCausePair",
    "FeatureError",
    "UnimeecError",
    "Utterance",
    "__version__",
]
