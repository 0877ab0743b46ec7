"""``unimeec serve`` as a user starts it: a subprocess on a free port, int8, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from unimeec.cli import main
from unimeec.data import Conversation
from unimeec.predict import Predictor

TURNS = [["Monica", "You got the job?"], ["Rachel", "I got it!"], ["Ross", "What job?"]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_command_int8_end_to_end(tiny_checkpoint: Path) -> None:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "unimeec.cli",
        "serve",
        "--checkpoint",
        str(tiny_checkpoint),
        "--port",
        str(port),
        "--quantize",
        "int8",
        "--max-wait-ms",
        "0",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # a busy machine starts torch slowly
        while True:
            assert process.poll() is None, process.stdout.read()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "unimeec serve did not come up"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        info = httpx.get(f"{url}/info").json()
        assert info["quantize"] == "int8" and info["model_version"].endswith("+int8")
        assert info["settings"]["max_wait_ms"] == 0
        served = httpx.post(f"{url}/predict", json={"conversations": [TURNS]}).json()
        expected = Predictor.from_pretrained(tiny_checkpoint, quantize="int8").predict(
            [tuple(t) for t in TURNS]
        )
        assert isinstance(expected, Conversation)
        got = Conversation.from_dict(served["conversations"][0])
        assert [u.emotion for u in got.utterances] == [u.emotion for u in expected.utterances]
        for u, v in zip(got.utterances, expected.utterances):
            for label, p in v.emotion_scores.items():
                assert u.emotion_scores[label] == pytest.approx(p, abs=1e-5)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    # uvicorn shuts down gracefully, then re-raises the signal (the conventional status)
    assert process.returncode == -signal.SIGTERM, output
    assert "Traceback" not in output
    assert f"serving {info['model_version']} on {url} (OpenAPI page: /docs)" in output


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--max-batch-size", "0", "argument --max-batch-size: must be an integer >= 1, got 0"),
        ("--max-wait-ms", "-1", "argument --max-wait-ms: must be a number >= 0, got -1"),
        ("--session-idle-s", "0", "argument --session-idle-s: must be a number > 0, got 0"),
        ("--threads", "x", "argument --threads: must be an integer, got 'x'"),
    ],
)
def test_serve_command_refuses_impossible_settings(
    tiny_checkpoint: Path, flag: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # a usage error (exit code 2), before anything is loaded
    assert main(["serve", "--checkpoint", str(tiny_checkpoint), flag, value]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"unimeec serve: error: {message}"


def test_serve_command_names_a_missing_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--checkpoint", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err == (
        f"unimeec serve: error: {tmp_path / 'nope'}: checkpoint directory not found\n"
    )


def test_serving_never_imports_training_code(tiny_checkpoint: Path) -> None:
    """The service loads, predicts and answers without a single ``unimeec.training`` module."""
    script = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from unimeec.predict import Predictor\n"
        "from unimeec.serving import create_app\n"
        f"app = create_app(Predictor.from_pretrained({str(tiny_checkpoint)!r}, device='cpu'))\n"
        "with TestClient(app) as client:\n"
        "    r = client.post('/predict', json={'conversations': [[['A', 'Hi!']]]})\n"
        "    assert r.status_code == 200, r.text\n"
        "print(sorted(m for m in sys.modules if m.startswith(('unimeec.training', 'lightning'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"PYTHONWARNINGS": "ignore"},
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
