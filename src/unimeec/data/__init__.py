"""Conversations: the schema, one reader per dataset format, writers, downloads."""

from unimeec.data.io import read_conversations, write_conversations
from unimeec.data.loading import DatasetNotFoundError, dataset_path, load_dataset
from unimeec.data.readers import detect_format
from unimeec.data.readers.ecf import ECF1_MELD_TEST_OVERLAP
from unimeec.data.readers.meld import MELD_MISSING_DIALOGUES
from unimeec.data.readers.reccon import RECCON_LABEL_FIXES
from unimeec.data.schema import CauseSpan, Conversation, EmotionCausePair, Utterance
from unimeec.data.spans import locate_span
from unimeec.data.stats import SplitStats, compute_stats

__all__ = [
    "ECF1_MELD_TEST_OVERLAP",
    "MELD_MISSING_DIALOGUES",
    "RECCON_LABEL_FIXES",
    "CauseSpan",
    "Conversation",
    "DatasetNotFoundError",
    "EmotionCausePair",
    "SplitStats",
    "Utterance",
    "compute_stats",
    "dataset_path",
    "detect_format",
    "load_dataset",
    "locate_span",
    "read_conversations",
    "write_conversations",
]
