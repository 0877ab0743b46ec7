"""The ``unimeec`` command.

Each area registers its own sub-commands (``register(subparsers)`` in its ``commands``
module) so that this file stays a dispatcher. Heavy imports (torch, transformers) happen
inside the command handlers, so ``unimeec --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from unimeec import __version__
from unimeec.errors import UnimeecError

#: Modules providing ``register(subparsers)``; a module not yet present is skipped.
COMMAND_MODULES: tuple[str, ...] = (
    "unimeec.data.commands",
    "unimeec.features.commands",
    "unimeec.training.commands",
    "unimeec.evaluation.commands",
    "unimeec.report.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unimeec",
        description="Unified multimodal emotion recognition and emotion-cause analysis "
        "in conversations (UniMEEC).",
    )
    parser.add_argument("--version", action="version", version=f"unimeec {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except UnimeecError as err:
        print(f"unimeec {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
