"""The online mode: conversations kept by the server, one turn appended at a time.

Why limits: a dialogue system opens sessions and may never close them. The store holds at
most ``max_sessions`` sessions of at most ``max_turns`` turns each, and forgets a session
idle for ``idle_s`` seconds. Each append re-predicts the whole conversation (the backbone
reads every turn, so a new turn can change earlier predictions) and commits the turn and
its predictions only when the prediction succeeded: a failed request changes no session.
Appends to one session are serialised by its lock; different sessions run concurrently
(and share micro-batches).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from unimeec.data.schema import Conversation, Utterance
from unimeec.serving.errors import RequestError
from unimeec.serving.schemas import session_conversation


@dataclass(frozen=True)
class SessionLimits:
    max_sessions: int = 1000
    max_turns: int = 100
    idle_s: float = 1800.0


@dataclass
class Session:
    id: str
    last_used: float
    turns: list[tuple[str, str]] = field(default_factory=list)
    prediction: Conversation | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _causes(conversation: Conversation, index: int) -> list[dict[str, Any]]:
    return [
        {"cause_utterance": p.cause_utterance, "emotion": p.emotion, "score": p.score}
        for p in conversation.pairs
        if p.emotion_utterance == index
    ]


def utterance_view(conversation: Conversation, utterance: Utterance) -> dict[str, Any]:
    """One predicted turn: emotion, class probabilities and causes among the turns so far."""
    return {
        "index": utterance.index,
        "speaker": utterance.speaker,
        "text": utterance.text,
        "emotion": utterance.emotion,
        "emotion_scores": utterance.emotion_scores,
        "causes": _causes(conversation, utterance.index),
    }


def changed_turns(before: Conversation | None, after: Conversation) -> list[int]:
    """Earlier turns whose predicted emotion or cause set differs between two predictions."""
    if before is None:
        return []
    return [
        u.index
        for u, v in zip(before.utterances, after.utterances)
        if u.emotion != v.emotion or set(before.causes_of(u.index)) != set(after.causes_of(u.index))
    ]


class SessionStore:
    """Sessions by id, with the limits of :class:`SessionLimits` enforced on every call."""

    def __init__(
        self, limits: SessionLimits, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def purge_expired(self) -> int:
        """Forget sessions idle longer than ``idle_s`` (not those in the middle of a request)."""
        cutoff = self._clock() - self.limits.idle_s
        expired = [
            sid for sid, s in self._sessions.items() if s.last_used < cutoff and not s.lock.locked()
        ]
        for sid in expired:
            del self._sessions[sid]
        return len(expired)

    def get(self, session_id: str) -> Session:
        self.purge_expired()
        session = self._sessions.get(session_id)
        if session is None or session.prediction is None:  # None: its first turn is running
            raise RequestError(
                404,
                f"no session {session_id!r} (never created, deleted, or "
                f"idle for more than {self.limits.idle_s:g} s)",
                field="session_id",
            )
        session.last_used = self._clock()
        return session

    def delete(self, session_id: str) -> None:
        self.get(session_id)
        del self._sessions[session_id]

    def _open(self, session_id: str) -> Session:
        self.purge_expired()
        session = self._sessions.get(session_id)
        if session is None:
            if len(self._sessions) >= self.limits.max_sessions:
                raise RequestError(
                    429,
                    f"the server holds its limit of "
                    f"{self.limits.max_sessions} sessions; delete one or wait "
                    f"{self.limits.idle_s:g} s for idle ones to expire",
                    field="session_id",
                )
            session = self._sessions[session_id] = Session(session_id, self._clock())
        return session

    async def append(
        self,
        session_id: str,
        speaker: str,
        text: str,
        predict: Callable[[Conversation], Awaitable[Conversation]],
    ) -> tuple[Session, list[int]]:
        """Add a turn (creating the session on its first one); also the changed earlier turns."""
        session = self._open(session_id)
        async with session.lock:
            try:
                if self._sessions.get(session_id) is not session:
                    raise RequestError(
                        409,
                        f"session {session_id!r} was deleted while this request waited",
                        field="session_id",
                    )
                if len(session.turns) >= self.limits.max_turns:
                    raise RequestError(
                        409,
                        f"session {session_id!r} holds its limit of "
                        f"{self.limits.max_turns} utterances; start a new "
                        "session",
                        field="session_id",
                    )
                turns = [*session.turns, (speaker, text)]
                prediction = await predict(session_conversation(session_id, turns))
                if self._sessions.get(session_id) is not session:
                    raise RequestError(
                        409,
                        f"session {session_id!r} was deleted during this request",
                        field="session_id",
                    )
            except BaseException:
                if not session.turns and self._sessions.get(session_id) is session:
                    del self._sessions[session_id]  # a session is created by a success only
                raise
            changed = changed_turns(session.prediction, prediction)
            session.turns, session.prediction = turns, prediction
            session.last_used = self._clock()
            return session, changed
