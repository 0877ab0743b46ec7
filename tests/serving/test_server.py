"""The real server on loopback: batch prediction, an online session, every class of bad
request and a micro-batched burst, each answer checked against ``Predictor``."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from unimeec import __version__
from unimeec.data import Conversation, Utterance
from unimeec.data.labels import ECF_EMOTIONS
from unimeec.predict import Predictor
from unimeec.serving import model_version

from .conftest import SETTINGS, Server


def assert_same(record: dict[str, Any], expected: Conversation) -> None:
    """A served record equals ``Predictor``'s prediction (probabilities to 1e-5)."""
    got = Conversation.from_dict(record)
    assert got.id == expected.id
    assert [(u.speaker, u.text) for u in got.utterances] == [
        (u.speaker, u.text) for u in expected.utterances
    ]
    assert [u.emotion for u in got.utterances] == [u.emotion for u in expected.utterances]
    for u, v in zip(got.utterances, expected.utterances):
        assert u.emotion_scores is not None and v.emotion_scores is not None
        assert u.emotion_scores.keys() == v.emotion_scores.keys()
        for label, p in v.emotion_scores.items():
            assert u.emotion_scores[label] == pytest.approx(p, abs=1e-5)
    assert [(p.key, p.emotion) for p in got.pairs] == [(p.key, p.emotion) for p in expected.pairs]
    for p, q in zip(got.pairs, expected.pairs):
        assert p.score == pytest.approx(q.score, abs=1e-5)


def _turns(conversation: Conversation, n: int | None = None) -> list[list[str]]:
    return [[u.speaker, u.text] for u in conversation.utterances[:n]]


# ---------------------------------------------------------------------- metadata
def test_health_info_and_openapi(server: Server, tiny_checkpoint: Any) -> None:
    assert server.client.get("/health").json()["status"] == "ok"
    info = server.client.get("/info").json()
    version = model_version(server.predictor)
    assert version.startswith("tiny-run@") and len(version) == len("tiny-run@") + 12
    assert info["model_version"] == version
    assert info["unimeec_version"] == __version__
    assert info["labels"] == list(ECF_EMOTIONS)
    assert info["modalities"] == ["text"]
    assert info["cause_threshold"] == server.predictor.model.config.cause_threshold
    assert info["quantize"] == "none"
    assert info["settings"]["inputs"]["max_utterances"] == 12
    assert info["settings"]["sessions"]["max_sessions"] == 3
    spec = server.client.get("/openapi.json").json()
    assert {
        "/predict",
        "/sessions/{session_id}/utterances",
        "/sessions/{session_id}",
        "/health",
        "/info",
    } <= set(spec["paths"])
    page = server.client.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()


