"""A real uvicorn server on a free loopback port, serving a tiny random checkpoint."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from unimeec.checkpoint import save_checkpoint
from unimeec.data import Conversation, load_dataset
from unimeec.predict import Predictor
from unimeec.serving import ServiceSettings, create_app
from unimeec.serving.schemas import InputLimits
from unimeec.serving.sessions import SessionLimits

#: Small limits, so that every limit can be crossed with a small request.
SETTINGS = ServiceSettings(
    max_batch_size=8,
    max_wait_ms=150.0,
    max_body_bytes=20_000,
    inputs=InputLimits(max_conversations=10, max_utterances=12, max_text_chars=2000),
    sessions=SessionLimits(max_sessions=3, max_turns=5, idle_s=600.0),
)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory, tiny_backbone: str) -> Path:
    """A saved UniMEEC model (random weights, tiny backbone) in a run directory."""
    import torch

    from unimeec.models import UniMEECConfig, UniMEECModel, UniMEECProcessor

    run_dir = tmp_path_factory.mktemp("serve") / "tiny-run"
    torch.manual_seed(0)
    model = UniMEECModel(UniMEECConfig(backbone=tiny_backbone, thc_heads=2)).eval()
    save_checkpoint(model, UniMEECProcessor.from_config(model.config), run_dir / "model")
    return run_dir


@pytest.fixture(scope="session")
def reference(tiny_checkpoint: Path) -> Predictor:
    """A second Predictor on the same checkpoint: what the server's answers must equal."""
    return Predictor.from_pretrained(tiny_checkpoint, device="cpu")


@pytest.fixture(scope="session")
def ecf_test(shared_data: Path) -> list[Conversation]:
    return load_dataset("ecf1", "test", shared_data)


@dataclass
class Server:
    url: str
    client: httpx.Client
    predictor: Predictor
    app: Any


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def server(tiny_checkpoint: Path) -> Iterator[Server]:
    """uvicorn in a thread on a port the OS picked; shut down (and checked) at the end."""
    import uvicorn

    predictor = Predictor.from_pretrained(tiny_checkpoint, device="cpu")
    app = create_app(predictor, settings=SETTINGS)
    sock = _free_socket()
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=60) as client:
        yield Server(url, client, predictor, app)
    uv.should_exit = True
    thread.join(timeout=30)
    assert not thread.is_alive(), "server did not shut down"
    sock.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)
