"""``Predictor``: a conversation in, emotions and emotion-cause pairs out.

Why: peer projects ship no way to run a trained model on a new conversation. Here one call
loads a saved model with its processor, and another predicts::

    from unimeec.predict import Predictor

    predictor = Predictor.from_pretrained("runs/ecf1-joint/model")
    result = predictor.predict([("Monica", "You got the job?"), ("Rachel", "I got it!")])
    result.utterances[1].emotion            # "joy"
    result.utterances[1].emotion_scores     # {"neutral": 0.05, "joy": 0.81, ...}
    [(p.emotion_utterance, p.cause_utterance, p.score) for p in result.pairs]

Inputs: our :class:`~unimeec.data.schema.Conversation` objects, our JSONL dicts, SemEval-2024
JSON dicts, or plain lists of ``(speaker, text)``; one of them or a list of them (the
output has the same shape). Audio/visual features are optional: the modalities the
checkpoint was trained with but that are not given are treated as missing, with a warning.
Feature sources are feature stores or the official ECF ``.npy`` tables
(:func:`unimeec.data.features.open_features`). Loading a model directory, with its integrity
check, is :mod:`unimeec.checkpoint`; nothing here imports training code.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from unimeec.checkpoint import load_model_and_processor, move_batch
from unimeec.data.features import open_features
from unimeec.data.io import read_conversations, write_conversations
from unimeec.data.schema import Conversation, Utterance
from unimeec.errors import ConfigError, DataFormatError, FeatureError
from unimeec.outputs import prepare_output

log = logging.getLogger(__name__)

#: Inputs longer than this many conversations show a progress bar (unless told otherwise).
PROGRESS_MIN_CONVERSATIONS = 64
#: ``predict_file`` output formats -> the writer's format names.
OUTPUT_FORMATS: dict[str, str] = {
    "jsonl": "jsonl",
    "semeval": "semeval-subtask2",
    "semeval-subtask1": "semeval-subtask1",
    "semeval-subtask2": "semeval-subtask2",
}
#: ``Predictor`` weight formats: fp32 as saved, or int8 dynamic quantisation (CPU only).
QUANTIZE_CHOICES: tuple[str, ...] = ("none", "int8")


# ---------------------------------------------------------------------- input parsing
def _is_turn(item: Any) -> bool:
    return (
        isinstance(item, (list, tuple))
        and len(item) == 2
        and all(isinstance(part, str) for part in item)
    )


def _is_turn_list(item: Any) -> bool:
    return isinstance(item, (list, tuple)) and len(item) > 0 and all(_is_turn(t) for t in item)


def _from_turns(turns: Sequence[Sequence[str]], position: int) -> Conversation:
    return Conversation(
        id=f"conversation-{position}",
        utterances=[
            Utterance(index=k, speaker=speaker, text=text)
            for k, (speaker, text) in enumerate(turns, start=1)
        ],
    )


def _from_semeval(records: list[Mapping[str, Any]]) -> list[Conversation]:
    """SemEval JSON dicts go through the data area's SemEval reader (one validated parser)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.json"
        path.write_text(json.dumps(list(records), ensure_ascii=False), encoding="utf-8")
        try:
            return read_conversations(path, format="semeval", split=None)
        except DataFormatError as err:
            raise DataFormatError(
                err.reason, conversation=err.conversation, field=err.field
            ) from None


def parse_conversations(inputs: Any) -> tuple[list[Conversation], bool]:
    """Normalise any supported input to conversations; also whether it was a single one."""
    if isinstance(inputs, (Conversation, Mapping)) or _is_turn_list(inputs):
        return parse_conversations([inputs])[0], True
    if not isinstance(inputs, Iterable) or isinstance(inputs, (str, bytes)):
        raise DataFormatError(
            f"cannot predict on a {type(inputs).__name__}; give a Conversation, "
            "a JSONL or SemEval dict, a list of (speaker, text), or a list of them"
        )
    out: list[Conversation] = []
    semeval: list[tuple[int, Mapping[str, Any]]] = []
    for position, item in enumerate(inputs, start=1):
        if isinstance(item, Conversation):
            item.validate()
            out.append(item)
        elif isinstance(item, Mapping) and "utterances" in item:
            out.append(Conversation.from_dict(item))
        elif isinstance(item, Mapping) and "conversation" in item:
            semeval.append((len(out), item))
            out.append(None)  # type: ignore[arg-type]  # filled below, order kept
        elif isinstance(item, Mapping):
            raise DataFormatError(
                "unknown conversation record: expected our JSONL format "
                "('utterances') or SemEval JSON ('conversation')",
                conversation=str(item.get("id", f"#{position}")),
                field=", ".join(sorted(map(str, item))) or "(empty record)",
            )
        elif isinstance(item, (list, tuple)) and len(item) == 0:
            raise DataFormatError(
                "conversation has no utterances", conversation=f"#{position}", field="utterances"
            )
        elif _is_turn_list(item):
            out.append(_from_turns(item, position))
        else:
            raise DataFormatError(
                f"input #{position} is a {type(item).__name__}; expected a "
                "Conversation, a dict, or a list of (speaker, text) pairs",
                conversation=f"#{position}",
            )
    if semeval:
        parsed = _from_semeval([record for _, record in semeval])
        for (slot, _), conversation in zip(semeval, parsed):
            out[slot] = conversation
    return out, False