# ---------------------------------------------------------------------- batch
def test_predict_batch_equals_predictor(
    server: Server, reference: Predictor, ecf_test: list[Conversation]
) -> None:
    records = [c.to_dict() for c in ecf_test[:3]]  # real JSONL records, gold labels included
    turns = _turns(ecf_test[3])
    semeval = {
        "conversation_ID": 9001,
        "conversation": [  # SemEval-2024 JSON works too
            {"utterance_ID": k, "speaker": s, "text": t} for k, (s, t) in enumerate(turns, 1)
        ],
    }
    response = server.client.post("/predict", json={"conversations": [*records, turns, semeval]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == model_version(server.predictor)
    expected = reference.predict([*ecf_test[:3], [tuple(t) for t in turns], semeval])
    assert [c["id"] for c in body["conversations"]] == [
        ecf_test[0].id,
        ecf_test[1].id,
        ecf_test[2].id,
        "conversation-4",
        "9001",
    ]
    for record, prediction in zip(body["conversations"], expected, strict=True):
        assert_same(record, prediction)
    assert all(p["score"] is not None for c in body["conversations"] for p in c["pairs"])


# ---------------------------------------------------------------------- online mode
def test_online_session_over_several_turns(
    server: Server, reference: Predictor, ecf_test: list[Conversation]
) -> None:
    source = ecf_test[5]
    assert len(source) >= 4
    previous: Conversation | None = None
    for k in range(1, 5):
        u = source.utterance(k)
        response = server.client.post(
            "/sessions/chat-1/utterances", json={"speaker": u.speaker, "text": u.text}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        expected = reference.predict(
            Conversation(
                id="chat-1",
                utterances=[
                    Utterance(index=i, speaker=v.speaker, text=v.text)
                    for i, v in enumerate(source.utterances[:k], start=1)
                ],
            )
        )
        assert body["session_id"] == "chat-1" and body["length"] == k
        turn = body["utterance"]
        assert (turn["index"], turn["speaker"], turn["text"]) == (k, u.speaker, u.text)
        assert turn["emotion"] == expected.utterance(k).emotion
        for label, p in expected.utterance(k).emotion_scores.items():
            assert turn["emotion_scores"][label] == pytest.approx(p, abs=1e-5)
        assert [c["cause_utterance"] for c in turn["causes"]] == [
            p.cause_utterance for p in expected.pairs if p.emotion_utterance == k
        ]
        changed = (
            []
            if previous is None
            else [
                i
                for i in range(1, k)
                if previous.utterance(i).emotion != expected.utterance(i).emotion
                or previous.causes_of(i) != expected.causes_of(i)
            ]
        )
        assert [t["index"] for t in body["updated"]] == changed
        for t in body["updated"]:
            assert t["emotion"] == expected.utterance(t["index"]).emotion
        previous = expected
    state = server.client.get("/sessions/chat-1")
    assert state.status_code == 200 and state.json()["length"] == 4
    assert_same(state.json()["conversation"], previous)
    assert server.client.delete("/sessions/chat-1").status_code == 204
    gone = server.client.get("/sessions/chat-1")
    assert gone.status_code == 404
    assert gone.json()["field"] == "session_id"
    assert server.client.delete("/sessions/chat-1").status_code == 404


# ---------------------------------------------------------------------- bad requests
LONG = "x" * 2001
BAD_PREDICT = [
    (
        b'{"conversations": [',
        400,
        "body",
        ("body: malformed JSON at character 19: Expecting value"),
    ),
    (
        b'{"conversations": [[["A", "hi"]]], "colour": "red"}',
        422,
        "colour",
        "colour: unknown field",
    ),
    (
        {"conversations": [{"id": "x", "utterances": [{"text": "hi", "mood": "ok"}]}]},
        422,
        "conversations.0.mood",
        "conversations.0.mood: unknown field(s) in utterance 1: mood",
    ),
    (
        {"conversations": []},
        422,
        "conversations",
        "conversations: List should have at least 1 item after validation, not 0",
    ),
    (
        {"conversations": [[]]},
        422,
        "conversations.0",
        "conversations.0: List should have at least 1 item after validation, not 0",
    ),
    (
        {"conversations": [{"id": "e", "utterances": []}]},
        422,
        "conversations.0.utterances",
        "conversations.0.utterances: conversation has no utterances",
    ),
    (
        {"conversations": [[["A", "hi"]] * 13]},
        422,
        "conversations.0.utterances",
        "conversations.0.utterances: 13 utterances, more than the limit of 12",
    ),
    (
        {"conversations": [[["A", "hi"], ["B", LONG]]]},
        422,
        "conversations.0.utterances.1.text",
        "conversations.0.utterances.1.text: 2001 characters, more than the limit of 2000",
    ),
    (
        {"conversations": [[["A", "hi"]]] * 11},
        422,
        "conversations",
        "conversations: 11 conversations, more than the limit of 10",
    ),
    (
        {"conversations": [[["A", 1]]]},
        422,
        "conversations.0.0.1",
        "conversations.0.0.1: Input should be a valid string",
    ),
    (
        {"conversations": [5]},
        422,
        "conversations.0",
        (
            "conversations.0: a conversation is a JSONL record (an object with 'utterances') or a "
            "list of [speaker, text] turns"
        ),
    ),
    ({"turns": [["A", "hi"]]}, 422, "conversations", "conversations: Field required"),
    (
        [1],
        422,
        "body",
        "body: expected a JSON object, sent with content-type: application/json",
    ),
    (
        {"conversations": [{"id": "a", "utterances": [{"text": "hi"}], "labels": 5}]},
        422,
        "conversations.0.labels",
        "conversations.0.labels: conversation: input should be a valid tuple, got 5 (int)",
    ),
    (
        b'{"conversations": [[["A", "\\ud800"]]]}',
        422,
        "conversations.0.0.1",
        "conversations.0.0.1: not valid Unicode (a lone surrogate at character 0)",
    ),
    (
        b'{"conversations": [{"id": "x\\udfff", "utterances": [{"text": "hi"}]}]}',
        422,
        "conversations.0.id",
        "conversations.0.id: not valid Unicode (a lone surrogate at character 1)",
    ),
    (
        b'{"conversations": ' + b"[" * 3000 + b"]" * 3000 + b"}",
        400,
        "body",
        "body: cannot parse the request body (There was an error parsing the body)",
    ),
]


@pytest.mark.parametrize(("body", "status", "field", "error"), BAD_PREDICT)
def test_bad_predict_request_is_a_one_line_error(
    server: Server, body: Any, status: int, field: str, error: str
) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = server.client.post(
        "/predict", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert "\n" not in response.text
    assert response.json() == {"error": error, "field": field}


def test_a_body_not_sent_as_json_is_refused(server: Server) -> None:
    response = server.client.post(
        "/predict",
        content=b'{"conversations": [[["A", "hi"]]]}',
        headers={"content-type": "text/plain"},
    )
    assert (response.status_code, response.json()) == (
        422,
        {
            "error": "body: expected a JSON object, sent with content-type: application/json",
            "field": "body",
        },
    )


def test_too_large_a_body_is_refused_before_parsing(server: Server) -> None:
    body = json.dumps({"conversations": [[["A", "y" * 250]] * 12] * 8}).encode()
    assert len(body) > SETTINGS.max_body_bytes
    response = server.client.post(
        "/predict", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": f"body: request body of {len(body)} bytes or more is "
        f"over the limit of {SETTINGS.max_body_bytes} bytes",
        "field": "body",
    }

    def chunks() -> Any:  # no Content-Length: counted while reading
        for _ in range(len(body) // 1000 + 1):
            yield body[:1000]

    chunked = server.client.post(
        "/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413 and chunked.json()["field"] == "body"


BAD_TURNS = [
    ({"speaker": "A", "text": "hi", "mood": 1}, 422, "mood", "mood: unknown field"),
    (
        b'{"speaker": "A", "text": "\\ud800"}',
        422,
        "text",
        "text: Input should be a valid string, unable to parse raw data as a unicode string",
    ),
    ({"speaker": "A"}, 422, "text", "text: Field required"),
    ({"speaker": "A", "text": ""}, 422, "text", "text: String should have at least 1 character"),
    (
        {"speaker": "A", "text": LONG},
        422,
        "text",
        "text: 2001 characters, more than the limit of 2000",
    ),
    ({"speaker": 3, "text": "hi"}, 422, "speaker", "speaker: Input should be a valid string"),
]


def test_failed_session_requests_change_no_session(server: Server) -> None:
    client = server.client
    assert (
        client.post(
            "/sessions/keep/utterances", json={"speaker": "A", "text": "Hello there."}
        ).status_code
        == 200
    )
    before = client.get("/sessions/keep").json()
    for body, status, field, error in BAD_TURNS:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"content-type": "application/json"}
        response = client.post("/sessions/keep/utterances", content=content, headers=headers)
        assert (response.status_code, response.json()) == (status, {"error": error, "field": field})
        fresh = client.post("/sessions/never-made/utterances", content=content, headers=headers)
        assert fresh.status_code == status
        assert client.get("/sessions/never-made").status_code == 404
    malformed = client.post(
        "/sessions/keep/utterances",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert malformed.status_code == 400 and malformed.json()["field"] == "body"
    bad_id = client.post("/sessions/no%20spaces/utterances", json={"text": "hi"})
    assert bad_id.status_code == 422
    assert bad_id.json()["field"] == "session_id"
    assert client.get("/sessions/keep").json() == before

    # a session holds at most max_turns (5) utterances; the 6th is refused, nothing changes
    for k in range(2, 6):
        assert (
            client.post(
                "/sessions/keep/utterances", json={"speaker": "B", "text": f"Turn {k}."}
            ).status_code
            == 200
        )
    full = client.get("/sessions/keep").json()
    over = client.post("/sessions/keep/utterances", json={"speaker": "A", "text": "One more."})
    assert over.status_code == 409
    assert over.json() == {
        "error": "session_id: session 'keep' holds its limit of 5 utterances; start a new session",
        "field": "session_id",
    }
    assert client.get("/sessions/keep").json() == full

    # at most max_sessions (3) sessions; a 4th is refused until one is deleted
    for sid in ("s2", "s3"):
        assert client.post(f"/sessions/{sid}/utterances", json={"text": "hi"}).status_code == 200
    crowded = client.post("/sessions/s4/utterances", json={"text": "hi"})
    assert crowded.status_code == 429 and crowded.json()["field"] == "session_id"
    assert client.get("/sessions/s4").status_code == 404
    assert client.get("/health").json()["sessions"] == 3
    for sid in ("keep", "s2", "s3"):
        assert client.delete(f"/sessions/{sid}").status_code == 204
    assert client.post("/sessions/s4/utterances", json={"text": "hi"}).status_code == 200
    assert client.delete("/sessions/s4").status_code == 204


def test_unknown_routes_and_methods(server: Server) -> None:
    assert server.client.get("/nowhere").json() == {"error": "Not Found", "field": None}
    wrong = server.client.get("/predict")
    assert wrong.status_code == 405 and wrong.json()["error"] == "Method Not Allowed"
    assert server.client.get("/health").json()["status"] == "ok"  # still serving


# ---------------------------------------------------------------------- micro-batching
def test_concurrent_burst_is_micro_batched(
    server: Server, reference: Predictor, ecf_test: list[Conversation]
) -> None:
    conversations = [c for c in ecf_test if len(c) <= SETTINGS.inputs.max_utterances][:8]
    before = server.client.get("/health").json()["batches"]

    def send(conversation: Conversation) -> dict[str, Any]:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            response = client.post("/predict", json={"conversations": [conversation.to_dict()]})
        assert response.status_code == 200, response.text
        return response.json()["conversations"][0]

    with ThreadPoolExecutor(len(conversations)) as pool:
        served = list(pool.map(send, conversations))
    for record, expected in zip(served, reference.predict(conversations), strict=True):
        assert_same(record, expected)
    after = server.client.get("/health").json()["batches"]
    requests = after["requests"] - before["requests"]
    batches = after["batches"] - before["batches"]
    assert requests == len(conversations)
    assert batches < requests, f"{requests} requests ran in {batches} forwards"
    assert after["largest_batch"] > 1


# ---------------------------------------------------------------------- model refusals
#: Within the size limits, but its speaker alone is longer than the backbone's 512 positions.
UNFIT = [["a " * 600, "Hello."]]
UNFIT_ERROR = "max_length=512 cannot hold the conversation template of utterance 1"


def test_input_the_model_cannot_hold_fails_alone(
    server: Server, reference: Predictor, ecf_test: list[Conversation]
) -> None:
    good = [c for c in ecf_test if len(c) <= SETTINGS.inputs.max_utterances][8:11]
    bodies = [{"conversations": [c.to_dict()]} for c in good]
    bodies.insert(1, {"conversations": [UNFIT]})

    def send(body: dict[str, Any]) -> httpx.Response:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            return client.post("/predict", json=body)

    with ThreadPoolExecutor(len(bodies)) as pool:  # one micro-batch, retried one by one
        responses = list(pool.map(send, bodies))
    refused = responses.pop(1)
    assert refused.status_code == 422
    assert refused.json() == {"error": UNFIT_ERROR, "field": None}
    for response, expected in zip(responses, reference.predict(good), strict=True):
        assert response.status_code == 200
        assert_same(response.json()["conversations"][0], expected)

    client = server.client
    speaker, text = UNFIT[0]
    assert (
        client.post(
            "/sessions/unfit/utterances", json={"speaker": speaker, "text": text}
        ).status_code
        == 422
    )
    assert client.get("/sessions/unfit").status_code == 404  # not created by a failure
    assert client.post("/sessions/fit/utterances", json={"text": "Hi."}).status_code == 200
    before = client.get("/sessions/fit").json()
    again = client.post("/sessions/fit/utterances", json={"speaker": speaker, "text": text})
    assert again.json() == {
        "error": UNFIT_ERROR.replace("utterance 1", "utterance 2"),
        "field": None,
    }
    assert client.get("/sessions/fit").json() == before
    assert client.delete("/sessions/fit").status_code == 204


U = [{"speaker": "A", "text": "hi"}]
MALFORMED_RECORDS = [
    {"id": "a", "utterances": "abc"},
    {"id": "a", "utterances": U, "pairs": [[1, 99]]},
    {"id": "a", "utterances": U, "pairs": [{"emotion_utterance": "1", "cause_utterance": 1}]},
    {"id": "a", "utterances": [{"speaker": "A", "text": "hi", "start": "abc", "end": 1}]},
    {"id": "a", "utterances": [{"speaker": "A", "text": "hi", "meta": "x"}]},
    {"id": "a", "utterances": U, "meta": [1, 2]},
    {"id": "a", "utterances": U, "labels": 5},
    {"id": "a", "utterances": [{"speaker": "A", "text": 5}]},
    {"id": "a", "utterances": [{"speaker": "A", "text": "hi", "index": "1"}]},
    {
        "id": "a",
        "utterances": U,
        "pairs": [
            {"emotion_utterance": 1, "cause_utterance": 1, "span": {"start": "a", "end": "b"}}
        ],
    },
    {"conversation_ID": 1, "conversation": [{"utterance_ID": "x", "text": 1}]},
    {
        "conversation_ID": 1,
        "conversation": [{"utterance_ID": 1, "text": "hi", "speaker": "A"}],
        "emotion-cause_pairs": [[1, 2, 3]],
    },
]


@pytest.mark.parametrize("record", MALFORMED_RECORDS)
def test_malformed_records_are_422_never_500(server: Server, record: dict[str, Any]) -> None:
    response = server.client.post("/predict", json={"conversations": [[["A", "ok"]], record]})
    assert response.status_code == 422, response.text
    assert response.json()["field"].startswith("conversations.1")
    assert "\n" not in response.text


def test_concurrent_turns_of_one_session_are_serialised(server: Server) -> None:
    texts = [f"Turn number {k}." for k in range(1, 5)]

    def send(text: str) -> dict[str, Any]:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            response = client.post("/sessions/busy/utterances", json={"text": text})
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(len(texts)) as pool:
        answers = list(pool.map(send, texts))
    assert sorted(a["length"] for a in answers) == [1, 2, 3, 4]
    state = server.client.get("/sessions/busy").json()
    order = [u["text"] for u in state["conversation"]["utterances"]]
    assert sorted(order) == texts  # every turn once, in the order the server took them
    for answer in answers:
        assert order[answer["length"] - 1] == answer["utterance"]["text"]
    assert server.client.delete("/sessions/busy").status_code == 204
