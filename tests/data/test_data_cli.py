"""``unimeec data stats|convert|download`` (downloads served from a loopback HTTP server)."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from unimeec.cli import main
from unimeec.data import read_conversations
from unimeec.data.download import download_dataset
from unimeec.data.sources import DOWNLOADS
from unimeec.errors import DownloadError


def test_stats_ecf_train(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "stats", str(shared_data / "ecf1" / "train.txt")]) == 0
    out = capsys.readouterr().out
    for line in ("ecf1 train", "conversations               1,001",
                 "utterances                  9,966", "emotion utterances          5,577",
                 "pairs                       7,055",
                 ("labels: neutral 4,389, joy 1,708, surprise 1,365, anger 1,140, sadness 789, "
                  "disgust 301, fear 274")):
        assert line in out


def test_stats_by_dataset_name(shared_data: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNIMEEC_DATA", str(shared_data))
    assert main(["data", "stats", "reccon", "--split", "test"]) == 0
    out = capsys.readouterr().out
    assert "reccon test" in out and "2,405" in out and "pairs                       1,888" in out
    assert "duplicate pairs removed         6" in out and "latent causes                  39" in out
    assert main(["data", "stats", "dailydialog", "--data-dir", str(shared_data)]) == 0
    out = capsys.readouterr().out  # train is absent: only dev and test are printed
    assert "dailydialog dev" in out and "dailydialog test" in out and "train" not in out
    assert "emotion utterances" in out and "pairs" not in out  # no cause labels


def test_stats_error_is_reported(make_file, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = make_file("bad.jsonl", "{not json}\n")
    assert main(["data", "stats", str(path)]) == 1
    assert f"error: {path}:1: invalid JSON" in capsys.readouterr().err


def test_convert(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonl = tmp_path / "dev.jsonl"
    assert main(["data", "convert", str(shared_data / "ecf1" / "dev.txt"), str(jsonl)]) == 0
    assert "wrote 112 conversations" in capsys.readouterr().out
    out = tmp_path / "Subtask_2_dev.json"
    assert main(["data", "convert", str(jsonl), str(out), "--to", "semeval-subtask2"]) == 0
    records = json.loads(out.read_text(encoding="utf-8"))
    assert len(records) == 112
    assert sum(len(r["emotion-cause_pairs"]) for r in records) == 866
    back = read_conversations(out)
    assert sum(len(c.pairs) for c in back) == 866
    assert main(["data", "convert", str(jsonl), str(tmp_path / "x.json")]) == 1  # --to needed
    assert "--to" in capsys.readouterr().err


# ---------------------------------------------------------------------- downloads
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



def test_convert_to_official_subtask1_positions(shared_data: Path, tmp_path: Path) -> None:
    """`--span-format positions` writes the official submission form `<utt>_<start>_<end>`."""
    src = shared_data / "ecf2-semeval2024" / "Subtask_1_train.json"
    head = tmp_path / "head.json"
    head.write_text(json.dumps(json.loads(src.read_text(encoding="utf-8"))[:1]), encoding="utf-8")
    out = tmp_path / "pred.json"
    assert main(["data", "convert", str(head), str(out), "--to", "semeval-subtask1",
                 "--span-format", "positions"]) == 0
    pairs = json.loads(out.read_text(encoding="utf-8"))[0]["emotion-cause_pairs"]
    # Conversation 1, utterance 1 has 28 tokens; "I realize I am totally naked ." -> tokens 21..27
    # with the final "." trimmed as the official scorer does: [21, 27).
    assert pairs[0] == ["3_surprise", "1_21_27"]
    assert main(["data", "convert", str(head), str(tmp_path / "x.jsonl"),
                 "--span-format", "positions"]) == 1

@pytest.fixture
def mirror(shared_data: Path) -> Iterator[str]:
    yield from _serve(shared_data, RangeHandler)


def test_download_all_from_loopback(mirror: str, tmp_path: Path, shared_data: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "data"
    for name in ("meld", "ecf1", "semeval2024"):
        assert main(["data", "download", name, "--to", str(dest), "--base-url", mirror,
                     "--no-progress"]) == 0
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


def test_download_resumes_with_range(mirror: str, tmp_path: Path, shared_data: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
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
        assert main(["data", "download", "meld", "--to", str(dest), "--base-url", url,
                     "--no-progress"]) == 1
    assert "HTTP 404" in capsys.readouterr().err


def test_download_unknown_dataset(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="unknown dataset 'reccon'"):
        download_dataset("reccon", tmp_path)


def test_sources_are_pinned_raw_urls() -> None:
    train = DOWNLOADS["ecf1"][0]
    assert train.url == ("https://raw.githubusercontent.com/NUSTM/MECPE/"
                         "359c97c74416aecd6b9e62738db10a37b4aa0104/data/train.txt")
    assert DOWNLOADS["semeval2024"][0].url.startswith(
        "https://raw.githubusercontent.com/NUSTM/SemEval-2024_ECAC/f6054366e3")
    assert all(len(s.sha256) == 64 for files in DOWNLOADS.values() for s in files)
