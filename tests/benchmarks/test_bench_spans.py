"""benchmarks/spans.py in its --smoke form: rows, baselines checked independently, --run."""

from __future__ import annotations

import json

import pytest

from unimeec.data import load_dataset
from unimeec.data.holdout import holdout_split
from unimeec.data.schema import CauseSpan, EmotionCausePair
from unimeec.evaluation import evaluate
from unimeec.models.spans import trimmed_range


def _gold_pair_baseline(dev, trimmed: bool):
    """Gold emotions and gold pairs inside [i - 7, i + 3], whole or trimmed utterances."""
    out = []
    for conv in dev:
        pairs = {}
        for p in conv.pairs:
            if -7 <= p.cause_utterance - p.emotion_utterance <= 3:
                text = conv.utterance(p.cause_utterance).text
                start, end = trimmed_range(text)
                span = CauseSpan(" ".join(text.split()[start:end]), start, end) if trimmed else None
                key = (p.emotion_utterance, p.emotion, p.cause_utterance)
                pairs.setdefault(key, EmotionCausePair(key[0], key[2], key[1], span))
        out.append(conv.with_predictions(pairs=list(pairs.values())))
    return out


def test_spans_smoke_rows_and_baselines(bench_dir, shared_data, tmp_path):
    import spans

    out = tmp_path / "spans.json"
    runs = tmp_path / "runs"
    args = ["--smoke", "--data-dir", str(shared_data), "--run-dir", str(runs)]
    assert spans.main([*args, "--out", str(out)]) == 0
    rows = {r["name"]: r for r in json.loads(out.read_text())}
    assert list(rows) == [
        "span-model",
        "baseline-whole-utterance",
        "baseline-trimmed-utterance",
        "span-model (gold pairs)",
        "baseline-whole-utterance (gold pairs)",
        "baseline-trimmed-utterance (gold pairs)",
    ]
    run = rows["span-model"]["runs"][0]
    assert run["submission_round_trip_equal"] is True
    assert run["dev_conversations"] == 1  # conversation 9 is the hold-out of the first 30
    dev = holdout_split(load_dataset("semeval2024", "train", shared_data)[:30], 0.1)[1]
    for name, trimmed in (
        ("baseline-whole-utterance", False),
        ("baseline-trimmed-utterance", True),
    ):
        expected = evaluate(dev, _gold_pair_baseline(dev, trimmed))
        got = rows[f"{name} (gold pairs)"]["metrics"]
        for key in ("semeval_st1_strict_weighted_f1", "semeval_st1_proportional_weighted_f1"):
            assert got[key] == pytest.approx(expected[key], abs=1e-12), (name, key)
    # --run rescored the finished run: the same numbers
    again = tmp_path / "again.json"
    assert spans.main([*args, "--run", str(runs / "spans-seed0"), "--out", str(again)]) == 0
    for row in json.loads(again.read_text()):
        assert row["metrics"] == pytest.approx(rows[row["name"]]["metrics"], abs=1e-12)
