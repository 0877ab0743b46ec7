"""``UniMEECModel``: causal prompt -> multimodal fusion -> THC -> emotion and cause heads.

A cheat-sheet of one forward pass (shapes: ``U`` utterances, ``M`` modalities, ``P`` cause
candidates of the batch; see :mod:`unimeec.models.processor` for the batch keys):

1. All prompt sequences of all modality passes run through the shared backbone as **one**
   batched forward; audio/visual soft-token markers are replaced in the input embeddings by
   ``ModalitySoftPrompt`` vectors first.
2. Per pass and utterance: ``X`` state = mean over the slot tokens, ``[MASK_e]`` and
   ``[MASK_c]`` states -> ``[M, U, H]`` each; ``ModalityFusion`` -> ``x_i, e_i, c_i``.
3. ``HierarchicalContext`` (THC) -> ``x'_i, c'_i, e'_i`` (identity when ``use_thc`` is off).
4. ``EmotionHead(e'_i)`` (or ``e'_i + x'_i`` with ``emotion_readout="mask+slot"``) ->
   ``[U, n_labels]``; ``CauseHead(c'_i, x'_j, i - j)`` -> ``[P]``. Options: ``cause_layers``
   gives the cause side token layers of its own (``c`` and the scorer's ``x_j`` read from
   them, :mod:`unimeec.models.cause_branch`); ``cause_reads_emotion`` adds the emotion
   head's input of ``i`` to the scorer's features.
5. Loss ``CE + lambda * BCE``: CE over labelled utterances only, BCE over candidates of gold
   emotion utterances of conversations with cause labels only; ``tasks`` switches either off.
6. With ``span_head`` (SemEval-2024 subtask 1): ``SpanHead(h_t of u_j, [c'_i; e'_i])`` ->
   start/end logits over the text tokens of each candidate's cause utterance ``u_j``, read
   from its text-pass ``X`` slot (conversation scope: the conversation's sequence; utterance
   scope: ``u_j``'s own prompt, where it is the quoted target, so every candidate ``j`` has
   its tokens, not only those inside ``i``'s context window). Loss ``+ mu * CE(start, end)``
   over the gold spans of candidate pairs; decoding picks the best ``start <= end`` span.

The backbone is any Hugging Face encoder (``config.backbone``); its weights are part of our
checkpoint, so ``from_pretrained(dir)`` rebuilds it from ``config.backbone_config`` without
the hub. Weight initialisation happens in ``_init_weights`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoTokenizer,
    PreTrainedModel,
)
from transformers import initialization as init
from transformers.utils import ModelOutput

from unimeec.data.labels import is_neutral
from unimeec.data.schema import CauseSpan, Conversation, EmotionCausePair
from unimeec.errors import ConfigError, FeatureError
from unimeec.models.cause_branch import CauseBranch
from unimeec.models.configuration import UniMEECConfig
from unimeec.models.context import HierarchicalContext
from unimeec.models.heads import CauseHead, EmotionHead, MaskedLMEmotionHead, SpanHead
from unimeec.models.multimodal import ModalityFusion, ModalitySoftPrompt
from unimeec.models.prompt import prepare_tokenizer
from unimeec.models.spans import SPAN_DECODINGS, best_spans, trimmed_range

#: Attribute name of the learned task-loss log-variances (``loss_balancing="uncertainty"``);
#: the optimiser gives parameters of this name their own group.
LOSS_WEIGHTS_PARAMETER = "loss_log_variances"


def _rows(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``table[index]`` for a 2-D table and any index shape, via ``index_select``."""
    return table.index_select(0, index.reshape(-1)).view(*index.shape, table.shape[-1])


def _slot_means(hidden: torch.Tensor, x_positions: torch.Tensor) -> torch.Tensor:
    """[M, U, H]: the mean hidden state over each X slot (prefix sums; float accumulation)."""
    _, length, size = hidden.shape
    prefix = F.pad(hidden.float().cumsum(1), (0, 0, 1, 0)).reshape(-1, size)
    rows, start, end = x_positions.unbind(-1)
    base = rows * (length + 1)
    bounds = _rows(prefix, torch.stack([base + start, base + end]))  # [2, M, U, H]
    return ((bounds[1] - bounds[0]) / (end - start).clamp_min(1)[..., None]).to(hidden.dtype)


