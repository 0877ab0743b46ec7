"""The FastAPI application: endpoints, limits and one-line JSON errors.

Why FastAPI + uvicorn (and not LitServe): the online mode needs state kept between requests
(sessions with locks and expiry) and custom routes with their own status codes, which are
plain FastAPI routes; LitServe is built around one stateless ``predict`` endpoint with its
batching in worker processes, each of which would load its own copy of the model. Our
micro-batcher is a small asyncio queue in front of the one ``Predictor`` (``batching``).

Every error is ``{"error": "<field>: <message>", "field": "<field>"}`` on one line, with
400 (malformed JSON), 404 (unknown session or route), 409 (session full), 413 (body too
large), 422 (unknown keys, wrong types, empty or over-long input) or 429 (too many
sessions). Anything unexpected is a 500 with the same shape; the process keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from unimeec.data.schema import Conversation
from unimeec.errors import UnimeecError
from unimeec.hashing import file_sha256
from unimeec.serving.batching import MicroBatcher
from unimeec.serving.errors import RequestError
from unimeec.serving.schemas import (
    UNION_TAGS,
    InputLimits,
    PredictRequest,
    TurnIn,
    check_text,
    to_conversations,
)
from unimeec.serving.sessions import SessionLimits, SessionStore, utterance_view

#: Session ids are path segments: short, printable, no slashes.
SESSION_ID_PATTERN = r"^[A-Za-z0-9._~-]{1,128}$"


@dataclass(frozen=True)
class ServiceSettings:
    """Everything ``unimeec serve`` can tune; shown by ``GET /info``."""

    max_batch_size: int = 8
    max_wait_ms: float = 5.0
    max_body_bytes: int = 1 << 20
    inputs: InputLimits = dataclasses.field(default_factory=InputLimits)
    sessions: SessionLimits = dataclasses.field(default_factory=SessionLimits)


# ---------------------------------------------------------------------- model identity
def model_version(predictor: Any) -> str:
    """``<run name>@<first 12 hex of the weights' sha256>`` (+ ``+int8`` when quantised).

    Why a hash: two checkpoints of one run directory name must not look the same to a
    client that logs which model answered.
    """
    directory = Path(str(getattr(predictor.model.config, "name_or_path", "") or "model"))
    name = directory.parent.name if directory.name == "model" else directory.name
    weights = [directory / n for n in ("model.safetensors", "pytorch_model.bin")]
    found = next((w for w in weights if w.is_file()), None)
    digest = file_sha256(found)[:12] if found is not None else "unknown"
    suffix = "" if getattr(predictor, "quantize", "none") == "none" else f"+{predictor.quantize}"
    return f"{name or 'model'}@{digest}{suffix}"


# ---------------------------------------------------------------------- errors
def _error(status: int, message: str, field: str | None) -> JSONResponse:
    text = " ".join(f"{field}: {message}".split()) if field else " ".join(message.split())
    return JSONResponse({"error": text, "field": field}, status_code=status)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in UNION_TAGS]
    if parts and parts[0] in ("body", "path", "query"):
        parts = parts[1:] or parts
    return ".".join(parts)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        reason = (first.get("ctx") or {}).get("error", "invalid JSON")
        where = first["loc"][1] if len(first["loc"]) > 1 else "?"
        return _error(400, f"malformed JSON at character {where}: {reason}", "body")
    loc = tuple(first.get("loc", ()))
    field = _location(loc)
    message = "unknown field" if first.get("type") == "extra_forbidden" else first["msg"]
    if loc == ("body",) and first.get("type") in ("model_attributes_type", "dict_type"):
        message = "expected a JSON object, sent with content-type: application/json"
    return _error(422, message, field or "body")


async def _request_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestError)
    return _error(exc.status, exc.message, exc.field)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI could not parse the body (e.g. nested too deeply)
        return _error(400, f"cannot parse the request body ({exc.detail})", "body")
    return _error(exc.status_code, str(exc.detail), None)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    """A bug, not a bad request: 500 in our shape (uvicorn logs the traceback)."""
    return _error(500, f"internal error ({type(exc).__name__}); the service keeps running", None)


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes`` gets a 413 before any parsing.

    Why buffer here: FastAPI reads the whole body before validation anyway; counting while
    reading also catches chunked uploads that send no ``Content-Length``.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(
        self, scope: MutableMapping[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, int(declared))
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, size)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, replayed = b"".join(chunks), False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[..., Any],
        send: Callable[..., Any],
        size: int,
    ) -> None:
        response = _error(
            413,
            f"request body of {size} bytes or more is over the limit of {self.max_bytes} bytes",
            "body",
        )
        await response(scope, receive, send)


# ---------------------------------------------------------------------- the app
def create_app(
    predictor: Any, *, settings: ServiceSettings | None = None, version: str | None = None
) -> FastAPI:
    """The service around a loaded :class:`~unimeec.predict.Predictor`."""
    from unimeec import __version__

    settings = settings or ServiceSettings()
    version = version or model_version(predictor)
    batcher = MicroBatcher(
        lambda conversations: predictor.predict(
            conversations, batch_size=settings.max_batch_size, progress=False
        ),
        max_batch_size=settings.max_batch_size,
        max_wait_s=settings.max_wait_ms / 1000,
    )
    store = SessionStore(settings.sessions)
    config = predictor.model.config

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        sweeper = asyncio.create_task(_sweep(store))
        try:
            yield
        finally:
            sweeper.cancel()
            await batcher.stop()

    app = FastAPI(
        title="unimeec",
        version=__version__,
        lifespan=lifespan,
        description="Emotion recognition and emotion-cause pair extraction in "
        f"conversations, served by model {version}. See docs/serving.md.",
    )
    app.state.batcher, app.state.sessions = batcher, store
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    async def run(conversations: list[Conversation]) -> list[Conversation]:
        try:
            return await batcher.predict(conversations)
        except UnimeecError as err:  # the model refused this input (e.g. too long a speaker)
            raise RequestError(422, str(err)) from None

    async def predict_one(conversation: Conversation) -> Conversation:
        return (await run([conversation]))[0]

    @app.post("/predict", summary="Predict emotions and cause pairs of conversations")
    async def predict(request: PredictRequest) -> dict[str, Any]:
        """Conversations in our JSONL format (or [speaker, text] turns) -> the same records
        with ``emotion`` and ``emotion_scores`` on every utterance and ``pairs`` with their
        probability as ``score``."""
        conversations = to_conversations(request, settings.inputs)
        predictions = await run(conversations)
        return {"model_version": version, "conversations": [p.to_dict() for p in predictions]}

    session_id_param = PathParam(pattern=SESSION_ID_PATTERN, description="any id you choose")

    @app.post(
        "/sessions/{session_id}/utterances",
        summary="Append a turn to a session (created by its first turn)",
    )
    async def add_utterance(turn: TurnIn, session_id: str = session_id_param) -> dict[str, Any]:
        """The new turn's emotion and causes among the turns so far, and the earlier turns
        whose emotion or causes changed with it."""
        check_text(turn.speaker, settings.inputs, "speaker")
        check_text(turn.text, settings.inputs, "text")
        session, changed = await store.append(session_id, turn.speaker, turn.text, predict_one)
        prediction = session.prediction
        assert prediction is not None
        return {
            "model_version": version,
            "session_id": session_id,
            "length": len(session.turns),
            "utterance": utterance_view(prediction, prediction.utterances[-1]),
            "updated": [utterance_view(prediction, prediction.utterance(k)) for k in changed],
        }

    @app.get("/sessions/{session_id}", summary="A session's turns and current predictions")
    async def get_session(session_id: str = session_id_param) -> dict[str, Any]:
        session = store.get(session_id)
        prediction = session.prediction
        assert prediction is not None
        return {
            "model_version": version,
            "session_id": session_id,
            "length": len(session.turns),
            "conversation": prediction.to_dict(),
        }

    @app.delete("/sessions/{session_id}", status_code=204, summary="Forget a session")
    async def delete_session(session_id: str = session_id_param) -> Response:
        store.delete(session_id)
        return Response(status_code=204)

    @app.get("/health", summary="Liveness and load")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "sessions": len(store),
            "pending": batcher.pending,
            "batches": dataclasses.asdict(batcher.stats),
        }

    @app.get("/info", summary="The model and the service's limits")
    async def info() -> dict[str, Any]:
        return {
            "model_version": version,
            "unimeec_version": __version__,
            "labels": list(config.emotion_labels),
            "modalities": list(config.modalities),
            "cause_threshold": config.cause_threshold,
            "backbone": config.backbone,
            "tasks": config.tasks,
            "quantize": getattr(predictor, "quantize", "none"),
            "settings": dataclasses.asdict(settings),
        }

    return app


async def _sweep(store: SessionStore) -> None:
    """Forget idle sessions even when no request comes (memory stays bounded)."""
    period = max(1.0, min(60.0, store.limits.idle_s / 2))
    while True:
        await asyncio.sleep(period)
        store.purge_expired()
