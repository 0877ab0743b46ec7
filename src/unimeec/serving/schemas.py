"""Request bodies of the service, and their conversion to :class:`Conversation` objects.

Why pydantic for the envelope only: the JSONL conversation record has one definition,
:meth:`Conversation.from_dict` (with its own unknown-key errors), reached through
:func:`unimeec.predict.parse_conversations` exactly as ``Predictor`` parses its input. Pydantic
checks what is specific to HTTP: unknown top-level keys, the shape of ``(speaker, text)``
turns, and types, each error with the path of the offending field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from unimeec.data.schema import Conversation, Utterance, lone_surrogate
from unimeec.errors import DataFormatError
from unimeec.predict import parse_conversations
from unimeec.serving.errors import RequestError

#: Branch names of the conversation union; validation paths drop them (see ``app``).
UNION_TAGS = frozenset({"record", "turns"})

Turn = Annotated[tuple[str, str], Field(description="[speaker, text]")]


def _conversation_kind(value: Any) -> str | None:
    """An object is a JSONL (or SemEval) record, an array a list of turns."""
    if isinstance(value, dict):
        return "record"
    if isinstance(value, list):
        return "turns"
    return None


ConversationIn = Annotated[
    Annotated[dict[str, Any], Tag("record")]
    | Annotated[list[Turn], Field(min_length=1), Tag("turns")],
    Discriminator(
        _conversation_kind,
        custom_error_type="conversation_type",
        custom_error_message="a conversation is a JSONL record (an object with 'utterances') "
        "or a list of [speaker, text] turns",
    ),
]


class PredictRequest(BaseModel):
    """``POST /predict``: one or many conversations."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"conversations": [[["Monica", "You got the job?"], ["Rachel", "I got it!"]]]},
                {
                    "conversations": [
                        {
                            "id": "d1",
                            "utterances": [
                                {"speaker": "Monica", "text": "You got the job?"},
                                {"speaker": "Rachel", "text": "I got it!"},
                            ],
                        }
                    ]
                },
            ]
        },
    )

    conversations: list[ConversationIn] = Field(
        min_length=1,
        description="Conversations in our JSONL format (one record each; SemEval-2024 JSON "
        "records work too) or as lists of [speaker, text] turns.",
    )


class TurnIn(BaseModel):
    """``POST /sessions/{id}/utterances``: the next turn of the conversation."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"speaker": "Rachel", "text": "I got it!"}]},
    )

    speaker: str = Field(default="", description="who speaks (the model tells speakers apart)")
    text: str = Field(min_length=1, description="what they say")


@dataclass(frozen=True)
class InputLimits:
    """Per-request size limits, stated in /info and enforced before any inference."""

    max_conversations: int = 64
    max_utterances: int = 100
    max_text_chars: int = 2000


def check_unicode(value: Any, field: str) -> None:
    """A lone surrogate (see :func:`unimeec.data.schema.lone_surrogate`) is a 422 naming
    the first such string's field."""
    if isinstance(value, str):
        position = lone_surrogate(value)
        if position is not None:
            raise RequestError(
                422, f"not valid Unicode (a lone surrogate at character {position})", field=field
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            check_unicode(key, field)
            check_unicode(item, f"{field}.{key}")
    elif isinstance(value, (list, tuple)):
        for position, item in enumerate(value):
            check_unicode(item, f"{field}.{position}")


def check_text(value: str, limits: InputLimits, field: str) -> None:
    """A speaker or text over ``max_text_chars`` (or not valid Unicode) is a 422."""
    check_unicode(value, field)
    if len(value) > limits.max_text_chars:
        raise RequestError(
            422,
            f"{len(value)} characters, more than the limit of {limits.max_text_chars}",
            field=field,
        )


def check_conversation(conversation: Conversation, limits: InputLimits, where: str) -> None:
    """Raise a 422 :class:`RequestError` naming the field when a limit is exceeded."""
    n = len(conversation)
    if n > limits.max_utterances:
        raise RequestError(
            422,
            f"{n} utterances, more than the limit of {limits.max_utterances}",
            field=f"{where}utterances",
        )
    for position, utterance in enumerate(conversation.utterances):
        for name in ("speaker", "text"):
            check_text(getattr(utterance, name), limits, f"{where}utterances.{position}.{name}")


def to_conversations(request: PredictRequest, limits: InputLimits) -> list[Conversation]:
    """Validated conversations in request order; turn lists get ids ``conversation-<k>``."""
    if len(request.conversations) > limits.max_conversations:
        raise RequestError(
            422,
            f"{len(request.conversations)} conversations, more than the "
            f"limit of {limits.max_conversations}",
            field="conversations",
        )
    out: list[Conversation] = []
    for position, item in enumerate(request.conversations):
        where = f"conversations.{position}"
        check_unicode(item, where)
        try:
            [conversation], _ = parse_conversations([item])
        except DataFormatError as err:
            field = f"{where}.{err.field}" if err.field and " " not in err.field else where
            raise RequestError(422, err.reason, field=field) from None
        if isinstance(item, list):
            conversation.id = f"conversation-{position + 1}"
        check_conversation(conversation, limits, f"{where}.")
        out.append(conversation)
    return out


def session_conversation(session_id: str, turns: list[tuple[str, str]]) -> Conversation:
    """The conversation a session holds, as ``Predictor`` input."""
    return Conversation(
        id=session_id,
        utterances=[
            Utterance(index=k, speaker=speaker, text=text)
            for k, (speaker, text) in enumerate(turns, start=1)
        ],
    )