@dataclass
class UniMEECOutput(ModelOutput):
    """What ``UniMEECModel.forward`` returns.

    ``loss`` (when labels were given) = ``emotion_loss + cause_loss_weight * cause_loss``
    (with ``loss_balancing="uncertainty"``, each term ``L_t`` is ``exp(-s_t) L_t + s_t / 2``);
    ``loss_terms`` [T]: the per-task terms whose sum is ``loss`` (emotion, then cause with
    the span term), which training may combine by gradient projection instead of summing;
    ``candidate_pairs`` [P, 3] = (conversation position in batch, emotion utterance, cause
    utterance), 1-based utterance indices, aligned with ``cause_logits`` [P];
    ``predictions`` holds decoded conversations when ``return_predictions=True``.
    Span head only: ``span_start_logits`` / ``span_end_logits`` [R, T] over the sub-words of
    each row's cause utterance (``span_words`` [R, T]: their whitespace tokens, -1 = padding);
    rows are all candidates (``span_rows`` None) or, in training, those of ``span_labels``.
    """

    loss: torch.Tensor | None = None
    loss_terms: torch.Tensor | None = None
    emotion_loss: torch.Tensor | None = None
    cause_loss: torch.Tensor | None = None
    emotion_logits: torch.Tensor | None = None
    cause_logits: torch.Tensor | None = None
    candidate_pairs: torch.Tensor | None = None
    predictions: list[Conversation] | None = None
    span_loss: torch.Tensor | None = None
    span_start_logits: torch.Tensor | None = None
    span_end_logits: torch.Tensor | None = None
    span_words: torch.Tensor | None = None
    span_rows: torch.Tensor | None = None


