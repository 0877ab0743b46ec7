"""The report in a real browser (Debian's Chromium, headless, driven by Playwright): what a
person sees on the pages of real ECF 1.0 test predictions.

Set ``UNIMEEC_REPORT_SCREENSHOT=docs/images/report-conversation.png`` to also save the
conversation screenshot where the docs show it.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

from unimeec.evaluation.counts import count_conversation
from unimeec.evaluation.report import TABLE_ORDER, evaluate_report, make_layout
from unimeec.report.view import build_view

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: Everything a person sees on a conversation page, read from the laid-out page.
READ_CONVERSATION = """() => {
  const svg = document.querySelector("svg.um-arrows");
  const box = svg.getBoundingClientRect();
  const inside = (y, rect) => y >= rect.top && y <= rect.bottom;
  const arrows = Array.from(svg.querySelectorAll("g.um-arrow")).map((g) => {
    const path = g.querySelector("path"), head = g.querySelector("polygon");
    const tip = head.points.getItem(0), start = path.getPointAtLength(0);
    // arrows meet a row on its first line, beside the speaker's name
    const line = (index) => document.querySelector("#u" + index + " .um-speaker").getBoundingClientRect();
    const emotion = line(g.dataset.emotion), cause = line(g.dataset.cause);
    const rowLeft = (index) => document.getElementById("u" + index).getBoundingClientRect().left;
    const rect = g.getBoundingClientRect(), style = getComputedStyle(path);
    return {status: g.dataset.status, visible: rect.width > 0 && rect.height > 0
              && style.visibility === "visible" && style.display !== "none",
            look: style.stroke + " " + style.strokeDasharray,
            endsInEmotionRow: inside(box.top + tip.y, emotion)
              && Math.abs(box.left + tip.x - rowLeft(g.dataset.emotion)) < 8,
            startsInCauseRow: inside(box.top + start.y, cause)};
  });
  const rows = Array.from(document.querySelectorAll("li.um-row")).map((li) => {
    const rect = li.getBoundingClientRect();
    const text = li.querySelector(".um-text").getBoundingClientRect();
    const chip = li.querySelector(".um-pred .um-chip");
    return {status: li.dataset.status, textFits: text.bottom <= rect.bottom + 0.5,
            struck: chip !== null && getComputedStyle(chip).textDecorationLine.includes("line-through"),
            goldShown: li.querySelector(".um-goldline .um-chip") !== null};
  });
  return {id: document.querySelector(".um-conv").dataset.conversation,
          title: document.querySelector("h1").textContent, arrows, rows,
          legend: document.querySelector(".um-legend").innerText};
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A page that may load local files only: any other request is blocked and reported."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    elsewhere: list[str] = []

    def only_files(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith("file://"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            elsewhere.append(url)
            route.abort()  # type: ignore[attr-defined]

    context.route("**/*", only_files)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    yield page
    context.close()
    assert elsewhere == [], "the report asked for files outside the site"
    assert errors == [], "script errors on the page"


def _file(url: str) -> Path:
    return Path(unquote(urlparse(url).path))


#: Conversation pages read in the browser: the busiest and the wordiest, and an even spread.
SAMPLE = 20


def _sample(views: list) -> list[str]:
    busiest = sorted(views, key=lambda v: (-len(v.arrows), v.id))[:SAMPLE]
    wordiest = sorted(views, key=lambda v: (-max(len(r.text) for r in v.rows), v.id))[:SAMPLE]
    spread = views[:: len(views) // SAMPLE]
    return list(dict.fromkeys(v.id for v in [*busiest, *wordiest, *spread]))


def test_index_links_open_pages_that_show_every_pair(
    site_dir: Path, page, ecf_test, predictions
) -> None:
    page.goto((site_dir / "index.html").as_uri())
    links = page.eval_on_selector_all("#um-index tbody a", "as => as.map(a => a.href)")
    assert len(links) == len(ecf_test) == 261
    assert all(_file(link).is_file() for link in links)  # every link resolves
    by_id = {g.id: (g, p) for g, p in zip(ecf_test, predictions, strict=True)}
    link_of = {_file(link).stem: link for link in links}
    views = [build_view(p, g) for g, p in by_id.values()]
    sample = _sample(views)
    assert len(sample) > 40
    layout = make_layout(ecf_test)
    looks: dict[str, set[str]] = {}
    for cid in sample:
        page.goto(link_of[cid])
        seen = page.evaluate(READ_CONVERSATION)
        gold, pred = by_id[cid]
        assert seen["id"] == cid and seen["title"] == f"Conversation {cid}"
        tp, n_pred, n_gold = layout.view(count_conversation(gold, pred, layout), "pairs")
        statuses = [a["status"] for a in seen["arrows"]]
        # one visible arrow per distinct pair, gold or predicted, each between its two rows
        assert len(statuses) == n_pred + n_gold - tp == len(gold.pair_set() | pred.pair_set())
        assert all(
            a["visible"] and a["endsInEmotionRow"] and a["startsInCauseRow"] for a in seen["arrows"]
        ), cid
        # the marks are the evaluation's counts for this conversation
        assert (
            statuses.count("correct"),
            statuses.count("spurious"),
            statuses.count("missed"),
        ) == (tp, n_pred - tp, n_gold - tp), cid
        for arrow in seen["arrows"]:
            looks.setdefault(arrow["status"], set()).add(arrow["look"])
        wrong = [
            k
            for k, (g, p) in enumerate(zip(gold.utterances, pred.utterances))
            if g.emotion != p.emotion
        ]
        assert [k for k, r in enumerate(seen["rows"]) if r["status"] == "wrong"] == wrong
        assert all(r["struck"] and r["goldShown"] for r in seen["rows"] if r["status"] == "wrong")
        assert not any(r["struck"] for r in seen["rows"] if r["status"] != "wrong")
        assert all(r["textFits"] for r in seen["rows"]), cid  # no text spills into the next row
        assert "spurious pair" in seen["legend"] and "missed pair" in seen["legend"]
    # each status looks the same everywhere and different from the others
    assert sorted(looks) == ["correct", "missed", "spurious"]
    assert all(len(v) == 1 for v in looks.values()) and len(set.union(*looks.values())) == 3
    # the evaluation page's counts are the evaluation's, and the marks of all pages add up to them
    page.goto((site_dir / "evaluation.html").as_uri())
    report = evaluate_report(ecf_test, predictions)
    correct = sum(v.count("correct") for v in views)
    assert (
        f"{report.counts['gold_pairs']} gold, {report.counts['pred_pairs']} predicted "
        f"({correct} correct, {report.counts['gold_pairs'] - correct} missed, "
        f"{report.counts['pred_pairs'] - correct} spurious)"
    ) in page.inner_text(".um-summary")
    assert sum(v.count("missed") for v in views) == report.counts["gold_pairs"] - correct


def test_index_search_and_sort(site_dir: Path, page, ecf_test, predictions) -> None:
    page.goto((site_dir / "index.html").as_uri())
    visible = (
        "() => Array.from(document.querySelectorAll('#um-index tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.cells[0].textContent)"
    )
    assert len(page.evaluate(visible)) == 261
    target = ecf_test[40]
    phrase = target.utterances[-1].text[:25]
    page.fill("#um-search", phrase.upper())  # case-insensitive
    expected = [
        c.id
        for c in ecf_test
        if phrase.lower()
        in " ".join([c.id, *(f"{u.speaker} {u.text}" for u in c.utterances)]).lower()
    ]
    assert target.id in expected and page.evaluate(visible) == expected
    assert page.inner_text("#um-shown") == str(len(expected))
    page.fill("#um-search", "")
    assert len(page.evaluate(visible)) == 261
    errors = {g.id: build_view(p, g).errors for g, p in zip(ecf_test, predictions, strict=True)}
    header = page.locator("#um-index thead th", has_text="errors").first
    header.click()
    ascending = page.evaluate(visible)
    assert [errors[i] for i in ascending] == sorted(errors.values())
    header.click()
    descending = [errors[i] for i in page.evaluate(visible)]
    assert descending == sorted(errors.values(), reverse=True)
    first = page.evaluate(visible)[0]
    page.click("#um-index tbody tr:first-child a")  # a link works when clicked, too
    assert page.inner_text("h1") == f"Conversation {first}"


def _screenshot_variance(png: bytes) -> float:
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    return float(pixels.std())


def test_evaluation_page_shows_its_figures(site_dir: Path, page, ecf_test, predictions) -> None:
    page.goto((site_dir / "evaluation.html").as_uri())
    images = page.eval_on_selector_all(
        "figure img", "imgs => imgs.map(i => [i.getAttribute('src'), i.naturalWidth])"
    )
    assert [src for src, _ in images] == [
        f"plots/{n}.svg" for n in ("confusion", "per_class_f1", "distance", "threshold")
    ]
    assert all(width > 200 for _, width in images)
    shown = page.eval_on_selector_all(".um-metrics tbody tr", "rs => rs.map(r => r.dataset.metric)")
    from unimeec.evaluation import evaluate

    metrics = evaluate(ecf_test, predictions)
    assert shown == [name for name in TABLE_ORDER if name in metrics]
    assert _screenshot_variance(page.screenshot(full_page=True)) > 20


def test_conversation_screenshot_is_not_blank(
    site_dir: Path, page, ecf_test, predictions, tmp_path: Path
) -> None:
    views = [build_view(p, g) for g, p in zip(ecf_test, predictions, strict=True)]
    mixed = [
        v
        for v in views
        if len(v.rows) >= 6
        and v.emotion_errors
        and all(v.count(s) for s in ("correct", "spurious", "missed"))
    ]
    shown = min(mixed, key=lambda v: (len(v.arrows), v.id))
    page.goto((site_dir / "conversations" / f"{shown.id}.html").as_uri())
    png = page.screenshot(full_page=True)
    assert _screenshot_variance(png) > 20
    # the conversation itself, not only the page around it, has ink: arrows and chips
    assert _screenshot_variance(page.locator(".um-conv").screenshot()) > 20
    (tmp_path / "conversation.png").write_bytes(png)
    target = os.environ.get("UNIMEEC_REPORT_SCREENSHOT")
    if target:
        shutil.copyfile(tmp_path / "conversation.png", target)


def test_notebook_view_draws_the_same_arrows(page, ecf_test, predictions) -> None:
    conv = predictions[3]
    page.set_content(conv._repr_html_())
    arrows = page.eval_on_selector_all(
        "g.um-arrow", "gs => gs.map(g => g.getBoundingClientRect().width)"
    )
    assert len(arrows) == len(conv.pair_set()) and all(w > 0 for w in arrows)
    chips = page.eval_on_selector_all(".um-pred .um-chip", "cs => cs.map(c => c.textContent)")
    assert chips == [u.emotion for u in conv.utterances]


def test_the_longest_real_utterances_fit_their_rows(
    page, shared_data: Path, tmp_path: Path
) -> None:
    """Row heights are estimated before the browser lays text out: the estimate must hold for
    the longest utterances of ECF 1.0 and MELD (and shouting in capitals)."""
    from unimeec.data import load_dataset
    from unimeec.data.schema import Conversation, Utterance
    from unimeec.report import build_report

    texts = [
        u.text
        for name in ("ecf1", "meld")
        for split in ("train", "dev", "test")
        for c in load_dataset(name, split, shared_data)
        for u in c.utterances
    ]
    longest = sorted(set(texts), key=lambda t: (-len(t), t))[:150]
    shouting = [t.upper() for t in longest[:30]]
    conv = Conversation(
        "long",
        [
            Utterance(k, "Speaker", text, "joy")
            for k, text in enumerate([*longest, *shouting], start=1)
        ],
        dataset="ecf1",
    )
    site = build_report([conv], tmp_path / "site", progress=False)
    page.goto(site.pages["long"].as_uri())
    seen = page.evaluate(READ_CONVERSATION)
    assert len(seen["rows"]) == 180 and all(r["textFits"] for r in seen["rows"])