def quantize_dynamic_int8(model: Any) -> Any:
    """Dynamic int8 quantisation of the backbone's ``nn.Linear`` layers, in place.

    Why the backbone only: it holds nearly all the FLOPs of a forward, while the small
    fresh heads (and the multimodal projections, which read ``.weight`` directly) stay fp32.
    Weights become int8 once; activations are quantised per batch, so no calibration data
    is needed. ``torch.ao.quantization`` is deprecated in favour of torchao, but it is
    what ships with torch; its deprecation warnings are silenced here.
    """
    with warnings.catch_warnings():  # torch.ao.quantization warns that it is deprecated
        warnings.filterwarnings("ignore", message=r".*(torch\.ao\.quantization|quantize_per)")
        from torch.ao.quantization import quantize_dynamic

        model.backbone = quantize_dynamic(
            model.backbone, {nn.Linear}, dtype=torch.qint8, inplace=True
        )
    return model


# ---------------------------------------------------------------------- the predictor
class Predictor:
    """A saved UniMEEC model ready to predict (eval mode, batched, on ``device``)."""

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        device: str | None = None,
        batch_size: int = 16,
        quantize: str = "none",
    ) -> None:
        if quantize not in QUANTIZE_CHOICES:
            raise ConfigError(
                f"quantize={quantize!r}: expected one of {', '.join(QUANTIZE_CHOICES)}"
            )
        gpu = torch.cuda.is_available() and quantize == "none"  # int8 kernels are CPU-only
        self.device = torch.device(device or ("cuda" if gpu else "cpu"))
        if quantize == "int8" and self.device.type != "cpu":
            raise ConfigError(f"quantize='int8' runs on the CPU only, not on {self.device}")
        self.model = model.eval()
        if quantize == "int8":
            quantize_dynamic_int8(self.model)
        self.quantize = quantize
        self.processor = processor
        self.model.to(self.device)
        self.batch_size = _batch_size(batch_size)
        self._warned: set[str] = set()

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        device: str | None = None,
        batch_size: int = 16,
        quantize: str = "none",
    ) -> Predictor:
        """Load from a model directory or a run directory (its ``model/``).

        ``quantize="int8"``: dynamic int8 quantisation for faster CPU inference.
        """
        model, processor = load_model_and_processor(path)
        return cls(model, processor, device=device, batch_size=batch_size, quantize=quantize)

    @property
    def labels(self) -> list[str]:
        return list(self.model.config.emotion_labels)

    @property
    def modalities(self) -> list[str]:
        """Modalities the checkpoint was trained with (``text`` always first)."""
        return list(self.model.config.modalities)

    def _features(self, features: Mapping[str, Any] | None) -> dict[str, Any] | None:
        given: dict[str, Any] = {}
        for modality, source in (features or {}).items():
            if modality not in self.modalities:
                log.warning(
                    "ignoring %s features: the checkpoint was trained with %s only",
                    modality,
                    ", ".join(self.modalities),
                )
                continue
            lookup = (
                open_features(source, modality=modality)
                if isinstance(source, (str, Path))
                else source
            )
            expected = self.model.config.feature_dims.get(modality)
            if expected is not None and int(lookup.dim) != int(expected):
                raise FeatureError(
                    f"{modality} features have dimension {lookup.dim}; the "
                    f"checkpoint expects {expected}"
                )
            given[modality] = lookup
        for modality in self.modalities:
            if modality != "text" and modality not in given and modality not in self._warned:
                self._warned.add(modality)
                message = (
                    f"the checkpoint was trained with {modality} features but none were "
                    f"given; predicting with {modality} treated as missing"
                )
                warnings.warn(message, UserWarning, stacklevel=3)
                log.warning(message)
        return given or None

    def _in_label_space(self, conversation: Conversation) -> Conversation:
        """Inputs labelled with another label set lose their labels (else predictions would
        fail validation against the input's labels); the rest pass through unchanged."""
        labels = tuple(self.labels)
        if conversation.labels is None or tuple(conversation.labels) == labels:
            return conversation
        utterances = [
            dataclasses.replace(u, emotion=None, emotion_scores=None)
            for u in conversation.utterances
        ]
        return Conversation(
            id=conversation.id,
            utterances=utterances,
            pairs=[],
            dataset=conversation.dataset,
            split=conversation.split,
            has_cause_labels=False,
            labels=labels,
            meta=dict(conversation.meta),
        )

    def prepare(
        self, inputs: Any, features: Mapping[str, Any] | None = None
    ) -> tuple[list[Conversation], bool, dict[str, Any] | None]:
        """The input half of :meth:`predict`, shared with :mod:`unimeec.predict_distributed`:
        parsed conversations in this model's label space, whether the input was a single
        one, and the opened feature lookups."""
        conversations, single = parse_conversations(inputs)
        return [self._in_label_space(c) for c in conversations], single, self._features(features)

    def predict(
        self,
        inputs: Any,
        *,
        features: Mapping[str, Any] | None = None,
        batch_size: int | None = None,
        threshold: float | None = None,
        neutral_bias: float | None = None,
        progress: bool | None = None,
    ) -> Conversation | list[Conversation]:
        """Predict emotions (with probabilities) and cause pairs (with scores).

        ``features``: ``{"audio": FeatureStore | path, ...}`` keyed by conversation id and
        1-based utterance index. ``threshold`` overrides the tuned cause threshold and
        ``neutral_bias`` the model's neutral-logit offset (``model.neutral_bias``).
        Returns a Conversation for a single input, else a list in input order.
        """
        conversations, single, lookups = self.prepare(inputs, features)
        size = self.batch_size if batch_size is None else _batch_size(batch_size)
        batches = length_batches([len(c) for c in conversations], size)
        show = (
            progress if progress is not None else len(conversations) >= PROGRESS_MIN_CONVERSATIONS
        )
        results: list[Conversation | None] = [None] * len(conversations)
        with torch.inference_mode():
            for indices in tqdm(batches, desc="predicting", unit="batch", disable=not show):
                chunk = [conversations[i] for i in indices]
                batch = self.processor(chunk, features=lookups)
                batch = move_batch(batch, self.device)
                out = self.model(**batch)
                for i, prediction in zip(
                    indices,
                    self.model.decode(out, batch, threshold=threshold, neutral_bias=neutral_bias),
                ):
                    results[i] = prediction
        final = [r for r in results if r is not None]
        return final[0] if single else final


