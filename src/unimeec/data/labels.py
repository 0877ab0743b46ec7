"""The label sets of the supported datasets, and what counts as neutral.

The order of each tuple is the class order used by models and metrics; it never changes
for a released dataset name, because checkpoints store label indices. Which dataset uses
which set is declared in its module of :mod:`unimeec.data.datasets` (``LABEL_SETS`` there).
"""

from __future__ import annotations

NEUTRAL = "neutral"

#: MELD, ECF 1.0 and ECF 2.0 (SemEval-2024 Task 3) share Ekman's six plus neutral.
ECF_EMOTIONS: tuple[str, ...] = (
    "neutral",
    "anger",
    "disgust",
    "fear",
    "joy",
    "sadness",
    "surprise",
)
MELD_EMOTIONS: tuple[str, ...] = ECF_EMOTIONS
#: The six emotions of MECPE-Cat / SemEval-2024 subtask 2 weighted F1.
ECF_CAUSE_EMOTIONS: tuple[str, ...] = ("anger", "disgust", "fear", "joy", "sadness", "surprise")
#: The four-emotion average reported by some ECF papers (w-avg. 4).
ECF_MAIN_EMOTIONS: tuple[str, ...] = ("anger", "joy", "sadness", "surprise")

#: IEMOCAP 6-class setting (happy, sad, neutral, angry, excited, frustrated).
IEMOCAP_EMOTIONS: tuple[str, ...] = ("hap", "sad", "neu", "ang", "exc", "fru")
#: DailyDialog and RECCON-DD (RECCON spells joy "happiness").
DAILYDIALOG_EMOTIONS: tuple[str, ...] = (
    "neutral",
    "anger",
    "disgust",
    "fear",
    "happiness",
    "sadness",
    "surprise",
)
RECCON_EMOTIONS: tuple[str, ...] = DAILYDIALOG_EMOTIONS
#: EmoryNLP (Willcox's feeling wheel, 7 classes).
EMORYNLP_EMOTIONS: tuple[str, ...] = (
    "Neutral",
    "Joyful",
    "Peaceful",
    "Powerful",
    "Scared",
    "Mad",
    "Sad",
)

#: The label of "no emotion" per label set; utterances with it are never emotion utterances.
NEUTRAL_LABELS: frozenset[str] = frozenset({"neutral", "neu", "Neutral"})


def is_neutral(label: str | None) -> bool:
    """True for the neutral label of any supported label set (and for a missing label)."""
    return label is None or label in NEUTRAL_LABELS


#: Full names some public IEMOCAP exports use instead of the short codes (a format alias,
#: not a typo fix): the IEMOCAP and ConvECPE readers accept both spellings.
IEMOCAP_LABEL_ALIASES: dict[str, str] = {
    "happy": "hap",
    "happiness": "hap",
    "sad": "sad",
    "sadness": "sad",
    "neutral": "neu",
    "angry": "ang",
    "anger": "ang",
    "excited": "exc",
    "frustrated": "fru",
    "frustration": "fru",
}
