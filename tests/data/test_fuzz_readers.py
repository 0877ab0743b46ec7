"""Property-based tests of every reader on small slices of the real files (Hypothesis).

Whatever a mutation does to a file (bytes, lines, JSON values, their types, their nesting),
reading it gives a ``DataFormatError`` or valid conversations, never another exception;
mutations that keep the meaning give the same conversations; and whatever is read survives
write -> read unchanged. IEMOCAP and ConvECPE cannot be redistributed, so their slices are
real DailyDialog turns laid out in those formats.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unimeec.data import Conversation, read_conversations, write_conversations
from unimeec.errors import DataFormatError

FUZZ = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ---------------------------------------------------------------------- the slices
def _lines(path: Path, n: int) -> str:
    return "\n".join(path.read_text(encoding="utf-8").split("\n")[:n]) + "\n"


def _blocks(path: Path, n: int) -> str:
    """The first ``n`` blank-line separated blocks (dialogues) of a text file."""
    return "\n\n".join(path.read_text(encoding="utf-8").split("\n\n")[:n]) + "\n"


def _ecf_blocks(path: Path, n: int) -> str:
    """The first ``n`` conversations: a ``<id> <n_utts>`` header, a pair line, the utterances."""
    lines, end = path.read_text(encoding="utf-8").split("\n"), 0
    for _ in range(n):
        end += 2 + int(lines[end].split()[1])
    return "\n".join(lines[:end]) + "\n"


def _dailydialog_turns(shared: Path) -> list[list[tuple[str, str, str]]]:
    return [
        [tuple(line.split("\t")) for line in block.split("\n") if line]  # type: ignore[misc]
        for block in _blocks(shared / "dailydialog" / "dailydialog_test.txt", 2).split("\n\n")
    ]


def _iemocap_tsv(shared: Path) -> str:
    codes = {"neutral": "neu", "happiness": "hap", "sadness": "sad", "anger": "ang"}
    blocks = []
    for d, dialogue in enumerate(_dailydialog_turns(shared), start=1):
        blocks.append(
            "\n".join(
                f"Ses0{d}F_impro01_{'FM'[int(s)]}{k:03d}\t{t}\t{codes.get(e.strip(), 'fru')}"
                for k, (s, t, e) in enumerate(dialogue)
            )
        )
    return "\n\n".join(blocks) + "\n"


def _iemocap_json(shared: Path) -> str:
    return json.dumps(
        [
            [
                {
                    "text": t,
                    "speaker": f"Ses0{d}M_script01_{'FM'[int(s)]}",
                    **({"label": "neu"} if k % 2 else {}),
                }
                for k, (s, t, _) in enumerate(dialogue)
            ]
            for d, dialogue in enumerate(_dailydialog_turns(shared), start=1)
        ],
        indent=1,
    )


def _convecpe(shared: Path) -> str:
    dialogues = []
    for d, dialogue in enumerate(_dailydialog_turns(shared), start=1):
        utts = [
            {"speaker": "FM"[int(s)], "text": t, "emotion": "neu" if k else "exc"}
            for k, (s, t, _) in enumerate(dialogue)
        ]
        dialogues.append({"id": f"Ses0{d}F_impro02", "utterances": utts, "pairs": [[1, 1]]})
    return json.dumps({"format": "convecpe", "dialogues": dialogues}, indent=1)


def _json_slice(path: Path, n: int) -> str:
    data = json.loads(path.read_text(encoding="utf-8"))
    part = data[:n] if isinstance(data, list) else dict(list(data.items())[:n])
    return json.dumps(part, ensure_ascii=False, indent=1)


def _jsonl(shared: Path) -> str:
    convs = read_conversations(shared / "ecf2-semeval2024" / "Subtask_1_train.json")[:3]
    return "".join(json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in convs)


#: format -> (file name, slice maker); names carry the split as the real files do.
SLICES: dict[str, tuple[str, Callable[[Path], str]]] = {
    "ecf": ("dev.txt", lambda s: _ecf_blocks(s / "ecf1" / "dev.txt", 3)),
    "semeval": (
        "Subtask_1_train.json",
        lambda s: _json_slice(s / "ecf2-semeval2024" / "Subtask_1_train.json", 3),
    ),
    "meld": ("dev_sent_emo.csv", lambda s: _lines(s / "meld" / "dev_sent_emo.csv", 30)),
    "emorynlp": (
        "emorynlp_dev_final.csv",
        lambda s: _lines(s / "emorynlp" / "emorynlp_dev_final.csv", 30),
    ),
    "dailydialog": (
        "dailydialog_dev.txt",
        lambda s: _blocks(s / "dailydialog" / "dailydialog_dev.txt", 3),
    ),
    "reccon": (
        "dailydialog_valid.json",
        lambda s: _json_slice(s / "reccon" / "dailydialog_valid.json", 3),
    ),
    "iemocap-tsv": ("train.tsv", _iemocap_tsv),
    "iemocap-json": ("train.json", _iemocap_json),
    "convecpe": ("dev.json", _convecpe),
    "jsonl": ("train.jsonl", _jsonl),
}
JSON_FORMATS = ("semeval", "reccon", "iemocap-json", "convecpe")


@pytest.fixture(scope="module")
def slices(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, str, list[dict[str, Any]]]]:
    """format -> (path to write mutations to, original text, conversations read from it)."""
    folder = tmp_path_factory.mktemp("fuzz")
    out = {}
    for fmt, (name, make) in SLICES.items():
        text = make(shared_data)
        (folder / fmt).mkdir()
        path = folder / fmt / name
        path.write_text(text, encoding="utf-8")
        out[fmt] = (path, text, _dicts(read_conversations(path, fmt)))
    return out


def _dicts(conversations: list[Conversation]) -> list[dict[str, Any]]:
    return [c.to_dict() for c in conversations]


def _read(path: Path, fmt: str, content: str | bytes) -> list[Conversation] | None:
    """The conversations, or ``None`` for a DataFormatError; anything else fails the test."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    try:
        return read_conversations(path, fmt)
    except DataFormatError as err:
        assert "\n" not in str(err)  # one line, always
        return None


