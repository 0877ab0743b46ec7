"""``unimeec serve``: an HTTP service for dialogue systems (FastAPI + uvicorn).

Why a service: a dialogue system needs emotions and causes from a running process, not a
Python call inside a training repository. The parts, one idea each:

``app``       the FastAPI application: endpoints, limits, one-line JSON errors
``schemas``   request bodies (pydantic, unknown keys rejected) and their conversion
``batching``  the micro-batcher that merges concurrent requests into one forward
``sessions``  the online mode: conversations kept by the server, with stated limits
``commands``  the ``unimeec serve`` sub-command

Inference goes through :class:`unimeec.predict.Predictor` only. See docs/serving.md.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Lazy exports: ``unimeec --help`` imports ``serving.commands`` and must not load FastAPI
#: or torch.
_EXPORTS = {
    "ServiceSettings": "unimeec.serving.app",
    "create_app": "unimeec.serving.app",
    "model_version": "unimeec.serving.app",
}

__all__ = ["ServiceSettings", "create_app", "model_version"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
