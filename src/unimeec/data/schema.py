"""The one conversation schema every reader returns and every component consumes.

Why a schema: peer projects pass pickled positional tuples around and lose track of which
index is 0- or 1-based. Here utterance indices are **1-based, as in the official files**,
and every object validates itself on construction, so a bad record fails where it is read,
with its location, instead of deep inside a model.

``Conversation.to_dict`` / ``Conversation.from_dict`` define our JSON Lines format (one
conversation per line); see the README section "Our JSONL format".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from unimeec.data.datasets import LABEL_SETS
from unimeec.data.labels import is_neutral
from unimeec.errors import DataFormatError


@dataclass(frozen=True)
class CauseSpan:
    """A cause as a span inside the cause utterance (SemEval-2024 subtask 1).

    ``start``/``end`` index whitespace tokens of the cause utterance's text, ``[start, end)``.
    Either the text or the token range may be unknown (``None``) when a source gives only one.
    """

    text: str | None = None
    start: int | None = None
    end: int | None = None

    def __post_init__(self) -> None:
        if (self.start is None) != (self.end is None):
            raise DataFormatError("span start and end must both be given or both omitted",
                                  field="span")
        if self.start is not None and not 0 <= self.start < self.end:  # type: ignore[operator]
            raise DataFormatError(f"span token range [{self.start}, {self.end}) is empty or negative",
                                  field="span")


@dataclass(frozen=True)
class EmotionCausePair:
    """Utterance ``cause_utterance`` causes the emotion of utterance ``emotion_utterance``.

    Both indices are 1-based. ``emotion`` is the emotion of the emotion utterance (MECPE-Cat);
    ``score`` is set on predictions (probability that the pair holds).
    """

    emotion_utterance: int
    cause_utterance: int
    emotion: str | None = None
    span: CauseSpan | None = None
    score: float | None = None

    @property
    def key(self) -> tuple[int, int]:
        """The pair as MECPE scores it (emotion category ignored)."""
        return (self.emotion_utterance, self.cause_utterance)

    @property
    def cat_key(self) -> tuple[int, str | None, int]:
        """The pair as MECPE-Cat scores it."""
        return (self.emotion_utterance, self.emotion, self.cause_utterance)


@dataclass
class Utterance:
    """One turn of a conversation.

    ``emotion`` is ``None`` when the utterance is unlabelled (context only, or a prediction
    input). ``media`` is a media file name or path (e.g. ``dia1utt1.mp4``), ``start``/``end``
    a time span in seconds inside that file when the source gives one.
    ``latent_cause`` marks emotions whose cause lies outside the conversation (RECCON ``b``).
    ``emotion_scores`` holds predicted class probabilities. ``meta`` keeps source-specific
    extras (e.g. ``meld_id``, ``feature_row``) that must survive a round trip.
    """

    index: int
    speaker: str
    text: str
    emotion: str | None = None
    media: str | None = None
    start: float | None = None
    end: float | None = None
    latent_cause: bool = False
    emotion_scores: dict[str, float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.index, int) or isinstance(self.index, bool) or self.index < 1:
            raise DataFormatError(f"utterance index must be an integer >= 1, got {self.index!r}",
                                  field="index")
        if not isinstance(self.text, str):
            raise DataFormatError(f"utterance {self.index}: text must be a string", field="text")
        if not isinstance(self.speaker, str):
            raise DataFormatError(f"utterance {self.index}: speaker must be a string",
                                  field="speaker")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise DataFormatError(
                f"utterance {self.index}: time span ends ({self.end}) before it starts ({self.start})",
                field="end")


@dataclass
class Conversation:
    """A dialogue with its (gold or predicted) emotions and emotion-cause pairs.

    ``has_cause_labels`` separates "annotated, no causes" from "causes not annotated"
    (MELD, IEMOCAP): models must not learn "no cause" from a dataset that never labelled
    causes. ``labels`` is the allowed emotion label set; by default the one of ``dataset``.
    """

    id: str
    utterances: list[Utterance]
    pairs: list[EmotionCausePair] = field(default_factory=list)
    dataset: str | None = None
    split: str | None = None
    has_cause_labels: bool = True
    labels: tuple[str, ...] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: Pairs dropped as exact duplicates by :meth:`deduplicate_pairs` (kept to report them).
    duplicate_pairs: list[EmotionCausePair] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.id = str(self.id)
        if self.labels is None and self.dataset in LABEL_SETS:
            self.labels = LABEL_SETS[self.dataset]
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raise :class:`DataFormatError` naming the conversation and field on any problem."""
        cid = self.id
        if not self.utterances:
            raise DataFormatError("conversation has no utterances", conversation=cid,
                                  field="utterances")
        for position, utt in enumerate(self.utterances, start=1):
            if utt.index != position:
                raise DataFormatError(
                    f"utterance indices must run 1..N in order; position {position} has "
                    f"index {utt.index}", conversation=cid, field="index")
            if utt.emotion is not None and self.labels is not None and utt.emotion not in self.labels:
                raise DataFormatError(
                    f"utterance {utt.index}: unknown emotion {utt.emotion!r}; expected one of "
                    f"{', '.join(self.labels)}", conversation=cid, field="emotion")
        n = len(self.utterances)
        for pair in self.pairs:
            for name, idx in (("emotion_utterance", pair.emotion_utterance),
                              ("cause_utterance", pair.cause_utterance)):
                if not isinstance(idx, int) or not 1 <= idx <= n:
                    raise DataFormatError(
                        f"pair ({pair.emotion_utterance}, {pair.cause_utterance}) points outside "
                        f"the conversation's {n} utterances", conversation=cid, field=name)
            if pair.emotion is not None and self.labels is not None and pair.emotion not in self.labels:
                raise DataFormatError(f"pair {pair.key}: unknown emotion {pair.emotion!r}",
                                      conversation=cid, field="emotion")

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
        return sorted({p.cause_utterance for p in self.pairs
                       if p.emotion_utterance == emotion_utterance})

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
            id=self.id, utterances=utts,
            pairs=list(pairs) if pairs is not None else list(self.pairs),
            dataset=self.dataset, split=self.split, has_cause_labels=self.has_cause_labels,
            labels=self.labels, meta=dict(self.meta),
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
    def from_dict(cls, record: Mapping[str, Any], *, dataset: str | None = None,
                  split: str | None = None) -> Conversation:
        """Build from a JSONL record; ``index`` of utterances defaults to their position.

        Unknown keys are an error (a typo must not silently drop data).
        """
        if not isinstance(record, Mapping):
            raise DataFormatError(f"a conversation must be a JSON object, got {type(record).__name__}")
        cid = record.get("id")
        if cid is None:
            raise DataFormatError("missing conversation id", field="id")
        cid = str(cid)
        unknown = set(record) - _CONVERSATION_KEYS
        if unknown:
            raise DataFormatError(f"unknown field(s) {', '.join(sorted(unknown))}; allowed: "
                                  f"{', '.join(sorted(_CONVERSATION_KEYS))}", conversation=cid,
                                  field=min(unknown))
        raw_utts = record.get("utterances")
        if not isinstance(raw_utts, list):
            raise DataFormatError("'utterances' must be a list", conversation=cid,
                                  field="utterances")
        try:
            utts = [_utterance_from_dict(u, position) for position, u in enumerate(raw_utts, 1)]
            raw_pairs = record.get("pairs", [])
            if not isinstance(raw_pairs, list):
                raise DataFormatError("'pairs' must be a list", field="pairs")
            pairs = [_pair_from_dict(p) for p in raw_pairs]
            labels = record.get("labels")
            return cls(
                id=cid, utterances=utts, pairs=pairs,
                dataset=record.get("dataset", dataset), split=record.get("split", split),
                has_cause_labels=bool(record.get("has_cause_labels", True)),
                labels=tuple(labels) if labels is not None else None,
                meta=dict(record.get("meta", {})),
            )
        except DataFormatError as err:
            raise err.located(conversation=cid) from None


