"""Downloads (data/download.py and ``unimeec data download``) from a loopback HTTP server."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from unimeec.cli import main
from unimeec.data.download import download_dataset
from unimeec.data.sources import DOWNLOADS
from unimeec.errors import DownloadError


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with ``Range: bytes=N-`` support (records the offsets asked for)."""

    offsets: ClassVar[list[int]] = []

    def do_GET(self) -> None:
        header = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if header is None or not path.is_file():
            super().do_GET()
            return
        data = path.read_bytes()
        start = int(header.removeprefix("bytes=").split("-")[0])
        RangeHandler.offsets.append(start)
        if start >= len(data):
            self.send_response(416)
            self.end_headers()
            return
        self.send_response(206)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args: object) -> None:
        pass


class PlainHandler(SimpleHTTPRequestHandler):
    """Ignores ``Range`` (as ``http.server`` does)."""

    def log_message(self, *args: object) -> None:
        pass


def _serve(root: Path, handler: type[SimpleHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def mirror(shared_data: Path) -> Iterator[str]:
    yield from _serve(shared_data, RangeHandler)


def test_download_all_from_loopback(
    mirror: str, tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "data"
    for name in ("meld", "ecf1", "semeval2024"):
        assert (
            main(
                ["data", "download", name, "--to", str(dest), "--base-url", mirror, "--no-progress"]
            )
            == 0
        )
    out = capsys.readouterr().out
    for files in DOWNLOADS.values():
        for source in files:
            target = dest / source.local_path
            assert f"{target}  OK" in out
            assert target.read_bytes() == (shared_data / source.local_path).read_bytes()
            assert not target.with_name(target.name + ".part").exists()
    # the downloaded layout is what load_dataset reads
    assert main(["data", "stats", "ecf1", "--split", "dev", "--data-dir", str(dest)]) == 0
    assert "pairs                         866" in capsys.readouterr().out


def test_download_resumes_with_range(
    mirror: str, tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    official = (shared_data / "ecf1" / "train.txt").read_bytes()
    part = tmp_path / "ecf1" / "train.txt.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(official[:100_000])
    RangeHandler.offsets.clear()
    monkeypatch.setenv("UNIMEEC_DOWNLOAD_URL", mirror)  # base URL from the environment
    monkeypatch.setenv("UNIMEEC_DATA", str(tmp_path))  # destination from the environment
    assert main(["data", "download", "ecf1", "--no-progress"]) == 0
    assert RangeHandler.offsets == [100_000]
    assert (tmp_path / "ecf1" / "train.txt").read_bytes() == official
    # a second run finds verified files and fetches nothing
    RangeHandler.offsets.clear()
    mtime = (tmp_path / "ecf1" / "train.txt").stat().st_mtime_ns
    assert download_dataset("ecf1", tmp_path, base_url=mirror, progress=False)
    assert (tmp_path / "ecf1" / "train.txt").stat().st_mtime_ns == mtime


def test_server_without_range_restarts(shared_data: Path, tmp_path: Path) -> None:
    official = (shared_data / "ecf2-semeval2024" / "Subtask_1_train.json").read_bytes()
    part = tmp_path / "ecf2-semeval2024" / "Subtask_1_train.json.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"garbage that must not survive")
    for url in _serve(shared_data, PlainHandler):
        (path,) = download_dataset("semeval2024", tmp_path, base_url=url, progress=False)
    assert path.read_bytes() == official


def test_wrong_checksum(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    served = tmp_path / "served"
    (served / "ecf2-semeval2024").mkdir(parents=True)
    (served / "ecf2-semeval2024" / "Subtask_1_train.json").write_text("[]")
    dest = tmp_path / "dest"
    for url in _serve(served, RangeHandler):
        with pytest.raises(DownloadError, match="SHA-256 mismatch for Subtask_1_train.json"):
            download_dataset("semeval2024", dest, base_url=url, progress=False)
        assert not (dest / "ecf2-semeval2024" / "Subtask_1_train.json").exists()
        assert not (dest / "ecf2-semeval2024" / "Subtask_1_train.json.part").exists()
        # missing file on the server: HTTP 404 is a DownloadError too, reported by the CLI
        assert (
            main(
                ["data", "download", "meld", "--to", str(dest), "--base-url", url, "--no-progress"]
            )
            == 1
        )
    assert "HTTP 404" in capsys.readouterr().err


def test_download_unknown_dataset(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="unknown dataset 'reccon'"):
        download_dataset("reccon", tmp_path)


def test_sources_are_pinned_raw_urls() -> None:
    train = DOWNLOADS["ecf1"][0]
    assert train.url == (
        "https://raw.githubusercontent.com/NUSTM/MECPE/"
        "359c97c74416aecd6b9e62738db10a37b4aa0104/data/train.txt"
    )
    assert DOWNLOADS["semeval2024"][0].url.startswith(
        "https://raw.githubusercontent.com/NUSTM/SemEval-2024_ECAC/f6054366e3"
    )
    assert all(len(s.sha256) == 64 for files in DOWNLOADS.values() for s in files)
