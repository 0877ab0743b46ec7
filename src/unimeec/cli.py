"""The ``unimeec`` command.

Each area registers its own sub-commands (``register(subparsers)`` in its ``commands``
module) so that this file stays a dispatcher. Heavy imports (torch, transformers) happen
inside the command handlers, so ``unimeec --help`` is instant.

Exit codes (see docs/input-validation.md): 0 success; 1 a problem with the input, the
configuration or the environment that the message names (our
:class:`~unimeec.errors.UnimeecError`, one line); 2 a usage error (argparse); 70 an
unexpected exception, which is a bug in unimeec (one line; ``unimeec -v ...`` prints the
traceback); 130 interrupted; 141 the output pipe was closed (``| head``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
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
    "unimeec.serving.commands",
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


#: Exit code of an unexpected exception (``EX_SOFTWARE`` of BSD ``sysexits.h``).
EXIT_BUG = 70


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # usage error (2), or --help / --version (0)
        return done.code if isinstance(done.code, int) else 0 if done.code is None else 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except UnimeecError as err:
        print(f"unimeec {args.command}: error: {_one_line(str(err))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (``| head``): not a bug
        _silence_stdout()
        return 141
    except Exception as err:  # noqa: BLE001 - the last line of defence: a bug, said so
        if args.verbose:
            traceback.print_exc()
        hint = "" if args.verbose else "; rerun with 'unimeec -v ...' for the traceback"
        print(
            f"unimeec {args.command}: internal error ({type(err).__name__}: "
            f"{_one_line(str(err)) or 'no message'}). This is a bug in unimeec, please "
            f"report it{hint}",
            file=sys.stderr,
        )
        return EXIT_BUG


def _silence_stdout() -> None:
    """Point stdout at /dev/null so flushing it at exit raises no second BrokenPipeError."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


if __name__ == "__main__":
    sys.exit(main())
