"""The one conversation schema every reader returns and every component consumes.

Why a schema: peer projects pass pickled positional tuples around and lose track of which
index is 0- or 1-based. Here utterance indices are **1-based, as in the official files**,
and every object validates itself on construction, so a bad record fails where it is read,
with its location, instead of deep inside a model.

Why pydantic dataclasses: the field types below are the one statement of what each field
may hold, and pydantic enforces them everywhere an object is made: by a reader, by
:meth:`Conversation.from_dict` from our JSONL, by a model's predictions. Types are strict
(``"false"`` is not a bool, ``"joy"`` is not a tuple of labels, ``True`` is not an index,
``None`` is not a speaker, NaN/Infinity are not times) and unknown JSONL keys are errors, so
nothing is coerced or dropped silently. They stay dataclasses (``dataclasses.replace``,
positional construction, equality, pickling) so the rest of the code sees no difference, and
every validation failure surfaces as :class:`~unimeec.errors.DataFormatError` naming the
field. Rules between fields (indices 1..N, labels of the label set, pairs inside the
conversation) are checked in ``__post_init__`` / :meth:`Conversation.validate`.

``Conversation.to_dict`` / ``Conversation.from_dict`` define our JSON Lines format (one
conversation per line); see the README section "Our JSONL format".
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field, replace
from typing import Annotated, Any, TypeVar

import pydantic
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)
from pydantic.dataclasses import dataclass as _pydantic_dataclass

from unimeec.data.datasets import LABEL_SETS
from unimeec.data.labels import is_neutral
from unimeec.errors import DataFormatError

#: Unknown keys are errors; NaN and infinities are not numbers we accept (nor can write as JSON).
_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)
_T = TypeVar("_T")


def _schema_dataclass(cls: type[_T] | None = None, *, frozen: bool = False) -> Any:
    """A pydantic dataclass whose construction errors are :class:`DataFormatError`."""

    def wrap(cls: type[_T]) -> type[_T]:
        cls = _pydantic_dataclass(cls, frozen=frozen, config=_CONFIG)  # type: ignore[assignment]
        init = cls.__init__
        positional = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                init(self, *args, **kwargs)
            except pydantic.ValidationError as err:
                raise validation_error(err, what=cls.__name__, positional=positional) from None

        cls.__init__ = __init__  # type: ignore[misc]
        return cls

    return wrap if cls is None else wrap(cls)


def validation_error(
    err: pydantic.ValidationError,
    *,
    what: str | None = None,
    names: Mapping[str, str] | None = None,
    positional: Sequence[str] = (),
    fields: Iterable[str] = (),
) -> DataFormatError:
    """The first problem of a pydantic error as a :class:`DataFormatError` naming its field.

    A location ``('utterances', 0, 'speaker')`` reads "utterance 1" with field ``speaker``;
    ``names`` adds singular words for list fields (``utterances`` -> ``utterance``). A
    :class:`DataFormatError` raised inside a ``__post_init__`` passes through unchanged.
    ``positional`` names the fields of positional arguments (a location ``(0,)``);
    ``fields`` adds the field names of a non-schema model (the rest of a location are list
    items, dict keys and union-member tags such as ``'int'``).
    """
    names = {**_SINGULAR, **(names or {})}
    errors = err.errors()
    # an unknown key explains a "missing" one (a typo), so it is reported first
    first = next((e for e in errors if e["type"] in _UNKNOWN), errors[0])
    inner = (first.get("ctx") or {}).get("error")
    if isinstance(inner, DataFormatError):
        return inner
    loc = tuple(first["loc"])
    if loc and isinstance(loc[0], int) and loc[0] < len(positional):
        loc = (positional[loc[0]], *loc[1:])
    if first["type"] in _UNKNOWN or first["type"] in _MISSING:
        holder, name = _holder(loc[:-1], names) or (what or "record"), str(loc[-1])
        if first["type"] in _MISSING:
            return DataFormatError(f"{holder} has no {name!r}", field=name)
        unknown = sorted(
            str(e["loc"][-1])
            for e in errors
            if e["type"] in _UNKNOWN and tuple(e["loc"][:-1]) == loc[:-1]
        )
        return DataFormatError(
            f"unknown field(s) in {holder}: {', '.join(unknown)}", field=unknown[0]
        )
    named = [k for k, part in enumerate(loc) if isinstance(part, str)]
    field_names = _FIELD_NAMES | frozenset(fields)
    known = [k for k in named if loc[k] in field_names]
    cut = (known[-1] if known else named[0]) if named else len(loc)
    name = str(loc[cut]) if named else None
    rest = loc[cut + 1 :]
    if len(rest) == 1 and isinstance(rest[0], int) and name in names:  # a whole list item
        subject = _holder(loc, names)
    elif cut == 0 and not rest:  # the field alone: the location already names it
        subject = ""
    else:
        subject = ", ".join(
            filter(
                None,
                (
                    _holder(loc[:cut], names),
                    f"{name}{''.join(f'[{p!r}]' for p in rest)}" if name else "",
                ),
            )
        )
    got = first.get("input")
    shown = repr(got) if len(repr(got)) <= 60 else repr(got)[:57] + "..."
    message = first["msg"].removeprefix("Value error, ")  # our validators' own words
    message = message[:1].lower() + message[1:]
    subject = subject or what or ""
    return DataFormatError(
        f"{subject + ': ' if subject else ''}{message}, got {shown} ({type(got).__name__})",
        field=name,
    )


_SINGULAR = {"utterances": "utterance", "pairs": "pair"}
_UNKNOWN = frozenset({"extra_forbidden", "unexpected_keyword_argument"})
_MISSING = frozenset({"missing", "missing_argument"})


def _holder(loc: Sequence[Any], names: Mapping[str, str]) -> str:
    """``('utterances', 0, 'span')`` -> ``"utterance 1, span"``."""
    parts: list[str] = []
    k = 0
    while k < len(loc):
        part = loc[k]
        if isinstance(part, str) and k + 1 < len(loc) and isinstance(loc[k + 1], int):
            parts.append(f"{names.get(part, part)} {loc[k + 1] + 1}")
            k += 2
        else:
            parts.append(str(part) if isinstance(part, str) else f"item {part + 1}")
            k += 1
    return ", ".join(parts)


def _id_to_str(value: Any) -> Any:
    """Conversation ids are strings; an integer id (SemEval's, JSONL's) is accepted as one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def lone_surrogate(value: str) -> int | None:
    """Position of the first lone surrogate of ``value``, or ``None`` if it is valid Unicode.

    JSON may escape lone surrogates (``"\\ud800"``), which no UTF-8 encoder or tokenizer
    accepts: every text field refuses them where the record is read (the server too)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        return err.start
    return None


def _valid_unicode(value: str) -> str:
    position = lone_surrogate(value)
    if position is not None:
        raise ValueError(f"not valid Unicode (a lone surrogate at character {position})")
    return value


#: A string that can be written as UTF-8 (every text field of the schema).
Text = Annotated[StrictStr, AfterValidator(_valid_unicode)]
ConversationId = Annotated[StrictStr, BeforeValidator(_id_to_str), AfterValidator(_valid_unicode)]


@_schema_dataclass(frozen=True)
class CauseSpan:
    """A cause as a span inside the cause utterance (SemEval-2024 subtask 1).

    ``start``/``end`` index whitespace tokens of the cause utterance's text, ``[start, end)``.
    Either the text or the token range may be unknown (``None``) when a source gives only one.
    """

    text: Text | None = None
    start: StrictInt | None = None
    end: StrictInt | None = None

    def __post_init__(self) -> None:
        if (self.start is None) != (self.end is None):
            raise DataFormatError(
                "span start and end must both be given or both omitted", field="span"
            )
        if self.start is not None and not 0 <= self.start < self.end:  # type: ignore[operator]
            raise DataFormatError(
                f"span token range [{self.start}, {self.end}) is empty or negative", field="span"
            )


@_schema_dataclass(frozen=True)
class EmotionCausePair:
    """Utterance ``cause_utterance`` causes the emotion of utterance ``emotion_utterance``.

    Both indices are 1-based. ``emotion`` is the emotion of the emotion utterance (MECPE-Cat);
    ``score`` is set on predictions (probability that the pair holds).
    """

    emotion_utterance: StrictInt
    cause_utterance: StrictInt
    emotion: StrictStr | None = None
    span: CauseSpan | None = None
    score: StrictFloat | None = None

    @property
    def key(self) -> tuple[int, int]:
        """The pair as MECPE scores it (emotion category ignored)."""
        return (self.emotion_utterance, self.cause_utterance)

    @property
    def cat_key(self) -> tuple[int, str | None, int]:
        """The pair as MECPE-Cat scores it."""
        return (self.emotion_utterance, self.emotion, self.cause_utterance)


@_schema_dataclass
class Utterance:
    """One turn of a conversation.

    ``emotion`` is ``None`` when the utterance is unlabelled (context only, or a prediction
    input). ``media`` is a media file name or path (e.g. ``dia1utt1.mp4``), ``start``/``end``
    a time span in seconds inside that file when the source gives one.
    ``latent_cause`` marks emotions whose cause lies outside the conversation (RECCON ``b``).
    ``emotion_scores`` holds predicted class probabilities. ``meta`` keeps source-specific
    extras (e.g. ``meld_id``, ``feature_row``) that must survive a round trip.
    """

    index: StrictInt
    speaker: Text
    text: Text
    emotion: StrictStr | None = None
    media: StrictStr | None = None
    start: StrictFloat | None = None
    end: StrictFloat | None = None
    latent_cause: StrictBool = False
    emotion_scores: dict[StrictStr, StrictFloat] | None = None
    meta: dict[StrictStr, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.index < 1:
            raise DataFormatError(
                f"utterance index must be an integer >= 1, got {self.index!r}", field="index"
            )
        if self.start is not None and self.end is not None and self.end < self.start:
            raise DataFormatError(
                f"utterance {self.index}: time span ends ({self.end}) before it starts ({self.start})",
                field="end",
            )


@_schema_dataclass
class Conversation:
    """A dialogue with its (gold or predicted) emotions and emotion-cause pairs.

    ``has_cause_labels`` separates "annotated, no causes" from "causes not annotated"
    (MELD, IEMOCAP): models must not learn "no cause" from a dataset that never labelled
    causes. ``labels`` is the allowed emotion label set; by default the one of ``dataset``.
    """

    id: ConversationId
    utterances: list[Utterance]
    pairs: list[EmotionCausePair] = field(default_factory=list)
    dataset: StrictStr | None = None
    split: StrictStr | None = None
    has_cause_labels: StrictBool = True
    labels: tuple[StrictStr, ...] | None = None
    meta: dict[StrictStr, Any] = field(default_factory=dict)
    #: Pairs dropped as exact duplicates by :meth:`deduplicate_pairs` (kept to report them).
    duplicate_pairs: list[EmotionCausePair] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.labels is None and self.dataset in LABEL_SETS:
            self.labels = LABEL_SETS[self.dataset]
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raise :class:`DataFormatError` naming the conversation and field on any problem."""
        cid = self.id
        if not self.utterances:
            raise DataFormatError(
                "conversation has no utterances", conversation=cid, field="utterances"
            )
        for position, utt in enumerate(self.utterances, start=1):
            if utt.index != position:
                raise DataFormatError(
                    f"utterance indices must run 1..N in order; position {position} has "
                    f"index {utt.index}",
                    conversation=cid,
                    field="index",
                )
            if (
                utt.emotion is not None
                and self.labels is not None
                and utt.emotion not in self.labels
            ):
                raise DataFormatError(
                    f"utterance {utt.index}: unknown emotion {utt.emotion!r}; expected one of "
                    f"{', '.join(self.labels)}",
                    conversation=cid,
                    field="emotion",
                )
        n = len(self.utterances)
        for pair in self.pairs:
            for name, idx in (
                ("emotion_utterance", pair.emotion_utterance),
                ("cause_utterance", pair.cause_utterance),
            ):
                if not isinstance(idx, int) or not 1 <= idx <= n:
                    raise DataFormatError(
                        f"pair ({pair.emotion_utterance}, {pair.cause_utterance}) points outside "
                        f"the conversation's {n} utterances",
                        conversation=cid,
                        field=name,
                    )
            if (
                pair.emotion is not None
                and self.labels is not None
                and pair.emotion not in self.labels
            ):
                raise DataFormatError(
                    f"pair {pair.key}: unknown emotion {pair.emotion!r}",
                    conversation=cid,
                    field="emotion",
                )

    def deduplicate_pairs(self) -> int:
        """Drop exact duplicate pairs (as the official SemEval scorer does); return how many.

        The dropped pairs stay visible in ``duplicate_pairs`` so readers can report them.
        """
        seen: set[tuple[Any, ...]] = set()
        kept: list[EmotionCausePair] = []
        for pair in self.pairs:
            key = (pair.emotion_utterance, pair.emotion, pair.cause_utterance, pair.span)
            if key in seen:
                self.duplicate_pairs.append(pair)
            else:
                seen.add(key)
                kept.append(pair)
        removed = len(self.pairs) - len(kept)
        self.pairs = kept
        return removed

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.utterances)

    def utterance(self, index: int) -> Utterance:
        """The utterance with 1-based ``index``."""
        return self.utterances[index - 1]

    @property
    def has_emotion_labels(self) -> bool:
        return any(u.emotion is not None for u in self.utterances)

    @property
    def emotion_utterances(self) -> list[int]:
        """1-based indices of non-neutral (labelled) utterances."""
        return [u.index for u in self.utterances if not is_neutral(u.emotion)]

    def pair_set(self) -> set[tuple[int, int]]:
        """Distinct utterance-level pairs (span and emotion ignored)."""
        return {p.key for p in self.pairs}

    def causes_of(self, emotion_utterance: int) -> list[int]:
        return sorted(
            {p.cause_utterance for p in self.pairs if p.emotion_utterance == emotion_utterance}
        )

    def with_predictions(
        self,
        emotions: Sequence[str | None] | None = None,
        pairs: Iterable[EmotionCausePair] | None = None,
        emotion_scores: Sequence[Mapping[str, float] | None] | None = None,
    ) -> Conversation:
        """A copy carrying predicted emotions / pairs, leaving this (gold) object untouched."""
        utts = []
        for k, utt in enumerate(self.utterances):
            changes: dict[str, Any] = {"meta": dict(utt.meta)}
            if emotions is not None:
                changes["emotion"] = emotions[k]
            if emotion_scores is not None:
                scores = emotion_scores[k]
                changes["emotion_scores"] = dict(scores) if scores is not None else None
            utts.append(replace(utt, **changes))
        return Conversation(
            id=self.id,
            utterances=utts,
            pairs=list(pairs) if pairs is not None else list(self.pairs),
            dataset=self.dataset,
            split=self.split,
            has_cause_labels=self.has_cause_labels,
            labels=self.labels,
            meta=dict(self.meta),
        )

    def _repr_html_(self) -> str | None:
        """Notebooks draw the conversation as ``unimeec report`` does (chips, cause arrows)."""
        from unimeec.report.render import repr_html

        return repr_html(self)

    # ------------------------------------------------------------------ JSONL
    def to_dict(self) -> dict[str, Any]:
        """Our JSONL record. Optional fields are written only when set, to keep files small."""
        record: dict[str, Any] = {"id": self.id}
        for key in ("dataset", "split"):
            if getattr(self, key) is not None:
                record[key] = getattr(self, key)
        if self.labels is not None and LABEL_SETS.get(self.dataset or "") != self.labels:
            record["labels"] = list(self.labels)
        record["has_cause_labels"] = self.has_cause_labels
        record["utterances"] = [_utterance_to_dict(u) for u in self.utterances]
        record["pairs"] = [_pair_to_dict(p) for p in self.pairs]
        if self.meta:
            record["meta"] = self.meta
        return record

    @classmethod
    def from_dict(
        cls, record: Mapping[str, Any], *, dataset: str | None = None, split: str | None = None
    ) -> Conversation:
        """Build from a JSONL record; ``index`` of utterances defaults to their position.

        The record is validated against the field types of this module (strict: no
        coercion) and unknown keys are an error (a typo must not silently drop data).
        ``dataset``/``split`` fill in a record that lacks them.
        """
        if not isinstance(record, Mapping):
            raise DataFormatError(
                f"a conversation must be a JSON object, got {type(record).__name__}"
            )
        if "id" not in record:
            raise DataFormatError("missing conversation id", field="id")
        cid = record["id"]
        if isinstance(cid, bool) or not isinstance(cid, (str, int)):
            raise DataFormatError(
                f"conversation id must be a string or an integer, got {cid!r}", field="id"
            )
        cid = str(cid)
        if "duplicate_pairs" in record:  # a reading report, not part of the format
            raise DataFormatError(
                "unknown field(s) in conversation: duplicate_pairs",
                conversation=cid,
                field="duplicate_pairs",
            )
        prepared: dict[str, Any] = {"dataset": dataset, "split": split, **record, "id": cid}
        utts = prepared.get("utterances")
        if isinstance(utts, list):  # index defaults to the position, speaker to ""
            prepared["utterances"] = [
                {"index": position, "speaker": "", **u} if isinstance(u, Mapping) else u
                for position, u in enumerate(utts, start=1)
            ]
        pairs = prepared.get("pairs")
        if isinstance(pairs, list):  # shorthand [emotion_utt, cause_utt]
            prepared["pairs"] = [
                {"emotion_utterance": p[0], "cause_utterance": p[1]}
                if isinstance(p, list) and len(p) == 2
                else p
                for p in pairs
            ]
        try:
            return _CONVERSATION.validate_python(prepared)
        except pydantic.ValidationError as err:
            raise validation_error(err, what="conversation").located(conversation=cid) from None
        except DataFormatError as err:
            raise err.located(conversation=cid) from None


_CONVERSATION = pydantic.TypeAdapter(Conversation)
_FIELD_NAMES = frozenset(
    f.name
    for cls in (CauseSpan, EmotionCausePair, Utterance, Conversation)
    for f in dataclasses.fields(cls)
)  # type: ignore[arg-type]


def _utterance_to_dict(utt: Utterance) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": utt.index,
        "speaker": utt.speaker,
        "text": utt.text,
        "emotion": utt.emotion,
    }
    for key in ("media", "start", "end", "emotion_scores"):
        if getattr(utt, key) is not None:
            out[key] = getattr(utt, key)
    if utt.latent_cause:
        out["latent_cause"] = True
    if utt.meta:
        out["meta"] = utt.meta
    return out


def _pair_to_dict(pair: EmotionCausePair) -> dict[str, Any]:
    out: dict[str, Any] = {
        "emotion_utterance": pair.emotion_utterance,
        "cause_utterance": pair.cause_utterance,
    }
    if pair.emotion is not None:
        out["emotion"] = pair.emotion
    if pair.span is not None:
        out["span"] = {
            k: getattr(pair.span, k)
            for k in ("text", "start", "end")
            if getattr(pair.span, k) is not None
        }
    if pair.score is not None:
        out["score"] = pair.score
    return out
