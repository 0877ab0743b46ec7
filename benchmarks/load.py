"""Load test of ``unimeec serve`` on the loopback interface: fp32 and int8.

For each weight format, starts ``unimeec serve`` as a subprocess on a free port, then for
each number of concurrent clients (default 1, 8 and 32) sends ``POST /predict`` requests of
one 10-utterance conversation (the first 10 utterances of real ECF 1.0 test conversations,
round robin) from that many asyncio clients (httpx), bounded by ``--requests`` and
``--max-seconds`` per level. Reports requests/s, p50 and p99 latency, errors (anything but a
200), the server's peak RSS (``VmHWM``) and its mean micro-batch size (from ``/health``).

The clients run on the same machine as the server and share its cores.

    python benchmarks/load.py --checkpoint runs/ecf1-joint --out benchmarks/results/serve-load-cpu.json
    python benchmarks/load.py --smoke      # CI: tiny random checkpoint, few requests
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_common as bc
import httpx
from quantize import conversations_of_length, percentile

MODES = ("none", "int8")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="run or model directory (trained)")
    parser.add_argument("--data-dir", type=Path, default=bc.DEFAULT_DATA_DIR)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--clients", nargs="+", type=int, default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=200, help="most requests per level")
    parser.add_argument(
        "--max-seconds", type=float, default=60.0, help="a level stops sending after this long"
    )
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--utterances", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="the server's torch threads")
    parser.add_argument("--max-batch-size", type=int, default=8)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--machine-note", default=None)
    parser.add_argument("--out", type=Path, default=bc.RESULTS_DIR / "serve-load.json")
    parser.add_argument("--smoke", action="store_true")
    return parser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set (Linux ``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


class ServerProcess:
    """``unimeec serve`` in a subprocess, up when ``/health`` answers."""

    def __init__(self, checkpoint: Path, mode: str, args: argparse.Namespace, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [
            "unimeec",
            "serve",
            "--checkpoint",
            str(checkpoint),
            "--port",
            str(self.port),
            "--quantize",
            mode,
            "--max-batch-size",
            str(args.max_batch_size),
            "--max-wait-ms",
            str(args.max_wait_ms),
            "--log-level",
            "warning",
        ]
        env = os.environ | {
            "OMP_NUM_THREADS": str(args.threads),
            "MKL_NUM_THREADS": str(args.threads),
        }
        self.log = log
        with log.open("w") as sink:  # a file, not a pipe: a full pipe would block the server
            self.process = subprocess.Popen(
                [sys.executable, "-m", "unimeec.cli", *self.command[1:]],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 300
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"unimeec serve exited: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("unimeec serve did not come up in 300 s")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.5)

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/health", timeout=30).json()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def run_level(
    url: str, bodies: list[dict[str, Any]], clients: int, requests: int, max_seconds: float
) -> dict[str, float]:
    """``clients`` workers send requests one after another until the budget is spent."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    stop_at = time.perf_counter() + max_seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal sent, errors
        while sent < requests and time.perf_counter() < stop_at:
            body = bodies[sent % len(bodies)]
            sent += 1
            start = time.perf_counter()
            try:
                response = await client.post("/predict", json=body)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - start) * 1000)
            errors += not ok

    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        began = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        wall = time.perf_counter() - began
    return {
        "requests": float(len(latencies)),
        "errors": float(errors),
        "requests_per_s": len(latencies) / wall,
        "wall_s": wall,
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p99_ms": percentile(latencies, 99),
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint
        if args.smoke:
            from quantize import _tiny_checkpoint

            checkpoint = _tiny_checkpoint(Path(tmp))
            args.requests, args.max_seconds, args.warmup = 16, 30.0, 1
        if checkpoint is None:
            raise SystemExit("--checkpoint is required (or --smoke)")
        bodies = [
            {"conversations": [c.to_dict()]}
            for c in conversations_of_length(args.data_dir, args.utterances)
        ]
        note = args.machine_note or (
            "shared with other jobs: 2 cores for several agents' "
            "builds and tests; the load clients run on the same "
            "cores; numbers are lower bounds"
        )
        machine = bc.machine_description(note)
        command = bc.command_line(argv)
        rows = []
        for mode in args.modes:
            server = ServerProcess(checkpoint, mode, args, Path(tmp) / f"serve-{mode}.log")
            try:
                info = httpx.get(f"{server.url}/info", timeout=30).json()
                asyncio.run(run_level(server.url, bodies, 1, args.warmup, 600))
                for clients in args.clients:
                    before = server.health()["batches"]
                    load_before = os.getloadavg()[0]
                    result = asyncio.run(
                        run_level(server.url, bodies, clients, args.requests, args.max_seconds)
                    )
                    after = server.health()["batches"]
                    batches = after["batches"] - before["batches"]
                    served = after["conversations"] - before["conversations"]
                    result["mean_batch_size"] = served / batches if batches else 0.0
                    result["peak_rss_mib"] = peak_rss_mib(server.process.pid)
                    name = f"serve-{'fp32' if mode == 'none' else mode}-{clients}-clients"
                    print(f"{name}: {result}", file=sys.stderr)
                    rows.append(
                        bc.result_record(
                            name,
                            "ecf1",
                            "test",
                            result,
                            [],
                            command,
                            machine,
                            quantize=mode,
                            clients=clients,
                            model_version=info["model_version"],
                            server_command=" ".join(server.command),
                            threads=args.threads,
                            utterances=args.utterances,
                            max_batch_size=args.max_batch_size,
                            max_wait_ms=args.max_wait_ms,
                            request_budget=args.requests,
                            max_seconds=args.max_seconds,
                            load_average_1min=[load_before, os.getloadavg()[0]],
                        )
                    )
            finally:
                server.stop()
    bc.write_results(rows, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
