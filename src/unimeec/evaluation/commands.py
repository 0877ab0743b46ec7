"""``unimeec evaluate``: score a prediction file against gold, optionally against a second system."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from unimeec.data.io import read_conversations
from unimeec.errors import ConfigError, DataFormatError
from unimeec.evaluation.counts import validate_predictions
from unimeec.evaluation.report import evaluate_report, make_layout

#: Resamples used with ``--compare`` when ``--bootstrap`` is not given.
DEFAULT_COMPARE_RESAMPLES = 1000


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score predictions (MERC, MECPE, MECPE-Cat, SemEval-2024 Task 3)",
        description="Score predicted emotions and emotion-cause pairs against gold, with the "
        "definitions of the official scorers. Conversations are matched by id; a prediction "
        "file may omit conversations (they count as predicting nothing) but not invent ids or "
        "utterance indices.",
    )
    parser.add_argument("--gold", required=True, type=Path, help="gold conversations")
    parser.add_argument("--pred", required=True, type=Path, help="predictions of system A")
    parser.add_argument(
        "--format",
        default=None,
        help="format of the files (jsonl, semeval, ecf, ...; default: detected "
        "from name and content)",
    )
    parser.add_argument(
        "--gold-format", default=None, help="format of the gold file when it differs from --format"
    )
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        metavar="PRED_B",
        help="predictions of system B: paired bootstrap test of A against B",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=None,
        metavar="N",
        help="bootstrap resamples for confidence intervals (default: 0, or "
        f"{DEFAULT_COMPARE_RESAMPLES} with --compare)",
    )
    parser.add_argument(
        "--confidence",
        type=float,
        default=0.95,
        help="confidence level of the intervals (default: 0.95)",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="OUT",
        help="write every figure to this JSON file",
    )
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    bootstrap = args.bootstrap
    if bootstrap is None:
        bootstrap = DEFAULT_COMPARE_RESAMPLES if args.compare is not None else 0
    if bootstrap < 0:
        raise ConfigError(f"--bootstrap must be >= 0, got {bootstrap}")
    if not 0 < args.confidence < 1:
        raise ConfigError(f"--confidence must be between 0 and 1, got {args.confidence}")
    gold_format = args.gold_format or args.format
    gold = read_conversations(args.gold, format=gold_format)
    pred = read_conversations(args.pred, format=args.format)
    compare = (
        read_conversations(args.compare, format=args.format) if args.compare is not None else None
    )
    try:
        layout = make_layout(gold)
    except DataFormatError as err:
        raise err.located(path=args.gold) from None
    for path, system in ((args.pred, pred), (args.compare, compare)):
        if system is None:
            continue
        try:
            validate_predictions(gold, system, layout)
        except DataFormatError as err:
            raise err.located(path=path) from None
    report = evaluate_report(
        gold, pred, compare=compare, bootstrap=bootstrap, seed=args.seed, confidence=args.confidence
    )
    report.settings.update(
        {
            "gold": str(args.gold),
            "pred": str(args.pred),
            "compare": str(args.compare) if args.compare else None,
        }
    )
    print(report.format_table())
    if args.json is not None:
        from unimeec.outputs import write_text

        write_text(args.json, json.dumps(report.to_dict(), indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0