def _batch_size(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"batch size must be an integer >= 1, got {value!r}")
    return value


def predict_file(
    checkpoint: str | Path,
    input_path: str | Path,
    output: str | Path | None,
    *,
    output_format: str = "jsonl",
    features: Mapping[str, Any] | None = None,
    batch_size: int = 16,
    threshold: float | None = None,
    input_format: str | None = None,
    quantize: str = "none",
    neutral_bias: float | None = None,
) -> list[Conversation]:
    """Predict every conversation of a JSONL or SemEval JSON file; write ``output`` (or stdout).

    ``output_format``: ``jsonl``; ``semeval`` = ``semeval-subtask2`` (utterance causes); or
    ``semeval-subtask1``, the official span submission (``"<utt>_<start>_<end>"`` positions;
    a model without a span head cites whole cause utterances). ``input_format`` names the
    input's format (``--input-format``); detected when ``None``.
    """
    if output is not None:  # a bad output path fails before the model runs, not after
        prepare_output(output)
    conversations = read_conversations(input_path, format=input_format)
    predictions = Predictor.from_pretrained(
        checkpoint, batch_size=batch_size, quantize=quantize
    ).predict(conversations, features=features, threshold=threshold, neutral_bias=neutral_bias)
    assert isinstance(predictions, list)
    if output is not None:
        write_predictions(predictions, output, output_format)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "predictions"
            write_predictions(predictions, path, output_format)
            sys.stdout.write(path.read_text(encoding="utf-8"))
            sys.stdout.flush()
    return predictions


def write_predictions(
    predictions: Sequence[Conversation], path: str | Path, output_format: str
) -> None:
    """Write ``predictions`` in one of :data:`OUTPUT_FORMATS` (subtask 1 as the official
    ``"<utt>_<start>_<end>"`` positions); shared with :mod:`unimeec.predict_distributed`."""
    fmt = OUTPUT_FORMATS.get(output_format)
    if fmt is None:
        raise DataFormatError(
            f"unknown output format {output_format!r}; use one of {', '.join(OUTPUT_FORMATS)}",
            field="format",
        )
    spans = "positions" if fmt == "semeval-subtask1" else None
    write_conversations(predictions, path, format=fmt, span_format=spans)


# ---------------------------------------------------------------------- batching
def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Input positions cut into batches of similar length, shortest first (padding is paid
    per token). The one batching plan of :class:`Predictor` and of the multi-process engine
    (:mod:`unimeec.predict_distributed`): every conversation meets the same batch-mates, so
    its prediction does not depend on how many processes share the work."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]
