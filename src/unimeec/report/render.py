"""Jinja2 rendering of conversations: the site's pages and the notebook view share one macro."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from unimeec.data.schema import Conversation
from unimeec.errors import UnimeecError
from unimeec.report.geometry import (
    FONT_PX,
    LINE_PX,
    ROW_PADDING_PX,
    TEXT_WIDTH_EM,
    ArrowShape,
    PageLayout,
    layout_page,
)
from unimeec.report.palette import ChipColours
from unimeec.report.view import Arrow, ConversationView, build_view

INSTALL_HINT = "pip install 'unimeec[report]'"


class MissingReportDependency(UnimeecError):
    """Jinja2 or matplotlib (the ``report`` extra) is not installed."""


def require(module: str) -> Any:
    """Import an optional dependency of the report, or say which extra brings it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingReportDependency(
            f"the report needs {module.split('.')[0]}: {INSTALL_HINT}"
        ) from None


@lru_cache(maxsize=1)
def environment() -> Any:
    """The template environment (autoescaped HTML; templates are package data)."""
    jinja2 = require("jinja2")
    return jinja2.Environment(
        loader=jinja2.PackageLoader("unimeec.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=False,
        lstrip_blocks=False,
        undefined=jinja2.StrictUndefined,
    )


@lru_cache(maxsize=1)
def stylesheet() -> str:
    return (
        resources.files("unimeec.report")
        .joinpath("templates", "report.css")
        .read_text(encoding="utf-8")
    )


class Chips:
    """``chip(emotion)``: the HTML of an emotion chip, built once per emotion (pages have
    thousands of chips; a template macro per chip dominated the rendering time)."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.colours = ChipColours(labels)
        self.labels = self.colours.labels
        self.example = self.colours.example
        self._cache: dict[tuple[str, str], Any] = {}

    def __call__(self, emotion: str, extra: str = "") -> Any:
        key = (emotion, extra)
        if key not in self._cache:
            markup = require("markupsafe").Markup
            self._cache[key] = markup(
                '<span class="um-chip{}" style="background:{};color:{}">{}</span>'
            ).format(
                f" {extra}" if extra else "",
                self.colours.background(emotion),
                self.colours.text(emotion),
                emotion,
            )
        return self._cache[key]


def legend_html(judged: bool, chip: Chips) -> Any:
    """The legend (the same on every page of a site, so rendered once)."""
    return environment().get_template("_macros.html.j2").module.legend(judged, chip)


@dataclass(frozen=True)
class PageGeometry:
    """The numbers the conversation macro needs: text metrics and the computed layout."""

    layout: PageLayout
    arrows: tuple[tuple[Arrow, ArrowShape], ...]
    font: int = FONT_PX
    line: int = LINE_PX
    pad: int = ROW_PADDING_PX
    text_width: float = TEXT_WIDTH_EM


def page_geometry(view: ConversationView) -> PageGeometry:
    layout = layout_page(view)
    return PageGeometry(layout, tuple(zip(view.arrows, layout.arrows)))


def labels_of(conversations: list[Conversation]) -> tuple[str, ...]:
    """The label set to colour by: the conversations' own, plus any emotion they use beyond it."""
    from unimeec.evaluation.counts import infer_labels

    labels = list(infer_labels(conversations))
    seen = {u.emotion for c in conversations for u in c.utterances if u.emotion is not None}
    return (*labels, *sorted(seen - set(labels)))


def conversation_html(conversation: Conversation, gold: Conversation | None = None) -> str:
    """An HTML fragment (with its own styles) showing ``conversation`` as the report does.

    With ``gold``, pairs and emotions are marked correct / missed / spurious / wrong.
    """
    view = build_view(conversation, gold)
    chip = Chips(labels_of([gold if gold is not None else conversation]))
    return (
        environment()
        .get_template("notebook.html.j2")
        .render(
            view=view,
            page=page_geometry(view),
            chip=chip,
            legend=legend_html(view.judged, chip),
            css=stylesheet(),
        )
    )


def repr_html(conversation: Conversation) -> str | None:
    """``Conversation._repr_html_``: the fragment, or None (the plain repr) with a warning
    when the report extra is missing."""
    try:
        return conversation_html(conversation)
    except MissingReportDependency as err:
        warnings.warn(f"{err}; showing the plain repr", UserWarning, stacklevel=2)
        return None
