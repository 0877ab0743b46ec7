"""``CausalPromptBuilder``: token sequences of the causal prompt (METHOD.md section 2).

The builder works on token ids, never on strings: every utterance is tokenised once (in one
batched tokenizer call by the processor) and the template pieces once at construction, so a
prompt is a concatenation of id lists. This keeps prompt building cheap next to the backbone
and makes the positions of the ``X`` slot and the two masks exact.

Utterance scope, one sequence per target ``i`` (the paper's)::

    [CLS] <s_{i-Wp}: u_{i-Wp}> ... <s_i: u_i> ... <s_{i+Wf}: u_{i+Wf}> [SEP]
          In this conversation, the emotion of s_i's utterance "<X_i>" is [MASK], and
          its emotion cause is [MASK]. [SEP]

The context keeps the nearest utterances that fit ``max_length`` (the farthest go first;
at equal distance a future one goes before a past one, since most causes precede their
emotion); the prompt with the target and its masks is never cut. Only when the prompt alone
exceeds ``max_length`` is the *quoted* target text shortened (a warning says so).

Conversation scope, one sequence per conversation (ours)::

    [CLS] s_1: "<X_1>" Its emotion is [MASK], and its cause is [MASK]. s_2: "<X_2>" ... [SEP]

A conversation longer than ``max_length`` is split into overlapping chunks of whole
utterances (overlap ``chunk_overlap`` utterances); each utterance takes its masks from the
chunk where it has the most context: the largest ``min(before, W_past) + min(after,
W_future)``, ties to the more central chunk, then the earlier one.

``X_i`` in the text pass is the utterance's tokens. In an audio/visual pass it is
``n_soft_tokens`` soft-token markers (utterance scope), or the text followed by the markers
(conversation scope, so that the pass keeps the words the utterance scope keeps in its
context); the ``X`` state is the mean over the markers only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from transformers import PreTrainedTokenizerBase

from unimeec.errors import ConfigError
from unimeec.models.configuration import UniMEECConfig

logger = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\{(speaker|x|mask_e|mask_c|text)\}")


@dataclass
class TargetSlots:
    """Where one target utterance's slots lie in a sequence (0-based token positions)."""

    utterance: int  # 1-based utterance index
    x_start: int
    x_end: int  # exclusive
    mask_e: int
    mask_c: int


@dataclass
class PromptSequence:
    """One backbone input row and the targets read from it."""

    input_ids: list[int]
    targets: list[TargetSlots] = field(default_factory=list)
    #: (token position, 1-based utterance index, rank among the utterance's soft tokens)
    soft: list[tuple[int, int, int]] = field(default_factory=list)


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase, config: UniMEECConfig) -> int:
    """Add the mask / soft-token markers the tokenizer lacks, as real special tokens.

    Returns how many tokens were added; the model resizes its embeddings to ``len(tokenizer)``.
    Deterministic, so a tokenizer prepared by the processor and one prepared by the model agree.
    """
    wanted: list[str] = []
    if tokenizer.mask_token is None:
        tokenizer.add_special_tokens({"mask_token": "[MASK]"})
        added = 1
    else:
        added = 0
    for token in (config.mask_e_token, config.mask_c_token, config.soft_token):
        if token is not None and token not in wanted and token != tokenizer.mask_token:
            wanted.append(token)
    vocab = tokenizer.get_vocab()
    special = set(tokenizer.all_special_tokens)
    missing = [t for t in wanted if t not in vocab or t not in special]
    if missing:
        added += tokenizer.add_special_tokens(
            {"additional_special_tokens": missing}, replace_extra_special_tokens=False
        )
    return added