class UniMEECModel(PreTrainedModel):
    """The UniMEEC model (METHOD.md sections 2-5); build with ``UniMEECModel(config)``."""

    config_class = UniMEECConfig
    base_model_prefix = "unimeec"
    main_input_name = "input_ids"
    _supports_sdpa = True

    def __init__(self, config: UniMEECConfig) -> None:
        super().__init__(config)
        self.backbone = self._build_backbone(config)
        hidden = self.backbone.config.hidden_size
        embedding = self.backbone.get_input_embeddings().embedding_dim
        modalities = config.ordered_modalities
        self.soft_prompts = nn.ModuleDict(
            {
                m: ModalitySoftPrompt(config.feature_dims[m], hidden, config.n_soft_tokens)
                for m in modalities[1:]
            }
        )
        self.fuse_x = ModalityFusion(len(modalities), hidden)
        self.fuse_e = ModalityFusion(len(modalities), hidden)
        self.fuse_c = ModalityFusion(len(modalities), hidden)
        self.dropout = nn.Dropout(config.dropout)
        self.context = (
            HierarchicalContext(
                hidden,
                config.thc_heads,
                config.thc_layers,
                config.dropout,
                utterance_window=config.thc_utterance_window,
                cause_past=config.thc_cause_past,
                cause_future=config.thc_cause_future,
                cause_window=config.thc_cause_window,
                emotion_window=config.thc_emotion_window,
                feed_forward=config.thc_feed_forward,
            )
            if config.use_thc
            else None
        )
        if config.use_mlm_head:
            self.emotion_head = None
            self.mlm_emotion_head = MaskedLMEmotionHead(self._lm_head(), config.label_word_ids)
        else:
            self.emotion_head = EmotionHead(hidden, embedding, len(config.emotion_labels))
            self.mlm_emotion_head = None
        self.cause_head = CauseHead(
            hidden,
            config.cause_hidden_size or hidden,
            config.effective_distance_clip,
            config.distance_embedding_size,
            config.dropout,
            reads_emotion=config.cause_reads_emotion,
        )
        self.span_head = (
            SpanHead(hidden, config.span_hidden_size or hidden, config.dropout)
            if config.span_head
            else None
        )
        # [s_emotion, s_cause]: learned log-variances of the two task losses (training only)
        self.loss_log_variances = (
            nn.Parameter(torch.zeros(2))
            if config.loss_balancing == "uncertainty" and config.tasks == "joint"
            else None
        )
        self.cause_branch = (
            CauseBranch(
                hidden,
                getattr(self.backbone.config, "num_attention_heads", config.thc_heads),
                config.cause_layers,
                config.dropout,
            )
            if config.cause_layers and config.tasks != "emotion"
            else None
        )
        self.post_init()

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _build_backbone(config: UniMEECConfig) -> PreTrainedModel:
        """Load the pretrained backbone (first build) or rebuild it from our checkpoint config."""
        auto = AutoModelForMaskedLM if config.use_mlm_head else AutoModel
        if config.backbone_config is None:
            tokenizer = AutoTokenizer.from_pretrained(config.backbone)
            prepare_tokenizer(tokenizer, config)
            backbone = auto.from_pretrained(config.backbone)
            if backbone.get_input_embeddings().num_embeddings < len(tokenizer):
                backbone.resize_token_embeddings(len(tokenizer))
            config.label_word_ids = [
                list(
                    tokenizer(" " + config.label_word(label), add_special_tokens=False)["input_ids"]
                )
                for label in config.emotion_labels
            ]
            if any(not ids for ids in config.label_word_ids):
                raise ConfigError(
                    f"a label word of {config.emotion_labels} has no tokens; set config.label_words"
                )
            config.backbone_config = backbone.config.to_dict()
        else:
            record = dict(config.backbone_config)
            backbone = auto.from_config(AutoConfig.for_model(record.pop("model_type"), **record))
        if getattr(backbone, "pooler", None) is not None:
            backbone.pooler = None  # unused; would leave parameters without gradients (DDP)
        return backbone

    def _lm_head(self) -> nn.Module:
        """The backbone's masked-LM head (the one child beside its base model)."""
        prefix = self.backbone.base_model_prefix
        heads = [m for name, m in self.backbone.named_children() if name != prefix]
        if len(heads) != 1:
            raise ConfigError(
                f"use_mlm_head: cannot find a single masked-LM head in "
                f"{type(self.backbone).__name__}"
            )
        return heads[0]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """The one place where our weights are initialised (the backbone keeps its own)."""
        std = self.config.initializer_range
        head = self.emotion_head
        if head is not None and module is head.classifier and self.config.label_word_init:
            # the verbalizer: rows = label-word embeddings (keyed on the Linear itself, since
            # transformers skips modules without direct parameters in custom models)
            init.copy_(module.weight, self.label_word_embeddings())
            init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            if getattr(module, "zero_init", False):  # the cause branch's output projections
                init.zeros_(module.weight)
            else:
                init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, ModalitySoftPrompt):
            init.normal_(module.prompt, mean=0.0, std=std)
            init.normal_(module.missing, mean=0.0, std=std)
            init.zeros_(module.feature_mean)
            init.ones_(module.feature_std)
        elif isinstance(module, ModalityFusion) and module.n_modalities > 1:
            init.normal_(module.missing, mean=0.0, std=std)

    def label_word_embeddings(self) -> torch.Tensor:
        """[n_labels, E]: each label word's input embedding (mean over its sub-tokens)."""
        table = self.backbone.get_input_embeddings().weight
        return torch.stack(
            [
                table[torch.tensor(ids, device=table.device)].mean(0)
                for ids in self.config.label_word_ids
            ]
        )

    def set_feature_statistics(self, modality: str, mean: Any, std: Any) -> None:
        """Store training-split standardisation statistics of ``modality`` in the model."""
        if modality not in self.soft_prompts:
            raise FeatureError(
                f"the model has no {modality!r} modality (modalities: "
                f"{self.config.ordered_modalities})"
            )
        mean_t = torch.as_tensor(np.asarray(mean), dtype=torch.float32).reshape(-1)
        std_t = torch.as_tensor(np.asarray(std), dtype=torch.float32).reshape(-1)
        dim = self.config.feature_dims[modality]
        if mean_t.numel() != dim or std_t.numel() != dim:
            raise FeatureError(
                f"{modality} statistics must have {dim} values, got "
                f"{mean_t.numel()} and {std_t.numel()}"
            )
        if not (torch.isfinite(mean_t).all() and torch.isfinite(std_t).all()):
            raise FeatureError(f"{modality} statistics contain non-finite values")
        self.soft_prompts[modality].set_statistics(mean_t, std_t)

    def compile_context(self, **options: Any) -> None:
        """Compile THC and the heads in place with ``torch.compile`` (opt-in).

        Why: after the backbone, a step runs a few hundred small kernels over a few hundred
        nodes, so on a GPU it is bound by kernel launches; compiling fuses them. In place
        (``nn.Module.compile``), so parameter names, ``state_dict`` and ``save_pretrained``
        are unchanged. Shapes vary with every batch, hence ``dynamic=True`` by default.
        The backbone is left alone: its own kernels are already large.
        """
        options.setdefault("dynamic", True)
        for module in (self.context, self.emotion_head, self.cause_head, self.span_head):
            if module is not None:
                module.compile(**options)

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        x_positions: torch.Tensor,
        mask_e_positions: torch.Tensor,
        mask_c_positions: torch.Tensor,
        modality_mask: torch.Tensor,
        speaker_ids: torch.Tensor,
        utterance_conversation: torch.Tensor,
        utterance_index: torch.Tensor,
        conversation_utterances: torch.Tensor,
        candidate_pairs: torch.Tensor,
        candidate_utterances: torch.Tensor,
        soft_positions: torch.Tensor | None = None,
        soft_owner: torch.Tensor | None = None,
        soft_rank: torch.Tensor | None = None,
        emotion_labels: torch.Tensor | None = None,
        cause_labels: torch.Tensor | None = None,
        cause_mask: torch.Tensor | None = None,
        has_cause_labels: torch.Tensor | None = None,
        span_word_ids: torch.Tensor | None = None,
        span_labels: torch.Tensor | None = None,
        conversations: list[Conversation] | None = None,
        return_predictions: bool = False,
        **features: torch.Tensor,
    ) -> UniMEECOutput:
        """Run a processor batch (``model(**batch)``); see the module docstring for the steps.

        ``features_<modality>`` tensors arrive through ``**features``; ``conversations`` is
        only read when ``return_predictions`` asks for decoded predictions.
        """
        unknown = [k for k in features if not k.startswith("features_")]
        if unknown:
            raise TypeError(f"unexpected batch keys {unknown}")
        embeds = self.backbone.get_input_embeddings()(input_ids)
        if soft_positions is not None and soft_positions.shape[0] > 0:
            embeds = self._insert_soft_tokens(
                embeds, modality_mask, soft_positions, soft_owner, soft_rank, features
            )
        hidden = self.backbone.base_model(
            inputs_embeds=embeds, attention_mask=attention_mask
        ).last_hidden_state
        # the cause side's token states: its own layers on top (cause_layers), else shared
        cause_hidden = (
            self.cause_branch(hidden, attention_mask) if self.cause_branch is not None else hidden
        )
        states, cause_x = self._slot_states(
            hidden, cause_hidden, x_positions, mask_e_positions, mask_c_positions, modality_mask
        )  # [3, U, H]: x, e, c (c from the cause side); cause_x: x of the cause side or None
        if self.context is not None:
            states = self._thc(
                states,
                speaker_ids,
                utterance_conversation,
                utterance_index,
                conversation_utterances,
            )
        x, e, c = states.unbind(0)
        cause_query = torch.cat([c, e], dim=-1)  # [c'_i; e'_i], before any readout change
        if self.config.emotion_readout == "mask+slot":
            e = e + x
        if self.mlm_emotion_head is not None:
            emotion_logits = self.mlm_emotion_head(e)
        else:
            emotion_logits = self.emotion_head(e)
        i_flat, j_flat = candidate_utterances.unbind(-1)
        cause_logits = self.cause_head(
            c.index_select(0, i_flat),
            (x if cause_x is None else cause_x).index_select(0, j_flat),
            candidate_pairs[:, 1] - candidate_pairs[:, 2],
            e.index_select(0, i_flat) if self.config.cause_reads_emotion else None,
        )
        out = UniMEECOutput(
            emotion_logits=emotion_logits,
            cause_logits=cause_logits,
            candidate_pairs=candidate_pairs,
        )
        self._losses(out, emotion_labels, cause_labels, cause_mask)
        if self.span_head is not None:
            self._span_logits(
                out,
                cause_hidden,
                x_positions[0],
                span_word_ids,
                candidate_utterances,
                cause_query,
                span_labels,
            )
            self._span_loss(out, span_labels)
        if return_predictions:
            if conversations is None:
                raise ValueError("return_predictions needs the batch's 'conversations'")
            out.predictions = self.decode(out, {"conversations": conversations})
        return out

    def _insert_soft_tokens(
        self,
        embeds: torch.Tensor,
        modality_mask: torch.Tensor,
        soft_positions: torch.Tensor,
        soft_owner: torch.Tensor,
        soft_rank: torch.Tensor,
        features: dict[str, torch.Tensor],
    ) -> torch.Tensor:
        """Write every audio/visual soft token into the input embeddings (one index_put)."""
        n_utt = modality_mask.shape[1]
        k = self.config.n_soft_tokens
        blocks = [embeds.new_zeros(n_utt, k, embeds.shape[-1])]
        for m_idx, name in enumerate(self.config.ordered_modalities[1:], start=1):
            blocks.append(
                self.soft_prompts[name](features[f"features_{name}"], modality_mask[m_idx]).to(
                    embeds.dtype
                )
            )
        table = torch.cat(blocks)  # [M * U, k, H]
        values = table[soft_owner, soft_rank]
        return embeds.index_put((soft_positions[:, 0], soft_positions[:, 1]), values)

    def _slot_states(
        self,
        hidden: torch.Tensor,
        cause_hidden: torch.Tensor,
        x_positions: torch.Tensor,
        mask_e_positions: torch.Tensor,
        mask_c_positions: torch.Tensor,
        modality_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Fused [3, U, H] states x, e, c from the X slots (mean) and masks, and ``cause_x``.

        ``c`` is read from ``cause_hidden`` (the cause side's token states); when those are
        not the shared ones (``cause_layers``), ``cause_x`` [U, H] is the cause side's own X
        slot mean, else None. Rows are taken with ``index_select`` on flattened tensors: its
        backward is one ``index_add``, where advanced indexing would sort the indices first.
        """
        n_seq, length, size = hidden.shape
        at = [
            _rows(states.reshape(n_seq * length, size), where[..., 0] * length + where[..., 1])
            for states, where in ((hidden, mask_e_positions), (cause_hidden, mask_c_positions))
        ]
        fused = torch.stack(
            [
                self.fuse_x(_slot_means(hidden, x_positions), modality_mask),
                self.fuse_e(at[0], modality_mask),
                self.fuse_c(at[1], modality_mask),
            ]
        )
        cause_x = (
            self.dropout(self.fuse_x(_slot_means(cause_hidden, x_positions), modality_mask))
            if cause_hidden is not hidden
            else None
        )
        return self.dropout(fused), cause_x

    def _thc(
        self,
        states: torch.Tensor,
        speaker_ids: torch.Tensor,
        utterance_conversation: torch.Tensor,
        utterance_index: torch.Tensor,
        conversation_utterances: torch.Tensor,
    ) -> torch.Tensor:
        """Run THC on the padded [C, N] layout and take the flat utterances back."""
        n_conv, n_max = conversation_utterances.shape
        valid = conversation_utterances >= 0
        index = conversation_utterances.clamp_min(0).reshape(-1)
        padded = states.index_select(1, index).view(3, n_conv, n_max, -1)
        speakers = speaker_ids.index_select(0, index).view(n_conv, n_max)
        x, c, e = self.context(padded[0], padded[2], padded[1], valid, speakers)
        back = utterance_conversation * n_max + utterance_index - 1
        return torch.stack([x, e, c]).view(3, n_conv * n_max, -1).index_select(1, back)

    def _losses(
        self,
        out: UniMEECOutput,
        emotion_labels: torch.Tensor | None,
        cause_labels: torch.Tensor | None,
        cause_mask: torch.Tensor | None,
    ) -> None:
        """Masked joint loss; no host-device synchronisation (all-masked -> 0 with a graph)."""
        cfg = self.config
        parts: list[torch.Tensor] = []
        if emotion_labels is not None and cfg.tasks != "cause":
            logits = out.emotion_logits.float()
            valid = emotion_labels != -100
            safe = emotion_labels.clamp_min(0)
            nll = F.cross_entropy(
                logits, safe, reduction="none", label_smoothing=cfg.emotion_label_smoothing
            )
            weight = valid.float()
            if cfg.emotion_class_weights is not None:
                table = torch.tensor(cfg.emotion_class_weights, device=logits.device)
                weight = weight * table[safe]
            out.emotion_loss = (nll * weight).sum() / weight.sum().clamp_min(1e-8)
            parts.append(out.emotion_loss)
        if cause_labels is not None and cause_mask is not None and cfg.tasks != "emotion":
            logits = out.cause_logits.float()
            pos_weight = (
                torch.tensor(cfg.cause_pos_weight, device=logits.device)
                if cfg.cause_pos_weight is not None
                else None
            )
            bce = F.binary_cross_entropy_with_logits(
                logits, cause_labels.to(logits.dtype), pos_weight=pos_weight, reduction="none"
            )
            mask = cause_mask.to(logits.dtype)
            out.cause_loss = (bce * mask).sum() / mask.sum().clamp_min(1.0)
            parts.append(cfg.cause_loss_weight * out.cause_loss)
        if self.loss_log_variances is not None and len(parts) == 2:
            # Kendall et al. (2018): exp(-s) * L + s / 2 per task, s = log sigma^2 learned
            s = self.loss_log_variances
            parts = [torch.exp(-s[t]) * parts[t] + 0.5 * s[t] for t in range(2)]
        if parts:
            out.loss_terms = torch.stack(parts)
            out.loss = out.loss_terms.sum()
        elif emotion_labels is not None or cause_labels is not None:
            # labels of a task this model does not train: a zero loss that keeps the graph
            out.loss = 0.0 * (out.emotion_logits.sum() + out.cause_logits.sum())

    def _span_logits(
        self,
        out: UniMEECOutput,
        hidden: torch.Tensor,
        text_slots: torch.Tensor,
        word_ids: torch.Tensor | None,
        candidate_utterances: torch.Tensor,
        cause_query: torch.Tensor,
        span_labels: torch.Tensor | None,
    ) -> None:
        """Span logits of every candidate (of the labelled ones only, when training)."""
        if word_ids is None:
            raise ValueError(
                "the span head needs the batch's 'span_word_ids': build batches "
                "with a processor of a span_head config"
            )
        n_seq, length, size = hidden.shape
        rows, start, end = text_slots.unbind(-1)  # [U]: the text pass's X slot of each u
        steps = torch.arange(word_ids.shape[1], device=hidden.device)
        columns = (start[:, None] + steps).clamp_max(length - 1)
        tokens = _rows(hidden.reshape(n_seq * length, size), rows[:, None] * length + columns)
        token_mask = (steps < (end - start)[:, None]) & (word_ids >= 0)
        pair_rows = span_labels[:, 0] if self.training and span_labels is not None else None
        pairs = (
            candidate_utterances
            if pair_rows is None
            else candidate_utterances.index_select(0, pair_rows)
        )
        i_flat, j_flat = pairs.unbind(-1)
        out.span_start_logits, out.span_end_logits = self.span_head(
            self.dropout(tokens), token_mask, cause_query.index_select(0, i_flat), j_flat
        )
        out.span_words = word_ids.index_select(0, j_flat)
        out.span_rows = pair_rows

    def _span_loss(self, out: UniMEECOutput, span_labels: torch.Tensor | None) -> None:
        """``mu * (CE(start) + CE(end)) / 2``, mean over the gold spans, added to the loss."""
        if span_labels is None or out.span_start_logits is None:
            return
        start, end = out.span_start_logits, out.span_end_logits
        if out.span_rows is None:
            start = start.index_select(0, span_labels[:, 0])
            end = end.index_select(0, span_labels[:, 0])
        total = F.cross_entropy(start, span_labels[:, 1], reduction="sum") + F.cross_entropy(
            end, span_labels[:, 2], reduction="sum"
        )
        out.span_loss = total / (2 * max(int(span_labels.shape[0]), 1))
        weighted = self.config.span_loss_weight * out.span_loss
        out.loss = weighted if out.loss is None else out.loss + weighted
        # spans are part of cause extraction: their term joins the last (cause) term
        terms = out.loss_terms
        out.loss_terms = (
            weighted.reshape(1) if terms is None else torch.cat([terms[:-1], terms[-1:] + weighted])
        )

    def span_decoder(self, out: UniMEECOutput, mode: str) -> Any:
        """``(candidate row, cause text) -> CauseSpan | None`` for decoding mode ``mode``."""
        if mode not in SPAN_DECODINGS:
            raise ValueError(f"spans must be one of {SPAN_DECODINGS}, got {mode!r}")
        if mode == "utterance":
            return lambda row, text: None
        if mode == "trimmed":

            def trimmed(row: int, text: str) -> CauseSpan:
                start, end = trimmed_range(text)
                return CauseSpan(text=" ".join(text.split()[start:end]), start=start, end=end)

            return trimmed
        if out.span_start_logits is None:
            raise ValueError("spans='model' needs a model with span_head: true")
        if out.span_rows is not None:
            raise RuntimeError(
                "span logits were computed for the labelled pairs only (training "
                "mode); call model.eval() before decoding spans"
            )
        best = (
            best_spans(out.span_start_logits, out.span_end_logits, self.config.span_max_tokens)
            .cpu()
            .numpy()
        )
        words = out.span_words.cpu().numpy()

        def predicted(row: int, text: str) -> CauseSpan | None:
            first, last = int(words[row, best[row, 0]]), int(words[row, best[row, 1]])
            if first < 0 or last < first:  # the utterance has no text tokens to choose from
                return None
            return CauseSpan(
                text=" ".join(text.split()[first : last + 1]), start=first, end=last + 1
            )

        return predicted

    # ------------------------------------------------------------------ decoding
    @torch.no_grad()
    def decode(
        self,
        out: UniMEECOutput,
        batch: dict[str, Any],
        threshold: float | None = None,
        gold_emotions: bool | None = None,
        spans: str | None = None,
        neutral_bias: float | None = None,
    ) -> list[Conversation]:
        """Predicted copies of ``batch["conversations"]`` (METHOD.md section 5).

        Emotions by argmax of the logits with ``neutral_bias`` (default
        ``config.neutral_bias``) added to the neutral label's, and the class probabilities of
        those logits in ``emotion_scores`` (so the predicted label is the most probable); pairs
        ``(i, j)`` for predicted non-neutral ``i`` with ``sigmoid(s_ij) > threshold``
        (default ``config.cause_threshold``); when no candidate passes, the best one is kept
        if its probability exceeds ``config.cause_floor``. Pairs carry ``i``'s predicted
        emotion (MECPE-Cat) and their probability as ``score``. ``gold_emotions=True`` gates
        pairs by the gold emotions instead (default: only for ``tasks="cause"``); the
        predicted emotions are then the gold ones. ``tasks="emotion"`` predicts no pairs.
        ``spans`` (:data:`~unimeec.models.spans.SPAN_DECODINGS`; default ``"model"`` with a span
        head, else ``"utterance"``) gives each pair its cause span.
        """
        cfg = self.config
        tau = cfg.cause_threshold if threshold is None else float(threshold)
        use_gold = (cfg.tasks == "cause") if gold_emotions is None else gold_emotions
        conversations: list[Conversation] = batch["conversations"]
        labels = cfg.emotion_labels
        logits = out.emotion_logits.float()
        bias = cfg.neutral_bias if neutral_bias is None else float(neutral_bias)
        if bias:
            logits = logits.clone()
            logits[:, labels.index(cfg.neutral_label)] += bias
        probs = torch.softmax(logits, dim=-1).cpu().numpy()
        best = probs.argmax(1)
        cause_prob = torch.sigmoid(out.cause_logits.float()).cpu().numpy()
        cand = out.candidate_pairs.cpu().numpy()
        conv_starts = np.searchsorted(cand[:, 0], np.arange(len(conversations) + 1))
        span_of = self.span_decoder(out, spans or ("model" if cfg.span_head else "utterance"))
        results = []
        offset = 0
        for c_pos, conv in enumerate(conversations):
            n = len(conv)
            rows = probs[offset : offset + n]
            scores = [dict(zip(labels, map(float, row))) for row in rows]
            if use_gold:
                emotions = [u.emotion for u in conv.utterances]
            else:
                emotions = [labels[k] for k in best[offset : offset + n]]
            offset += n
            pairs: list[EmotionCausePair] = []
            if cfg.tasks != "emotion":
                a, b = conv_starts[c_pos], conv_starts[c_pos + 1]
                c_cand, c_prob = cand[a:b], cause_prob[a:b]
                for i, emotion in enumerate(emotions, start=1):
                    if is_neutral(emotion):
                        continue
                    sel = np.flatnonzero(c_cand[:, 1] == i)
                    chosen = sel[c_prob[sel] > tau]
                    if chosen.size == 0 and sel.size:
                        top = sel[np.argmax(c_prob[sel])]
                        chosen = sel[:0] if c_prob[top] <= cfg.cause_floor else np.array([top])
                    pairs += [
                        EmotionCausePair(
                            i,
                            int(c_cand[r, 2]),
                            emotion=emotion,
                            score=float(c_prob[r]),
                            span=span_of(a + int(r), conv.utterance(int(c_cand[r, 2])).text),
                        )
                        for r in chosen
                    ]
            results.append(
                conv.with_predictions(emotions=emotions, pairs=pairs, emotion_scores=scores)
            )
        return results
