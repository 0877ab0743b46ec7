"""``unimeec data stats|convert|download``."""

from __future__ import annotations

import argparse
from pathlib import Path

from unimeec.data.datasets import DATASETS, SPLITS, get_dataset
from unimeec.data.io import read_conversations, write_conversations
from unimeec.data.loading import DatasetNotFoundError, load_dataset, resolve_data_dir
from unimeec.data.sources import DOWNLOADS
from unimeec.data.stats import compute_stats
from unimeec.errors import DataFormatError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("data", help="inspect, convert and download datasets")
    commands = parser.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)

    stats = commands.add_parser(
        "stats",
        help="count conversations, utterances, emotions and pairs per split",
        description="PATH is a data file (format detected unless --format) or a dataset name "
        "(ecf1, meld, ...) looked up in --data-dir / $UNIMEEC_DATA.",
        epilog=dataset_list(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stats.add_argument("path", metavar="PATH")
    stats.add_argument("--format", help="file format (default: detected)")
    stats.add_argument(
        "--split", action="append", help="with a dataset name: only this split (repeatable)"
    )
    _data_dir(stats)
    stats.set_defaults(handler=_stats)

    convert = commands.add_parser("convert", help="convert a data file to JSONL or SemEval JSON")
    convert.add_argument("input", metavar="IN")
    convert.add_argument("output", metavar="OUT")
    convert.add_argument(
        "--to",
        dest="to_format",
        choices=("jsonl", "semeval-subtask1", "semeval-subtask2"),
        help="output format (default: jsonl for a .jsonl OUT)",
    )
    convert.add_argument("--format", help="input format (default: detected)")
    convert.add_argument(
        "--span-format",
        choices=("text", "positions"),
        help="semeval-subtask1 only: cause spans as text (the training files' "
        "form, default) or as token positions (the official submission form)",
    )
    convert.set_defaults(handler=_convert)

    download = commands.add_parser(
        "download", help="download official files (pinned commit, SHA-256 verified, resumable)"
    )
    download.add_argument("name", choices=(*DOWNLOADS, "all"))
    download.add_argument("--to", dest="dest", help="target directory (default: --data-dir)")
    download.add_argument(
        "--base-url",
        help="mirror laid out like the data directory "
        "(default: $UNIMEEC_DOWNLOAD_URL, else raw.githubusercontent.com)",
    )
    download.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _data_dir(download)
    download.set_defaults(handler=_download)


def dataset_list() -> str:
    """The registered datasets, one line each (the epilog of ``unimeec data stats``)."""
    lines = ["datasets:"]
    for spec in DATASETS.values():
        also = f" (also {', '.join(spec.aliases)})" if spec.aliases else ""
        lines.append(f"  {spec.name}{also}: {spec.description} (default task: {spec.default_task})")
    return "\n".join(lines)


def _data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="data directory (default: $UNIMEEC_DATA)")


def _stats(args: argparse.Namespace) -> int:
    if Path(args.path).is_file() or get_dataset(args.path) is None:
        conversations = read_conversations(args.path, args.format)
        print(f"{args.path}: {len(conversations):,} conversations")
    else:
        conversations = []
        for split in args.split or SPLITS:
            try:
                conversations += load_dataset(args.path, split, args.data_dir)
            except DatasetNotFoundError:
                if args.split:
                    raise
    for block in compute_stats(conversations):
        print(block.format())
    return 0


def _convert(args: argparse.Namespace) -> int:
    to_format = args.to_format
    if to_format is None:
        if Path(args.output).suffix != ".jsonl":
            raise DataFormatError(
                "give --to (jsonl, semeval-subtask1, semeval-subtask2)", field="--to"
            )
        to_format = "jsonl"
    conversations = read_conversations(args.input, args.format)
    write_conversations(conversations, args.output, to_format, span_format=args.span_format)
    print(f"wrote {len(conversations):,} conversations to {args.output} ({to_format})")
    return 0


def _download(args: argparse.Namespace) -> int:
    from unimeec.data.download import download_dataset  # imports requests

    dest = Path(args.dest) if args.dest else resolve_data_dir(args.data_dir)
    names = list(DOWNLOADS) if args.name == "all" else [args.name]
    for name in names:
        paths = download_dataset(name, dest, base_url=args.base_url, progress=not args.no_progress)
        for path in paths:
            print(f"{path}  OK")
    return 0
