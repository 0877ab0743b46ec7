"""The session store's idle limit, on a clock the test moves, with the real Predictor."""

from __future__ import annotations

import asyncio

import pytest

from unimeec.data import Conversation
from unimeec.predict import Predictor
from unimeec.serving.errors import RequestError
from unimeec.serving.sessions import SessionLimits, SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_sessions_expire_and_use_keeps_them(reference: Predictor) -> None:
    clock = Clock()
    store = SessionStore(SessionLimits(max_sessions=2, max_turns=3, idle_s=60), clock=clock)

    async def predict(conversation: Conversation) -> Conversation:
        return await asyncio.to_thread(reference.predict, conversation)

    async def scenario() -> None:
        await store.append("a", "Ross", "Hi.", predict)
        await store.append("b", "Joey", "How you doin'?", predict)
        with pytest.raises(RequestError, match="holds its limit of 2 sessions"):
            await store.append("c", "Rachel", "Hello.", predict)
        clock.now += 45
        store.get("a")  # used: its idle time starts again
        clock.now += 45  # "b" idle for 90 s > 60 s, "a" for 45 s
        assert store.purge_expired() == 1 and len(store) == 1
        with pytest.raises(RequestError, match=r"no session 'b' .*idle for more than 60 s"):
            store.get("b")
        session, changed = await store.append("c", "Rachel", "Hello.", predict)
        assert session.turns == [("Rachel", "Hello.")] and changed == []
        clock.now += 61
        assert store.purge_expired() == 2 and len(store) == 0

    asyncio.run(scenario())


def test_a_session_in_the_middle_of_its_first_turn_is_not_visible(reference: Predictor) -> None:
    store = SessionStore(SessionLimits())

    async def predict(conversation: Conversation) -> Conversation:
        return await asyncio.to_thread(reference.predict, conversation)

    async def scenario() -> None:
        first = asyncio.create_task(store.append("new", "A", "Hi there.", predict))
        await asyncio.sleep(0)  # the append now waits for its prediction
        assert len(store) == 1
        with pytest.raises(RequestError, match="no session 'new'"):
            store.get("new")
        session, _ = await first
        assert store.get("new") is session and session.prediction is not None

    asyncio.run(scenario())
