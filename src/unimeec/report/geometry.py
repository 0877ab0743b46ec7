"""Where rows and arrows go on a conversation page, computed here rather than in the browser.

The arrows are static SVG, so a page looks the same from ``file://``, in a notebook that runs
no scripts, and in a screenshot. That needs the row heights before the browser lays the page
out: each row gets a fixed height from a conservative estimate of how many lines its text
wraps to in a text column of fixed width (the CSS reads the same numbers from here). A
conservative estimate can only leave a little blank space, never let text spill into the
next row; the browser test checks that on real conversations.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from unimeec.report.view import ConversationView

#: Text metrics shared with the CSS (the page sets them as CSS variables).
FONT_PX = 15
LINE_PX = 21
ROW_PADDING_PX = 7
TEXT_WIDTH_EM = 38.0
#: Arrow drawing: the bulge of an arc grows with the distance it spans.
BULGE_BASE = 26.0
BULGE_STEP = 17.0
BULGE_MAX = 220.0
LABEL_ROOM = 34.0
SELF_LOOP = 26.0


def char_width_em(char: str) -> float:
    """An upper estimate of a glyph's advance in em: the widths of DejaVu Sans (the widest
    common sans-serif, Debian's default) rounded up, by class of character."""
    if char == " ":
        return 0.33
    if char in "mwMW@%":
        return 1.0
    if char.isascii():
        if char.isupper():
            return 0.8
        if char in "ijlft":
            return 0.4
        if char.isalpha() or char.isdigit():
            return 0.64
        return 0.5
    if unicodedata.east_asian_width(char) in "WF":
        return 1.05
    return 0.8


def wrapped_lines(text: str, width_em: float = TEXT_WIDTH_EM) -> int:
    """Lines ``text`` takes when wrapped greedily at spaces (long words broken anywhere)."""
    lines, used = 1, 0.0
    space = char_width_em(" ")
    for word in text.split():
        width = sum(char_width_em(c) for c in word)
        if used and used + space + width <= width_em:
            used += space + width
            continue
        if used:
            lines += 1
        while width > width_em:  # overflow-wrap: anywhere
            lines += 1
            width -= width_em
        used = width
    return lines


@dataclass(frozen=True)
class ArrowShape:
    """An arrow's SVG path, its head (a triangle) and where its probability label sits."""

    path: str
    head: str
    label_x: float
    label_y: float


@dataclass(frozen=True)
class PageLayout:
    """Row tops and heights (px), the arrow shapes in ``view.arrows`` order, the gutter width."""

    tops: tuple[float, ...]
    heights: tuple[float, ...]
    arrows: tuple[ArrowShape, ...]
    gutter: float

    @property
    def height(self) -> float:
        return self.tops[-1] + self.heights[-1] if self.tops else 0.0

    def anchor(self, index: int) -> float:
        """Where arrows meet the row of 1-based utterance ``index``: the middle of its first
        line, beside the speaker and the emotion chip (a generous height estimate may leave
        blank space below the text; the row's centre would drift into it)."""
        return self.tops[index - 1] + ROW_PADDING_PX + LINE_PX / 2


def bulge(distance: int) -> float:
    """How far left an arc spanning ``distance`` rows reaches (longer arcs enclose shorter)."""
    return min(BULGE_MAX, BULGE_BASE + BULGE_STEP * (abs(distance) - 1))


def layout_page(view: ConversationView) -> PageLayout:
    """Row geometry from the texts, then one arrow per ``view.arrows`` entry."""
    tops, heights = [], []
    top = 0.0
    for row in view.rows:
        chip_lines = 2 if row.status in ("wrong", "unpredicted") else 1
        lines = max(wrapped_lines(row.text), chip_lines)
        height = lines * LINE_PX + 2 * ROW_PADDING_PX
        tops.append(top)
        heights.append(height)
        top += height
    reach = max((bulge(a.distance) if a.distance else SELF_LOOP for a in view.arrows), default=0)
    gutter = math.ceil(0.75 * reach + LABEL_ROOM + 10)
    partial = PageLayout(tuple(tops), tuple(heights), (), gutter)
    x = gutter - 4.0
    shapes = tuple(_arrow(partial, x, a.emotion_utterance, a.cause_utterance) for a in view.arrows)
    return PageLayout(partial.tops, partial.heights, shapes, gutter)


def _arrow(page: PageLayout, x: float, emotion: int, cause: int) -> ArrowShape:
    """An arc from the cause row to the emotion row, entering the emotion row from the left."""
    if emotion == cause:
        y = page.anchor(emotion)
        start, end, reach = y - 6, y + 6, SELF_LOOP
        path = (
            f"M{x - 2:.1f} {start:.1f} C{x - reach:.1f} {start - 10:.1f} "
            f"{x - reach:.1f} {end + 10:.1f} {x - 7:.1f} {end:.1f}"
        )
    else:
        start, end = page.anchor(cause) - 4, page.anchor(emotion) + 4
        reach = bulge(emotion - cause)
        path = (
            f"M{x - 2:.1f} {start:.1f} C{x - reach:.1f} {start:.1f} "
            f"{x - reach:.1f} {end:.1f} {x - 7:.1f} {end:.1f}"
        )
    head = f"{x:.1f},{end:.1f} {x - 8:.1f},{end - 4.5:.1f} {x - 8:.1f},{end + 4.5:.1f}"
    return ArrowShape(path, head, x - 0.75 * reach - 3, (start + end) / 2 + 3.5)
