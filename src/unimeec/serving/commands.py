"""``unimeec serve``: load a checkpoint once and answer HTTP requests (docs/serving.md)."""

from __future__ import annotations

import argparse

from unimeec.argtypes import non_negative_float, positive_float, positive_int
from unimeec.errors import ConfigError


def _serve(args: argparse.Namespace) -> int:
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ModuleNotFoundError as err:
        raise ConfigError(f"unimeec serve needs {err.name}: pip install 'unimeec[serve]'") from None

    from unimeec.predict import Predictor
    from unimeec.serving.app import ServiceSettings, create_app, model_version
    from unimeec.serving.schemas import InputLimits
    from unimeec.serving.sessions import SessionLimits

    settings = ServiceSettings(
        max_batch_size=args.max_batch_size,
        max_wait_ms=args.max_wait_ms,
        max_body_bytes=args.max_body_bytes,
        inputs=InputLimits(
            max_conversations=args.max_conversations,
            max_utterances=args.max_utterances,
            max_text_chars=args.max_text_chars,
        ),
        sessions=SessionLimits(
            max_sessions=args.max_sessions,
            max_turns=args.max_utterances,
            idle_s=args.session_idle_s,
        ),
    )
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    predictor = Predictor.from_pretrained(
        args.checkpoint, device=args.device, batch_size=args.max_batch_size, quantize=args.quantize
    )
    version = model_version(predictor)
    app = create_app(predictor, settings=settings, version=version)
    print(f"serving {version} on http://{args.host}:{args.port} (OpenAPI page: /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve`` to the ``unimeec`` command."""
    p = subparsers.add_parser(
        "serve",
        help="serve a saved model over HTTP (predict, online sessions)",
        description="Load a run or model directory and serve it with FastAPI + uvicorn: "
        "POST /predict, online sessions under /sessions/{id}, GET /health, GET /info and the "
        "OpenAPI page at /docs. Concurrent requests are micro-batched into one forward.",
    )
    p.add_argument("--checkpoint", required=True, help="run directory or its model/ directory")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to listen on (default: 127.0.0.1, this machine only)",
    )
    p.add_argument("--port", type=positive_int, default=8000, help="TCP port (default: 8000)")
    p.add_argument(
        "--max-batch-size",
        type=positive_int,
        default=8,
        help="most conversations in one forward (default: 8)",
    )
    p.add_argument(
        "--max-wait-ms",
        type=non_negative_float,
        default=5.0,
        help="how long a request waits for others to share its forward (default: 5)",
    )
    p.add_argument(
        "--quantize",
        choices=("none", "int8"),
        default="none",
        help="int8: dynamic quantisation of the backbone's linear layers, faster "
        "on CPU (default: none)",
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        help="torch threads for the forward (default: torch's; on a CPU shared with other "
        "jobs, 1 can be faster, see docs/serving.md)",
    )
    p.add_argument(
        "--device", help="cpu or cuda (default: cuda when available, cpu with --quantize int8)"
    )
    p.add_argument(
        "--max-conversations",
        type=positive_int,
        default=64,
        help="most conversations in one /predict request (default: 64)",
    )
    p.add_argument(
        "--max-utterances",
        type=positive_int,
        default=100,
        help="most utterances in a conversation or a session (default: 100)",
    )
    p.add_argument(
        "--max-text-chars",
        type=positive_int,
        default=2000,
        help="longest speaker or text of one utterance (default: 2000)",
    )
    p.add_argument(
        "--max-body-bytes",
        type=positive_int,
        default=1 << 20,
        help="largest request body (default: 1048576)",
    )
    p.add_argument(
        "--max-sessions",
        type=positive_int,
        default=1000,
        help="most sessions kept at once (default: 1000)",
    )
    p.add_argument(
        "--session-idle-s",
        type=positive_float,
        default=1800.0,
        help="seconds after which an idle session is forgotten (default: 1800)",
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn's log level (default: info)",
    )
    p.set_defaults(handler=_serve)