class CausalPromptBuilder:
    """Builds prompt sequences of one conversation for one modality pass.

    ``utterance_ids`` given to the build methods are the utterances' text token ids
    (without special tokens); speakers are passed as strings and tokenised once (cached).
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        config: UniMEECConfig,
        max_length: int | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.config = config
        mask = tokenizer.mask_token
        if mask is None or config.soft_token not in tokenizer.get_vocab():
            raise ConfigError("the tokenizer was not prepared: call prepare_tokenizer first")
        self.mask_e_id = tokenizer.convert_tokens_to_ids(config.mask_e_token or mask)
        self.mask_c_id = tokenizer.convert_tokens_to_ids(config.mask_c_token or mask)
        self.soft_id = tokenizer.convert_tokens_to_ids(config.soft_token)
        self.max_length = max_length or config.max_sequence_length
        self.utterance_pieces = self._split(config.template)
        self.conversation_pieces = self._split(config.conversation_template)
        self.context_pieces = self._split(config.context_template)
        self.pair_layout = self._special_layout(pair=True)
        self.single_layout = self._special_layout(pair=False)
        self._speaker_cache: dict[str, list[int]] = {}

    # ------------------------------------------------------------------ setup
    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _split(self, template: str) -> list[tuple[str, list[int]]]:
        """Template -> [("lit", ids) | (placeholder, [])]."""
        pieces: list[tuple[str, list[int]]] = []
        last = 0
        for match in _PLACEHOLDER.finditer(template):
            if match.start() > last:
                pieces.append(("lit", self._encode(template[last : match.start()])))
            pieces.append((match.group(1), []))
            last = match.end()
        if last < len(template):
            pieces.append(("lit", self._encode(template[last:])))
        return pieces

    def _special_layout(self, pair: bool) -> list[list[int]]:
        """Special tokens around one (or two) segments: [prefix, (middle,) suffix].

        Found by encoding short texts and keeping the runs of special ids, since fast
        tokenizers of transformers 5 expose no ``build_inputs_with_special_tokens``.
        """
        enc = self.tokenizer("a", "b") if pair else self.tokenizer("a")
        special = set(self.tokenizer.all_special_ids)
        runs: list[list[int]] = [[]]
        for token in enc["input_ids"]:
            if token in special:
                runs[-1].append(token)
            elif runs[-1] or len(runs) == 1:
                runs.append([])
        # runs = [prefix, after-a..., after-b]; collapse to the expected count
        while len(runs) > (3 if pair else 2):
            runs.pop(-1 if not runs[-1] else -2)
        while len(runs) < (3 if pair else 2):
            runs.append([])
        return runs

    def speaker_ids(self, speaker: str) -> list[int]:
        name = speaker.strip() or self.config.unknown_speaker
        if name not in self._speaker_cache:
            self._speaker_cache[name] = self._encode(name)
        return self._speaker_cache[name]

    @staticmethod
    def _render(
        pieces: list[tuple[str, list[int]]], values: dict[str, list[int]]
    ) -> tuple[list[int], dict[str, int]]:
        ids: list[int] = []
        starts: dict[str, int] = {}
        for kind, piece in pieces:
            if kind == "lit":
                ids += piece
            else:
                starts[kind] = len(ids)
                ids += values[kind]
        return ids, starts

    def _warn_cut(self, what: str, over: int) -> None:
        logger.warning(
            "%s is %d tokens longer than max_length=%d allows; its quoted text was shortened",
            what,
            over,
            self.max_length,
        )

    # ------------------------------------------------------------------ utterance scope
    def context_lines(self, speakers: list[str], utterance_ids: list[list[int]]) -> list[list[int]]:
        """The ``speaker: text`` line of every utterance (reused by all its targets)."""
        return [
            self._render(self.context_pieces, {"speaker": self.speaker_ids(s), "text": ids})[0]
            for s, ids in zip(speakers, utterance_ids)
        ]

    def utterance_sequence(
        self,
        target: int,
        speakers: list[str],
        utterance_ids: list[list[int]],
        lines: list[list[int]],
        soft: bool,
    ) -> PromptSequence:
        """The prompt of 1-based ``target`` (``soft``: X = soft-token markers)."""
        k = self.config.n_soft_tokens
        x_ids = [self.soft_id] * k if soft else utterance_ids[target - 1]
        prefix, middle, suffix = self.pair_layout
        budget = self.max_length - len(prefix) - len(middle) - len(suffix)

        def render(x: list[int]) -> tuple[list[int], dict[str, int]]:
            return self._render(
                self.utterance_pieces,
                {
                    "speaker": self.speaker_ids(speakers[target - 1]),
                    "x": x,
                    "mask_e": [self.mask_e_id],
                    "mask_c": [self.mask_c_id],
                },
            )

        prompt, starts = render(x_ids)
        over = len(prompt) - budget
        if over > 0:
            if soft or over >= len(x_ids):
                raise ConfigError(
                    f"max_length={self.max_length} cannot hold the prompt template "
                    f"({len(prompt) - len(x_ids)} tokens without the target)"
                )
            self._warn_cut(f"the prompt of utterance {target}", over)
            x_ids = x_ids[: len(x_ids) - over]
            prompt, starts = render(x_ids)
        room = budget - len(prompt)
        n = len(lines)
        order = sorted(
            range(
                max(1, target - self.config.prompt_past),
                min(n, target + self.config.prompt_future) + 1,
            ),
            key=lambda j: (abs(j - target), j > target),
        )
        kept: list[int] = []
        for j in order:
            room -= len(lines[j - 1])
            if room < 0:
                break
            kept.append(j)
        kept.sort()
        context = [t for j in kept for t in lines[j - 1]]
        offset = len(prefix) + len(context) + len(middle)
        ids = prefix + context + middle + prompt + suffix
        x0 = offset + starts["x"]
        seq = PromptSequence(
            ids,
            [
                TargetSlots(
                    target,
                    x0,
                    x0 + len(x_ids),
                    offset + starts["mask_e"],
                    offset + starts["mask_c"],
                )
            ],
        )
        if soft:
            seq.soft = [(x0 + r, target, r) for r in range(k)]
        return seq

    # ------------------------------------------------------------------ conversation scope
    def conversation_sequences(
        self, speakers: list[str], utterance_ids: list[list[int]], soft: bool
    ) -> list[PromptSequence]:
        """Sequences (chunks) covering a conversation; every utterance is a target once."""
        k = self.config.n_soft_tokens
        prefix, suffix = self.single_layout
        budget = self.max_length - len(prefix) - len(suffix)
        segments: list[list[int]] = []
        starts_list: list[dict[str, int]] = []
        x_lengths: list[int] = []
        for index, (speaker, text_ids) in enumerate(zip(speakers, utterance_ids), start=1):
            marks = [self.soft_id] * k if soft else []

            def render(
                text: list[int], marks: list[int] = marks, speaker: str = speaker
            ) -> tuple[list[int], dict[str, int]]:
                return self._render(
                    self.conversation_pieces,
                    {
                        "speaker": self.speaker_ids(speaker),
                        "x": text + marks,
                        "mask_e": [self.mask_e_id],
                        "mask_c": [self.mask_c_id],
                    },
                )

            seg, starts = render(text_ids)
            over = len(seg) - budget
            if over > 0:
                if over >= len(text_ids) + (1 if soft else 0):
                    raise ConfigError(
                        f"max_length={self.max_length} cannot hold the "
                        f"conversation template of utterance {index}"
                    )
                self._warn_cut(f"utterance {index}", over)
                text_ids = text_ids[: len(text_ids) - over]
                seg, starts = render(text_ids)
            segments.append(seg)
            starts_list.append(starts)
            x_lengths.append(len(text_ids) + len(marks))
        chunks = self._chunks([len(s) for s in segments], budget)
        owner = self._assign(chunks, len(segments))
        sequences = []
        for c, (a, b) in enumerate(chunks):
            ids = list(prefix)
            seq = PromptSequence(ids)
            for j in range(a, b):
                base = len(ids)
                ids += segments[j]
                if owner[j] != c:
                    continue
                st = starts_list[j]
                x0 = base + st["x"]
                x1 = x0 + x_lengths[j]
                if soft:
                    seq.targets.append(
                        TargetSlots(j + 1, x1 - k, x1, base + st["mask_e"], base + st["mask_c"])
                    )
                    seq.soft += [(x1 - k + r, j + 1, r) for r in range(k)]
                else:
                    seq.targets.append(
                        TargetSlots(j + 1, x0, x1, base + st["mask_e"], base + st["mask_c"])
                    )
            ids += suffix
            sequences.append(seq)
        return sequences

    def _chunks(self, lengths: list[int], budget: int) -> list[tuple[int, int]]:
        """Overlapping ``[start, end)`` utterance ranges whose segments fit ``budget``."""
        n = len(lengths)
        if sum(lengths) <= budget:
            return [(0, n)]
        overlap = self.config.effective_chunk_overlap
        chunks: list[tuple[int, int]] = []
        start = 0
        while True:
            end, total = start, 0
            while end < n and total + lengths[end] <= budget:
                total += lengths[end]
                end += 1
            chunks.append((start, end))
            if end >= n:
                return chunks
            start = max(start + 1, end - overlap)

    def _assign(self, chunks: list[tuple[int, int]], n: int) -> list[int]:
        """For each utterance, the chunk where it has the most context."""
        past, future = self.config.prompt_past, self.config.prompt_future
        owner = [0] * n
        best: list[tuple[int, int]] = [(-1, -1)] * n
        for c, (a, b) in enumerate(chunks):
            for j in range(a, b):
                before, after = j - a, b - 1 - j
                score = (min(before, past) + min(after, future), min(before, after))
                if score > best[j]:
                    best[j] = score
                    owner[j] = c
        return owner