_CONVERSATION_KEYS = frozenset(
    {"id", "dataset", "split", "labels", "has_cause_labels", "utterances", "pairs", "meta"})
_UTTERANCE_KEYS = frozenset({"index", "speaker", "text", "emotion", "media", "start", "end",
                             "latent_cause", "emotion_scores", "meta"})
_PAIR_KEYS = frozenset({"emotion_utterance", "cause_utterance", "emotion", "span", "score"})
_SPAN_KEYS = frozenset({"text", "start", "end"})


def _check_keys(raw: Any, allowed: frozenset[str], what: str) -> None:
    if not isinstance(raw, Mapping):
        raise DataFormatError(f"{what} must be a JSON object, got {type(raw).__name__}", field=what)
    unknown = set(raw) - allowed
    if unknown:
        raise DataFormatError(f"unknown field(s) in {what}: {', '.join(sorted(unknown))}",
                              field=min(unknown))


def _utterance_to_dict(utt: Utterance) -> dict[str, Any]:
    out: dict[str, Any] = {"index": utt.index, "speaker": utt.speaker, "text": utt.text,
                           "emotion": utt.emotion}
    for key in ("media", "start", "end", "emotion_scores"):
        if getattr(utt, key) is not None:
            out[key] = getattr(utt, key)
    if utt.latent_cause:
        out["latent_cause"] = True
    if utt.meta:
        out["meta"] = utt.meta
    return out


def _utterance_from_dict(raw: Any, position: int) -> Utterance:
    _check_keys(raw, _UTTERANCE_KEYS, f"utterance {position}")
    if "text" not in raw:
        raise DataFormatError(f"utterance {position} has no 'text'", field="text")
    return Utterance(
        index=raw.get("index", position), speaker=str(raw.get("speaker", "")), text=raw["text"],
        emotion=raw.get("emotion"), media=raw.get("media"),
        start=raw.get("start"), end=raw.get("end"),
        latent_cause=bool(raw.get("latent_cause", False)),
        emotion_scores=raw.get("emotion_scores"), meta=dict(raw.get("meta", {})),
    )


def _pair_to_dict(pair: EmotionCausePair) -> dict[str, Any]:
    out: dict[str, Any] = {"emotion_utterance": pair.emotion_utterance,
                           "cause_utterance": pair.cause_utterance}
    if pair.emotion is not None:
        out["emotion"] = pair.emotion
    if pair.span is not None:
        out["span"] = {k: getattr(pair.span, k) for k in ("text", "start", "end")
                       if getattr(pair.span, k) is not None}
    if pair.score is not None:
        out["score"] = pair.score
    return out


def _pair_from_dict(raw: Any) -> EmotionCausePair:
    if isinstance(raw, (list, tuple)) and len(raw) == 2:  # shorthand [emotion_utt, cause_utt]
        raw = {"emotion_utterance": raw[0], "cause_utterance": raw[1]}
    _check_keys(raw, _PAIR_KEYS, "pair")
    for key in ("emotion_utterance", "cause_utterance"):
        if key not in raw:
            raise DataFormatError(f"pair has no {key!r}", field=key)
    span = raw.get("span")
    if span is not None:
        _check_keys(span, _SPAN_KEYS, "span")
        span = CauseSpan(text=span.get("text"), start=span.get("start"), end=span.get("end"))
    return EmotionCausePair(emotion_utterance=raw["emotion_utterance"],
                            cause_utterance=raw["cause_utterance"], emotion=raw.get("emotion"),
                            span=span, score=raw.get("score"))
