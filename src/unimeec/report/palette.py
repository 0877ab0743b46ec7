"""One colour per emotion, shared by the pages (chips) and the plots (bars).

Ekman's emotions get the colours people expect (anger red, joy yellow, ...), whatever the
dataset spells them; any other label set takes a colour-blind-safe cycle in label order, so a
label keeps its colour across every page and plot of one report.
"""

from __future__ import annotations

from collections.abc import Sequence

from unimeec.data.labels import is_neutral

#: Colours of the Ekman emotions and their spellings in our label sets.
NAMED: dict[str, str] = {
    "anger": "#e15759",
    "ang": "#e15759",
    "Mad": "#e15759",
    "fru": "#f28e2b",
    "disgust": "#59a14f",
    "fear": "#b07aa1",
    "Scared": "#b07aa1",
    "joy": "#edc948",
    "happiness": "#edc948",
    "hap": "#edc948",
    "Joyful": "#edc948",
    "exc": "#ff9da7",
    "sadness": "#4e79a7",
    "sad": "#4e79a7",
    "Sad": "#4e79a7",
    "surprise": "#f28e2b",
    "Peaceful": "#76b7b2",
    "Powerful": "#9c755f",
}
NEUTRAL_COLOUR = "#c9ccd1"
#: For labels without a named colour (Tableau 10, colour-blind friendly).
CYCLE: tuple[str, ...] = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


def emotion_colours(labels: Sequence[str]) -> dict[str, str]:
    """``{label: "#rrggbb"}`` for every label, stable for a given label order."""
    colours: dict[str, str] = {}
    unnamed = 0
    for label in labels:
        if is_neutral(label):
            colours[label] = NEUTRAL_COLOUR
        elif label in NAMED:
            colours[label] = NAMED[label]
        else:
            colours[label] = CYCLE[unnamed % len(CYCLE)]
            unnamed += 1
    return colours


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (WCAG relative luminance)."""
    channels = [int(background[k : k + 2], 16) / 255 for k in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#111111" if luminance > 0.3 else "#ffffff"


class ChipColours:
    """What the templates ask for an emotion chip: its background and text colour."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = tuple(labels)
        self._colours = emotion_colours(self.labels)
        #: The label the legend's "wrong emotion" example shows.
        self.example = next(
            (lab for lab in self.labels if not is_neutral(lab)),
            self.labels[0] if self.labels else "emotion",
        )

    def background(self, emotion: str) -> str:
        return self._colours.get(emotion, NEUTRAL_COLOUR)

    def text(self, emotion: str) -> str:
        return text_colour(self.background(emotion))
