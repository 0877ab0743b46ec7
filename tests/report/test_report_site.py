"""The site on disk: files, names, the evaluation figures, errors of the CLI, the notebook view."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from unimeec.cli import main
from unimeec.data import write_conversations
from unimeec.data.schema import Conversation, EmotionCausePair, Utterance
from unimeec.evaluation import evaluate_report
from unimeec.report import build_report
from unimeec.report.site import page_names


def test_page_names_are_safe_and_never_collide() -> None:
    names = page_names(["101", "a/b c", "A", "a", "///", "x" * 90])
    assert names["101"] == "101.html" and names["A"] == "A.html"
    assert names["a/b c"].startswith("a_b_c-") and names["a/b c"].endswith(".html")
    assert names["a"].startswith("a-") and names["///"].startswith("conversation-")
    assert len({n.lower() for n in names.values()}) == len(names)
    assert all(len(n) < 90 for n in names.values())


def test_site_files(site_dir: Path, ecf_test: list[Conversation]) -> None:
    pages = sorted((site_dir / "conversations").glob("*.html"))
    assert len(pages) == len(ecf_test) == 261
    assert (site_dir / "index.html").is_file() and (site_dir / "assets" / "report.css").is_file()
    for name in ("confusion", "per_class_f1", "distance", "threshold"):
        png = (site_dir / "plots" / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000, name
        root = ET.parse(site_dir / "plots" / f"{name}.svg").getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name
    for page in [site_dir / "index.html", site_dir / "evaluation.html", *pages[:20]]:
        html = page.read_text(encoding="utf-8")
        assert 'src="http' not in html and 'href="http' not in html and "<script src" not in html


def test_evaluation_json_is_the_evaluation_report(site_dir: Path, ecf_test, predictions) -> None:
    saved = json.loads((site_dir / "evaluation.json").read_text(encoding="utf-8"))
    settings = saved["settings"]
    assert (settings["bootstrap"], settings["seed"], settings["confidence"]) == (200, 0, 0.95)
    report = evaluate_report(ecf_test, predictions, bootstrap=200, seed=0)
    assert saved["metrics"] == pytest.approx(report.metrics, abs=1e-12)
    assert saved["intervals"]["mecpe_pair_f1"] == pytest.approx(
        {
            "estimate": report.intervals["mecpe_pair_f1"].estimate,
            "low": report.intervals["mecpe_pair_f1"].low,
            "high": report.intervals["mecpe_pair_f1"].high,
        }
    )
    marks, counts = saved["marks"], saved["counts"]
    assert marks["correct"] + marks["missed"] == counts["gold_pairs"] == 1873
    assert marks["correct"] + marks["spurious"] == counts["pred_pairs"]
    assert sum(saved["distances"]["gold"].values()) == 1873
    assert saved["threshold_curve"]["f1"][0] == pytest.approx(report.metrics["mecpe_pair_f1"])
    page = (site_dir / "evaluation.html").read_text(encoding="utf-8")
    f1 = report.intervals["mecpe_pair_f1"]
    assert (
        f'<tr data-metric="mecpe_pair_f1"><td>mecpe_pair_f1</td>'
        f"<td>{100 * report.metrics['mecpe_pair_f1']:.2f}</td>"
        f"<td>[{100 * f1.low:.2f}, {100 * f1.high:.2f}]</td></tr>"
    ) in page


def test_same_input_gives_the_same_site(tmp_path: Path, ecf_test, predictions) -> None:
    first = build_report(predictions[:15], tmp_path / "a", ecf_test[:15], bootstrap=50)
    build_report(predictions[:15], tmp_path / "b", ecf_test[:15], bootstrap=50)
    files = sorted(
        p.relative_to(first.directory) for p in first.directory.rglob("*") if p.is_file()
    )
    assert len(files) == 15 + 2 + 1 + 1 + 8  # pages, index + evaluation, json, css, plots
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_report_without_gold(
    tmp_path: Path, predictions_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "site"
    assert main(["report", str(predictions_file), "--out", str(out), "--no-progress"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote 261 conversation pages to {out}",
        f"open {out / 'index.html'}",
    ]
    assert not (out / "evaluation.html").exists() and not (out / "plots").exists()
    page = (out / "conversations" / "101.html").read_text(encoding="utf-8")
    assert "um-predicted" in page and "um-spurious" not in page and "Evaluation" not in page


def test_text_is_escaped(tmp_path: Path) -> None:
    conv = Conversation(
        "x",
        [
            Utterance(1, "<i>Eve</i>", "<script>alert(1)</script> & co", "joy"),
            Utterance(2, "Bob", "ok", "neutral"),
        ],
        [EmotionCausePair(1, 2, score=0.5)],
        dataset="ecf1",
    )
    site = build_report([conv], tmp_path / "site")
    html = site.pages["x"].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html and "<script>" not in html
    assert "&lt;i&gt;Eve&lt;/i&gt;" in html


def _cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 1
    return capsys.readouterr().err.strip()


def test_cli_errors_name_the_file(
    tmp_path: Path, gold_file: Path, ecf_test, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    stray = Conversation("no-such-id", [Utterance(1, "A", "hi")], dataset="ecf1")
    write_conversations([stray], bad)
    out = str(tmp_path / "site")
    assert _cli_error(["report", str(bad), "--gold", str(gold_file), "--out", out], capsys) == (
        f"unimeec report: error: {bad}, conversation no-such-id, field 'id': prediction for a "
        "conversation id that is not in the gold data"
    )
    outside = ecf_test[0].with_predictions(pairs=[EmotionCausePair(1, 1)])
    outside.utterances.append(Utterance(len(outside) + 1, "A", "extra"))
    write_conversations([outside], bad)
    assert _cli_error(
        ["report", str(bad), "--gold", str(gold_file), "--out", out], capsys
    ).startswith(
        f"unimeec report: error: {bad}, conversation "
        f"{outside.id}, field 'utterances': prediction has"
    )
    assert _cli_error(["report", str(bad), "--out", out, "--bootstrap", "-1"], capsys) == (
        "unimeec report: error: --bootstrap must be >= 0, got -1"
    )
    assert _cli_error(["report", str(bad), "--out", str(bad)], capsys) == (
        f"unimeec report: error: --out {bad} exists and is not a directory"
    )
    assert _cli_error(["report", str(tmp_path / "missing.jsonl"), "--out", out], capsys) == (
        f"unimeec report: error: {tmp_path / 'missing.jsonl'}: no such file"
    )


def test_notebook_view_is_the_report_view() -> None:
    conv = Conversation(
        "nb",
        [
            Utterance(1, "A", "I got the job!", "joy", emotion_scores={"joy": 0.9, "neutral": 0.1}),
            Utterance(2, "B", "Wow.", "surprise"),
        ],
        [EmotionCausePair(1, 1, score=0.8), EmotionCausePair(2, 1, score=0.6)],
        dataset="ecf1",
    )
    html = conv._repr_html_()
    assert html is not None and html.count('<g class="um-arrow um-predicted"') == 2
    assert "<style>" in html and ">0.90</span>" in html and ">0.60</text>" in html


def test_notebook_view_without_jinja2_falls_back_to_the_plain_repr(monkeypatch) -> None:
    import sys

    from unimeec.report import render

    monkeypatch.setitem(sys.modules, "jinja2", None)  # as if not installed
    render.environment.cache_clear()
    try:
        conv = Conversation("nb", [Utterance(1, "A", "hi", "joy")], dataset="ecf1")
        with pytest.warns(
            UserWarning,
            match=r"the report needs jinja2: pip install "
            r"'unimeec\[report\]'; showing the plain repr",
        ):
            assert conv._repr_html_() is None
    finally:
        render.environment.cache_clear()


def test_cli_without_matplotlib_says_which_extra(
    tmp_path: Path,
    predictions_file: Path,
    gold_file: Path,
    monkeypatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    out = tmp_path / "site"
    assert _cli_error(
        ["report", str(predictions_file), "--gold", str(gold_file), "--out", str(out)], capsys
    ) == ("unimeec report: error: the report needs matplotlib: pip install 'unimeec[report]'")
    assert not (out / "conversations").exists()
