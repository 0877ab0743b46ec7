"""``unimeec report``: a static site of predictions, judged against gold when given."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

#: Bootstrap resamples behind the evaluation page's intervals.
DEFAULT_RESAMPLES = 1000


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="a static HTML report: conversations with emotions and cause arrows, evaluation plots",
        description="Write a self-contained static site (opens from file://, no network) with "
        "one page per conversation (emotions, their probabilities, cause -> emotion arrows with "
        "pair probabilities), a searchable, sortable index and, with --gold, correct / missed / "
        "spurious marks and an evaluation page (metrics with bootstrap intervals, confusion "
        "matrix, per-class F1, cause distances, P/R/F1 vs cause threshold).",
    )
    parser.add_argument(
        "predictions",
        type=Path,
        metavar="PREDICTIONS",
        help="predictions (our JSONL, as `unimeec predict` writes)",
    )
    parser.add_argument(
        "--gold", type=Path, default=None, help="gold conversations, in any format we read"
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="directory to write the site to (created; our files overwritten)",
    )
    parser.add_argument(
        "--format",
        default=None,
        help="format of PREDICTIONS (default: detected from name and content)",
    )
    parser.add_argument("--gold-format", default=None, help="format of --gold (default: detected)")
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=DEFAULT_RESAMPLES,
        metavar="N",
        help=f"bootstrap resamples for the intervals (default: {DEFAULT_RESAMPLES}; "
        "0: no intervals)",
    )
    parser.add_argument(
        "--confidence",
        type=float,
        default=0.95,
        help="confidence level of the intervals (default: 0.95)",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument("--title", default=None, help="title shown on every page")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    from unimeec.data import read_conversations
    from unimeec.errors import ConfigError, DataFormatError
    from unimeec.evaluation.counts import validate_predictions
    from unimeec.evaluation.report import make_layout
    from unimeec.report.site import DEFAULT_TITLE, build_report

    if args.bootstrap < 0:
        raise ConfigError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    if not 0 < args.confidence < 1:
        raise ConfigError(f"--confidence must be between 0 and 1, got {args.confidence}")
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {args.out} exists and is not a directory")
    predictions = read_conversations(args.predictions, format=args.format)
    gold = read_conversations(args.gold, format=args.gold_format) if args.gold is not None else None
    if not predictions:
        raise DataFormatError("no conversations in the file", path=args.predictions)
    if gold is not None:  # say which file is wrong, as `unimeec evaluate` does
        try:
            layout = make_layout(gold)
        except DataFormatError as err:
            raise err.located(path=args.gold) from None
        try:
            validate_predictions(gold, predictions, layout)
        except DataFormatError as err:
            raise err.located(path=args.predictions) from None
    try:
        site = build_report(
            predictions,
            args.out,
            gold,
            bootstrap=args.bootstrap,
            seed=args.seed,
            confidence=args.confidence,
            title=args.title or DEFAULT_TITLE,
            progress=False if args.no_progress else None,
        )
    except DataFormatError as err:
        raise err.located(path=args.predictions) from None
    print(f"wrote {len(site.pages)} conversation pages to {site.directory}")
    print(f"open {site.index}")
    if site.evaluation is not None:
        print(f"evaluation: {site.evaluation}")
    return 0