def _assert_round_trip(conversations: list[Conversation], folder: Path) -> None:
    """read -> write JSONL -> read is the identity."""
    out = folder / "round-trip.jsonl"
    write_conversations(conversations, out)
    assert _dicts(read_conversations(out)) == _dicts(conversations)


# ---------------------------------------------------------------------- properties
@pytest.mark.parametrize("fmt", list(SLICES))
def test_every_slice_round_trips(slices, fmt: str) -> None:  # type: ignore[no-untyped-def]
    path, _, expected = slices[fmt]
    assert len(expected) >= 1
    _assert_round_trip(read_conversations(path, fmt), path.parent)


def test_semeval_round_trips_through_semeval(slices) -> None:  # type: ignore[no-untyped-def]
    path, _, expected = slices["semeval"]
    out = path.parent / "again_train.json"
    write_conversations(read_conversations(path, "semeval"), out, "semeval-subtask1")
    assert _dicts(read_conversations(out, "semeval")) == expected


@pytest.mark.parametrize("fmt", list(SLICES))
@FUZZ
@given(data=st.data())
def test_byte_mutations(slices, fmt: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    path, text, _ = slices[fmt]
    raw = bytearray(text.encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        at = data.draw(st.integers(0, len(raw) - 1), label="offset")
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]), label="action")
        byte = data.draw(
            st.sampled_from(
                [0x00, 0x0A, 0x09, 0x22, 0x2C, 0x7C, 0x5B, 0x7D, 0x30, 0x39, 0x20, 0xFF, 0xC3]
            ),
            label="byte",
        )
        if action == "flip":
            raw[at] = byte
        elif action == "insert":
            raw.insert(at, byte)
        else:
            del raw[at]
    conversations = _read(path, fmt, bytes(raw))
    if conversations is not None:
        _assert_round_trip(conversations, path.parent)


