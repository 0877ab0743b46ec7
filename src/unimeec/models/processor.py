"""``UniMEECProcessor``: conversations (+ features) -> one batch dict for ``UniMEECModel``.

All prompt sequences of all modality passes of a batch go into one padded ``input_ids``
tensor, so the model runs the backbone once per batch. Positions are given as index tensors
(no Python work per token on the model side). Keys of the batch (``U`` = utterances of the
batch, ``M`` = configured modalities, text first, ``C`` = conversations, ``P`` = candidates):

``input_ids``, ``attention_mask`` [S, L]
    all sequences of all passes.
``x_positions`` [M, U, 3]
    (row, start, end) of each utterance's ``X`` slot per pass (end exclusive).
``mask_e_positions``, ``mask_c_positions`` [M, U, 2]
    (row, column) of ``[MASK_e]`` / ``[MASK_c]`` per pass.
``modality_mask`` [M, U] bool
    the utterance has the modality (text: always); absent slots hold dummy positions.
``soft_positions`` [T, 2], ``soft_owner`` [T], ``soft_rank`` [T]
    soft-token markers: (row, column), owner ``m * U + u``, rank among the ``k`` tokens.
``features_<modality>`` [U, d_m] float
    raw (unstandardised) features, zeros where missing.
``speaker_ids`` [U]
    conversation-local speaker number (relation types same / other speaker).
``utterance_conversation`` [U], ``utterance_index`` [U] (1-based), ``conversation_utterances``
    [C, N_max] (flat utterance number or -1): the layout of the context graph.
``candidate_pairs`` [P, 3] (conversation, i, j; 1-based), ``candidate_utterances`` [P, 2]
    (flat numbers of ``i`` and ``j``): every ``j`` in ``[i - K_past, i + K_future]``.
``emotion_labels`` [U] (-100 when unlabelled / unknown), present when any utterance has one.
``cause_labels`` [P] float, ``cause_mask`` [P] bool, ``has_cause_labels`` [C] bool
    present when any conversation has cause labels; ``cause_mask`` = conversation has cause
    labels and ``i`` is a gold emotion utterance (non-neutral label, or the emotion side of a
    gold pair when emotions are not annotated).
``span_word_ids`` [U, T] (``span_head`` only)
    for each text sub-word of each utterance (as read from its text-pass ``X`` slot), the
    0-based ``text.split()`` token that holds it; -1 for padding (see :mod:`unimeec.models.spans`).
``span_labels`` [Q, 3] (``span_head`` and cause labels only)
    (candidate row, first sub-word, last sub-word) of every gold span of a candidate pair,
    sub-words counted from the start of the cause utterance's text.
``conversations``
    the input list, for :meth:`UniMEECModel.decode`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoConfig, AutoTokenizer, PreTrainedTokenizerBase

from unimeec.data.modalities import FeatureLookup
from unimeec.data.schema import Conversation
from unimeec.errors import CheckpointError, ConfigError, FeatureError
from unimeec.models.configuration import UniMEECConfig
from unimeec.models.prompt import CausalPromptBuilder, PromptSequence, prepare_tokenizer
from unimeec.models.scopes import prompt_scope
from unimeec.models.spans import subword_bounds, whitespace_token_index

logger = logging.getLogger(__name__)

PROCESSOR_CONFIG_NAME = "processor_config.json"


def backbone_position_limit(config: UniMEECConfig) -> int:
    """Longest input the backbone's position embeddings allow (RoBERTa-style models reserve
    ``padding_idx + 1`` positions)."""
    record = config.backbone_config
    if record is None:
        try:
            record = AutoConfig.from_pretrained(config.backbone).to_dict()
        except OSError:
            return config.max_sequence_length
    limit = record.get("max_position_embeddings")
    if not isinstance(limit, int) or limit <= 0:
        return config.max_sequence_length
    if record.get("model_type") in ("roberta", "xlm-roberta", "camembert", "longformer"):
        limit -= int(record.get("pad_token_id") or 1) + 1
    return limit


class UniMEECProcessor:
    """Owns the tokenizer (with the added special tokens) and builds model batches."""

    def __init__(self, config: UniMEECConfig, tokenizer: PreTrainedTokenizerBase) -> None:
        self.config = config
        self.tokenizer = tokenizer
        if config.span_head and not tokenizer.is_fast:
            raise ConfigError(
                f"UniMEECConfig.span_head needs a fast tokenizer (its character "
                f"offsets align sub-words to words); {type(tokenizer).__name__} "
                "is not one"
            )
        prepare_tokenizer(tokenizer, config)
        self.max_length = min(config.max_sequence_length, backbone_position_limit(config))
        self.builder = CausalPromptBuilder(tokenizer, config, self.max_length)
        self.scope = prompt_scope(config.scope)
        self.label_index = {label: k for k, label in enumerate(config.emotion_labels)}
        self._warned_labels: set[str] = set()

    # ------------------------------------------------------------------ construction / io
    @classmethod
    def from_config(cls, config: UniMEECConfig) -> UniMEECProcessor:
        """Load the backbone's tokenizer named by ``config.backbone``."""
        return cls(config, AutoTokenizer.from_pretrained(config.backbone))

    def save_pretrained(self, directory: str | Path) -> None:
        """Write the tokenizer and ``processor_config.json`` (never touches ``config.json``)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(directory)
        (directory / PROCESSOR_CONFIG_NAME).write_text(self.config.to_json_string())

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> UniMEECProcessor:
        """Load from a directory written by ``save_pretrained`` (or a model checkpoint)."""
        directory = Path(directory)
        path = directory / PROCESSOR_CONFIG_NAME
        if not path.is_file():
            path = directory / "config.json"
        if not path.is_file():
            raise CheckpointError(f"{directory}: no {PROCESSOR_CONFIG_NAME} or config.json")
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise CheckpointError(f"{path}: not valid JSON ({err})") from None
        record.pop("model_type", None)
        config = UniMEECConfig(**record)
        tok_dir = directory if (directory / "tokenizer_config.json").is_file() else config.backbone
        return cls(config, AutoTokenizer.from_pretrained(tok_dir))

    # ------------------------------------------------------------------ batch building
    def __call__(
        self,
        conversations: Sequence[Conversation],
        features: Mapping[str, FeatureLookup] | None = None,
    ) -> dict[str, Any]:
        """The batch of ``conversations`` (keys in the module docstring), built in steps."""
        conversations = list(conversations)
        if not conversations:
            raise ValueError("cannot build a batch of zero conversations")
        features = self._check_feature_modalities(features)
        offsets = np.cumsum([0] + [len(c) for c in conversations])
        texts, encoded = self._tokenise(conversations)
        present, feature_arrays = self._features(conversations, offsets, features)
        sequences, rows_of = self._sequences(conversations, offsets, encoded["input_ids"], present)
        batch = self._pad(sequences)
        slots = self._slot_positions(sequences, rows_of, offsets, present)
        batch.update(slots)
        for name, array in feature_arrays.items():
            batch[f"features_{name}"] = torch.from_numpy(array)
        batch.update(self._graph(conversations, offsets))
        batch.update(self._labels(conversations, batch["candidate_pairs"]))
        if self.config.span_head:
            words = self._span_words(texts, encoded["offset_mapping"], slots["x_positions"])
            batch.update(self._span_inputs(conversations, offsets, words, batch["candidate_pairs"]))
        batch["conversations"] = conversations
        return batch

    def _check_feature_modalities(
        self, features: Mapping[str, FeatureLookup] | None
    ) -> dict[str, FeatureLookup]:
        """Features may be given only for the model's non-text modalities."""
        modalities = self.config.ordered_modalities
        features = dict(features or {})
        for name in features:
            if name not in modalities or name == "text":
                raise FeatureError(
                    f"features given for modality {name!r}, but the model's "
                    f"modalities are {modalities}"
                )
        return features

    def _tokenise(self, conversations: list[Conversation]) -> tuple[list[str], Any]:
        """Every utterance's text in one tokenizer call (a leading space: a word start)."""
        texts = [" " + u.text for c in conversations for u in c.utterances]
        encoded = self.tokenizer(
            texts, add_special_tokens=False, return_offsets_mapping=self.config.span_head
        )
        return texts, encoded

    def _features(
        self,
        conversations: list[Conversation],
        offsets: np.ndarray,
        features: Mapping[str, FeatureLookup],
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``present`` [M, U] (text: always) and each non-text modality's [U, d] array."""
        modalities = self.config.ordered_modalities
        n_utt = int(offsets[-1])
        present = np.zeros((len(modalities), n_utt), dtype=bool)
        present[0] = True
        arrays: dict[str, np.ndarray] = {}
        for m_idx, name in enumerate(modalities[1:], start=1):
            dim = self.config.feature_dims[name]
            array = np.zeros((n_utt, dim), dtype=np.float32)
            lookup = features.get(name)
            if lookup is not None:
                if int(lookup.dim) != dim:
                    raise FeatureError(
                        f"{name} features have dimension {lookup.dim}, the model "
                        f"expects {dim} (config.feature_dims)"
                    )
                for c_pos, conv in enumerate(conversations):
                    for utt in conv.utterances:
                        value = lookup.get(conv.id, utt.index)
                        if value is None:
                            continue
                        vec = np.asarray(value, dtype=np.float32).reshape(-1)
                        if vec.shape[0] != dim or not np.isfinite(vec).all():
                            raise FeatureError(
                                f"conversation {conv.id}, utterance {utt.index}: {name} feature "
                                f"must be {dim} finite values, got shape {np.shape(value)}"
                            )
                        u = int(offsets[c_pos]) + utt.index - 1
                        array[u] = vec
                        present[m_idx, u] = True
            arrays[name] = array
        return present, arrays

    def _sequences(
        self,
        conversations: list[Conversation],
        offsets: np.ndarray,
        token_ids: list[list[int]],
        present: np.ndarray,
    ) -> tuple[list[PromptSequence], list[tuple[int, int]]]:
        """The prompt sequences of every pass, and the (conversation, pass) of each."""
        sequences: list[PromptSequence] = []
        rows_of: list[tuple[int, int]] = []
        for c_pos, conv in enumerate(conversations):
            start, end = int(offsets[c_pos]), int(offsets[c_pos + 1])
            passes = self.scope.sequences(
                self.builder,
                [u.speaker for u in conv.utterances],
                token_ids[start:end],
                present[:, start:end],
            )
            for m_idx, new in enumerate(passes):
                sequences += new
                rows_of += [(c_pos, m_idx)] * len(new)
        return sequences, rows_of

    def _pad(self, sequences: list[PromptSequence]) -> dict[str, torch.Tensor]:
        """``input_ids`` and ``attention_mask``, padded to a multiple of ``pad_to_multiple_of``."""
        lengths = [len(s.input_ids) for s in sequences]
        width = max(lengths)
        multiple = self.config.pad_to_multiple_of
        if multiple:
            width = -(-width // multiple) * multiple
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        input_ids = np.full((len(sequences), width), pad, dtype=np.int64)
        attention = np.zeros((len(sequences), width), dtype=np.int64)
        for row, seq in enumerate(sequences):
            input_ids[row, : lengths[row]] = seq.input_ids
            attention[row, : lengths[row]] = 1
        return {
            "input_ids": torch.from_numpy(input_ids),
            "attention_mask": torch.from_numpy(attention),
        }

    @staticmethod
    def _slot_positions(
        sequences: list[PromptSequence],
        rows_of: list[tuple[int, int]],
        offsets: np.ndarray,
        present: np.ndarray,
    ) -> dict[str, torch.Tensor]:
        """Where each utterance's ``X`` slot, masks and soft tokens lie, per pass.

        Utterances absent from a pass (``modality_mask`` false) keep the dummy slot (row 0,
        columns 0..1).
        """
        n_mod, n_utt = present.shape
        x_pos = np.zeros((n_mod, n_utt, 3), dtype=np.int64)
        x_pos[..., 2] = 1
        e_pos = np.zeros((n_mod, n_utt, 2), dtype=np.int64)
        c_pos = np.zeros((n_mod, n_utt, 2), dtype=np.int64)
        soft_rows: list[tuple[int, int, int, int]] = []
        for row, (seq, (conv, m_idx)) in enumerate(zip(sequences, rows_of)):
            base = int(offsets[conv]) - 1
            if seq.targets:
                t = np.array(
                    [(s.utterance, s.x_start, s.x_end, s.mask_e, s.mask_c) for s in seq.targets],
                    dtype=np.int64,
                )
                u = base + t[:, 0]
                rows = np.full(len(t), row)
                x_pos[m_idx, u] = np.stack([rows, t[:, 1], t[:, 2]], axis=1)
                e_pos[m_idx, u] = np.stack([rows, t[:, 3]], axis=1)
                c_pos[m_idx, u] = np.stack([rows, t[:, 4]], axis=1)
            soft_rows += [
                (row, col, m_idx * n_utt + base + utt, rank) for col, utt, rank in seq.soft
            ]
        soft = np.array(soft_rows, dtype=np.int64).reshape(-1, 4)
        return {
            "x_positions": torch.from_numpy(x_pos),
            "mask_e_positions": torch.from_numpy(e_pos),
            "mask_c_positions": torch.from_numpy(c_pos),
            "modality_mask": torch.from_numpy(present),
            "soft_positions": torch.from_numpy(soft[:, :2].copy()),
            "soft_owner": torch.from_numpy(soft[:, 2].copy()),
            "soft_rank": torch.from_numpy(soft[:, 3].copy()),
        }

    @staticmethod
    def _span_words(
        texts: list[str], offset_mapping: list[list[tuple[int, int]]], x_positions: torch.Tensor
    ) -> list[list[int]]:
        """Each utterance's word index per sub-word, as many as its text-pass ``X`` slot keeps."""
        return [
            whitespace_token_index(text, spans)[: int(end - start)]
            for text, spans, (_, start, end) in zip(texts, offset_mapping, x_positions[0].numpy())
        ]

    @staticmethod
    def _span_inputs(
        conversations: list[Conversation],
        offsets: np.ndarray,
        words: list[list[int]],
        candidates: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """``span_word_ids`` and, with cause labels, ``span_labels`` (module docstring).

        ``words`` holds each utterance's word index per sub-word as the text pass keeps it (a
        shortened ``X`` slot keeps fewer); a gold span outside the kept sub-words, or of a pair
        outside the candidate window, has no label.
        """
        width = max(1, max(len(w) for w in words))
        word_ids = np.full((len(words), width), -1, dtype=np.int64)
        for u, ids in enumerate(words):
            word_ids[u, : len(ids)] = ids
        out = {"span_word_ids": torch.from_numpy(word_ids)}
        if not any(c.has_cause_labels for c in conversations):
            return out
        row_of = {tuple(r): k for k, r in enumerate(candidates.tolist())}
        labels: list[tuple[int, int, int]] = []
        for c_pos, conv in enumerate(conversations):
            if not conv.has_cause_labels:
                continue
            for pair in conv.pairs:
                span = pair.span
                row = row_of.get((c_pos, pair.emotion_utterance, pair.cause_utterance))
                if span is None or span.start is None or span.end is None or row is None:
                    continue
                bounds = subword_bounds(
                    words[int(offsets[c_pos]) + pair.cause_utterance - 1], span.start, span.end
                )
                if bounds is not None:
                    labels.append((row, *bounds))
        out["span_labels"] = torch.tensor(labels, dtype=torch.long).reshape(-1, 3)
        return out

    def _graph(self, conversations: list[Conversation], offsets: np.ndarray) -> dict[str, Any]:
        """Speakers, the padded conversation layout and the cause candidates."""
        cfg = self.config
        n_max = max(len(c) for c in conversations)
        layout = np.full((len(conversations), n_max), -1, dtype=np.int64)
        speakers: list[int] = []
        conv_of: list[int] = []
        index: list[int] = []
        pairs: list[np.ndarray] = []
        for c_pos, conv in enumerate(conversations):
            n = len(conv)
            layout[c_pos, :n] = np.arange(offsets[c_pos], offsets[c_pos] + n)
            names: dict[str, int] = {}
            speakers += [names.setdefault(u.speaker, len(names)) for u in conv.utterances]
            conv_of += [c_pos] * n
            index += range(1, n + 1)
            i = np.arange(1, n + 1)[:, None]
            j = i + np.arange(-cfg.cause_past, cfg.cause_future + 1)[None, :]
            ii, jj = np.broadcast_arrays(i, j)
            keep = (jj >= 1) & (jj <= n)
            pairs.append(np.stack([np.full(keep.sum(), c_pos), ii[keep], jj[keep]], axis=1))
        cand = np.concatenate(pairs).astype(np.int64)
        flat = offsets[cand[:, 0]][:, None] + cand[:, 1:] - 1
        return {
            "speaker_ids": torch.tensor(speakers, dtype=torch.long),
            "utterance_conversation": torch.tensor(conv_of, dtype=torch.long),
            "utterance_index": torch.tensor(index, dtype=torch.long),
            "conversation_utterances": torch.from_numpy(layout),
            "candidate_pairs": torch.from_numpy(cand),
            "candidate_utterances": torch.from_numpy(flat.astype(np.int64)),
        }

    def _labels(
        self, conversations: list[Conversation], candidates: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """``emotion_labels`` and the cause labels, each only when some conversation has them."""
        out: dict[str, torch.Tensor] = {}
        labels = self._emotion_labels(conversations)
        if any(k != -100 for k in labels):
            out["emotion_labels"] = torch.tensor(labels, dtype=torch.long)
        if any(c.has_cause_labels for c in conversations):
            out.update(self._cause_labels(conversations, candidates))
        return out

    def _emotion_labels(self, conversations: list[Conversation]) -> list[int]:
        """Each utterance's class, -100 (ignored by the loss) when unlabelled or unknown."""
        labels = []
        for conv in conversations:
            for utt in conv.utterances:
                k = self.label_index.get(utt.emotion, -100) if utt.emotion is not None else -100
                if utt.emotion is not None and k == -100 and utt.emotion not in self._warned_labels:
                    self._warned_labels.add(utt.emotion)
                    logger.warning(
                        "emotion %r (conversation %s) is not one of the model's labels "
                        "%s; it is ignored by the loss",
                        utt.emotion,
                        conv.id,
                        self.config.emotion_labels,
                    )
                labels.append(k)
        return labels

    @staticmethod
    def _cause_labels(
        conversations: list[Conversation], candidates: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """``cause_labels``, ``cause_mask`` and ``has_cause_labels`` (module docstring)."""
        gold_pairs: set[tuple[int, int, int]] = set()
        emotion_utts: set[tuple[int, int]] = set()
        for c_pos, conv in enumerate(conversations):
            if not conv.has_cause_labels:
                continue
            gold_pairs |= {(c_pos, p.emotion_utterance, p.cause_utterance) for p in conv.pairs}
            if conv.has_emotion_labels:
                emotion_utts |= {(c_pos, i) for i in conv.emotion_utterances}
            else:
                emotion_utts |= {(c_pos, p.emotion_utterance) for p in conv.pairs}
        cand = candidates.numpy()
        target = np.array(
            [(int(a), int(b), int(c)) in gold_pairs for a, b, c in cand], dtype=np.float32
        )
        mask = np.array([(int(a), int(b)) in emotion_utts for a, b, _ in cand], dtype=bool)
        return {
            "cause_labels": torch.from_numpy(target),
            "cause_mask": torch.from_numpy(mask),
            "has_cause_labels": torch.tensor(
                [c.has_cause_labels for c in conversations], dtype=torch.bool
            ),
        }

    # ------------------------------------------------------------------ helpers
    def sequence_length(self, conversation: Conversation) -> int:
        """Approximate text-pass token count of a conversation (for length-bucketed batching)."""
        ids = self.tokenizer(
            [" " + u.text for u in conversation.utterances], add_special_tokens=False
        )["input_ids"]
        n_text = sum(len(t) for t in ids)
        return self.scope.approximate_length(
            n_text, len(conversation), self.config.prompt_past, self.config.prompt_future
        )

    def check_labels(self, conversations: Sequence[Conversation]) -> None:
        """Raise when a conversation uses emotion labels the model does not know."""
        for conv in conversations:
            for utt in conv.utterances:
                if utt.emotion is not None and utt.emotion not in self.label_index:
                    raise ConfigError(
                        f"conversation {conv.id}, utterance {utt.index}: emotion "
                        f"{utt.emotion!r} is not one of the model's labels "
                        f"{self.config.emotion_labels}"
                    )
