"""Row heights and arrow geometry of a conversation page, computed by hand."""

from __future__ import annotations

import pytest

from unimeec.report import geometry
from unimeec.report.view import Arrow, ConversationView, UtteranceRow


def test_character_widths() -> None:
    widths = [geometry.char_width_em(c) for c in ("W", "A", "a", "i", "5", ",", " ", "é", "中")]
    assert widths == [1.0, 0.8, 0.64, 0.4, 0.64, 0.5, 0.33, 0.8, 1.05]


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [
        ("", 5.5, 1),
        ("aaaa aaaa", 5.5, 1),  # 2.56 + 0.33 + 2.56 = 5.45 em
        ("aaaa aaaa aaaa", 5.5, 2),
        ("a" * 20, 5.5, 3),  # 12.8 em broken anywhere: ceil(12.8 / 5.5)
        # a line, the long word on 3 more, the last word beside its 1.8 em tail
        ("aaaa " + "a" * 20 + " aaaa", 5.5, 4),
    ],
)
def test_wrapped_lines(text: str, width: float, lines: int) -> None:
    assert geometry.wrapped_lines(text, width) == lines


def _view(arrows: list[Arrow]) -> ConversationView:
    # "text" is 2.08 em; 15 words a line: 15 * 2.08 + 14 * 0.33 = 35.82 em <= 38 < 38.23
    long_text = " ".join(["text"] * 45)
    rows = (
        UtteranceRow(1, "A", "Hi.", "joy", 0.9, None, "plain"),
        UtteranceRow(2, "B", long_text, "neutral", 0.6, None, "plain"),
        UtteranceRow(3, "A", "Oh.", "anger", 0.5, "joy", "wrong"),
    )
    return ConversationView("c", rows, tuple(arrows), judged=True, has_prediction=True)


def test_rows_get_the_height_of_their_text() -> None:
    assert geometry.wrapped_lines(" ".join(["text"] * 45)) == 3
    assert geometry.wrapped_lines(" ".join(["text"] * 46)) == 4
    page = geometry.layout_page(_view([]))
    line, pad = geometry.LINE_PX, geometry.ROW_PADDING_PX
    # a wrong emotion takes two lines (the predicted chip, then the gold one)
    assert page.heights == (line + 2 * pad, 3 * line + 2 * pad, 2 * line + 2 * pad)
    assert page.tops == (0, 35, 35 + 77) and page.height == 35 + 77 + 56
    assert page.anchor(2) == 35 + pad + line / 2  # the middle of the row's first line


def test_arrows_run_from_the_cause_row_into_the_emotion_row() -> None:
    arrows = [Arrow(3, 1, "correct", 0.8, "anger"), Arrow(2, 2, "missed", None, "joy")]
    page = geometry.layout_page(_view(arrows))
    reach = geometry.bulge(2)
    assert reach == geometry.BULGE_BASE + geometry.BULGE_STEP
    assert page.gutter == int(0.75 * reach + geometry.LABEL_ROOM + 10) + 1
    x = page.gutter - 4
    start, end = page.anchor(1) - 4, page.anchor(3) + 4
    assert page.arrows[0].path == (
        f"M{x - 2:.1f} {start:.1f} C{x - reach:.1f} {start:.1f} "
        f"{x - reach:.1f} {end:.1f} {x - 7:.1f} {end:.1f}"
    )
    assert page.arrows[0].head.startswith(f"{x:.1f},{end:.1f} ")  # the tip, at the row's edge
    loop = page.arrows[1]  # self pair: a loop that leaves and enters row 2
    assert loop.path.startswith(f"M{x - 2:.1f} {page.anchor(2) - 6:.1f} ")
    assert loop.head.startswith(f"{x:.1f},{page.anchor(2) + 6:.1f} ")


def test_longer_arcs_reach_further_up_to_a_cap() -> None:
    reaches = [geometry.bulge(d) for d in (1, -1, 2, 5, 100)]
    assert reaches[0] == reaches[1] < reaches[2] < reaches[3] < reaches[4] == geometry.BULGE_MAX