@pytest.mark.parametrize("fmt", list(SLICES))
@FUZZ
@given(data=st.data())
def test_line_mutations(slices, fmt: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    path, text, _ = slices[fmt]
    lines = text.split("\n")
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        at = data.draw(st.integers(0, len(lines) - 1), label="line")
        action = data.draw(
            st.sampled_from(["delete", "duplicate", "swap", "blank", "truncate"]), label="action"
        )
        if action == "delete":
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "swap" and at + 1 < len(lines):
            lines[at], lines[at + 1] = lines[at + 1], lines[at]
        elif action == "blank":
            lines[at] = ""
        elif action == "truncate":
            lines[at] = lines[at][: data.draw(st.integers(0, max(len(lines[at]) - 1, 0)))]
        if not lines:
            lines = [""]
    conversations = _read(path, fmt, "\n".join(lines))
    if conversations is not None:
        _assert_round_trip(conversations, path.parent)


def _locations(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _locations(item, (*prefix, key))
    elif isinstance(value, list):
        for k, item in enumerate(value):
            out += _locations(item, (*prefix, k))
    return out


def _replace(document: Any, location: tuple[Any, ...], new: Any) -> Any:
    if not location:
        return new
    parent = document
    for key in location[:-1]:
        parent = parent[key]
    parent[location[-1]] = new
    return document


NEST = "<nested lists>"
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 10**20)
    | st.floats(allow_nan=True)
    | st.text(max_size=8)
    | st.sampled_from(["b", "neutral", "joy", "1_x", "3_surprise"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _documents(fmt: str, text: str) -> list[Any]:
    """The JSON values of a file: one document, or one per JSONL line."""
    return (
        [json.loads(line) for line in text.split("\n") if line.strip()]
        if fmt == "jsonl"
        else [json.loads(text)]
    )


def _dump(fmt: str, documents: list[Any]) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(d) + "\n" for d in documents)
    return json.dumps(documents[0], indent=1)


@pytest.mark.parametrize("fmt", [*JSON_FORMATS, "jsonl"])
@FUZZ
@given(data=st.data())
def test_json_value_type_and_nesting_mutations(slices, fmt: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    path, text, _ = slices[fmt]
    documents = _documents(fmt, text)
    which = data.draw(st.integers(0, len(documents) - 1), label="document")
    location = data.draw(st.sampled_from(_locations(documents[which])), label="location")
    action = data.draw(st.sampled_from(["value", "nest", "drop"]), label="action")
    depth = 0
    if action == "value":
        new = data.draw(JSON_VALUES, label="value")
    elif action == "nest":  # json.dumps cannot write deep nesting: a placeholder is replaced
        depth = data.draw(st.sampled_from([1, 3, 50, 3000]), label="depth")
        new = NEST
    else:
        new = None
    if action == "drop" and location:
        parent = documents[which]
        for key in location[:-1]:
            parent = parent[key]
        del parent[location[-1]]
    else:
        documents[which] = _replace(documents[which], location, new)
    content = _dump(fmt, documents).replace(json.dumps(NEST), "[" * depth + "]" * depth)
    conversations = _read(path, fmt, content)
    if conversations is not None:
        _assert_round_trip(conversations, path.parent)


#: Typed fields of each JSON format: any value of another JSON type must be an error.
TYPED: dict[str, list[tuple[tuple[Any, ...], tuple[type, ...]]]] = {
    "semeval": [
        ((0, "conversation_ID"), (int, str)),
        ((0, "conversation", 0, "utterance_ID"), (int,)),
        ((0, "conversation", 1, "text"), (str,)),
        ((0, "conversation", 1, "speaker"), (str,)),
        ((0, "conversation", 0, "emotion"), (str, type(None))),
        ((0, "emotion-cause_pairs"), (list,)),
    ],
    "reccon": [
        (("dv_0", 0, 0, "turn"), (int,)),
        (("dv_0", 0, 0, "speaker"), (str,)),
        (("dv_0", 0, 1, "utterance"), (str,)),
        (("dv_0", 0, 1, "emotion"), (str,)),
    ],
    "jsonl": [
        (("has_cause_labels",), (bool,)),
        (("utterances", 0, "speaker"), (str,)),
        (("utterances", 0, "text"), (str,)),
        (("labels",), (list, type(None))),
        (("split",), (str, type(None))),
        (("pairs", 0, "emotion_utterance"), (int,)),
    ],
}


@pytest.mark.parametrize("fmt", list(TYPED))
@FUZZ
@given(data=st.data())
def test_wrong_types_are_errors_never_coercions(slices, fmt: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    path, text, _ = slices[fmt]
    documents = _documents(fmt, text)
    location, allowed = data.draw(st.sampled_from(TYPED[fmt]), label="field")
    new = data.draw(
        JSON_VALUES.filter(
            lambda v: not isinstance(v, allowed) or (isinstance(v, bool) and bool not in allowed)
        ),
        label="value",
    )
    documents[0] = _replace(documents[0], _resolve(documents[0], location), new)
    assert _read(path, fmt, _dump(fmt, documents)) is None, (location, new)


def _resolve(document: Any, location: tuple[Any, ...]) -> tuple[Any, ...]:
    """RECCON ids differ per file: the first key stands for the first dialogue."""
    if isinstance(document, dict) and location and location[0] == "dv_0":
        return (next(iter(document)), *location[1:])
    return location


@pytest.mark.parametrize("fmt", [*JSON_FORMATS, "jsonl"])
@FUZZ
@given(
    indent=st.sampled_from([None, 0, 2, "\t"]), sort_keys=st.booleans(), ascii_only=st.booleans()
)
def test_layout_changes_give_the_same_conversations(
    slices,
    fmt: str,
    indent,
    sort_keys,  # type: ignore[no-untyped-def]
    ascii_only,
) -> None:
    path, text, expected = slices[fmt]
    documents = _documents(fmt, text)
    if fmt == "jsonl":
        content = "".join(
            json.dumps(d, sort_keys=sort_keys, ensure_ascii=ascii_only) + "\n\n" for d in documents
        )
    else:
        content = json.dumps(
            documents[0], indent=indent, sort_keys=sort_keys, ensure_ascii=ascii_only
        )
    conversations = _read(path, fmt, content)
    assert conversations is not None

    def by_id(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(records, key=lambda r: r["id"])  # sort_keys reorders RECCON's dialogues

    assert by_id(_dicts(conversations)) == by_id(expected)
