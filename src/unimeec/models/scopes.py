"""Prompt scopes: which utterances share one backbone sequence (METHOD.md section 2).

A scope decides how the prompt sequences of one conversation are laid out; the token work
(templates, masks, truncation, chunking) stays in
:class:`~unimeec.models.prompt.CausalPromptBuilder`. ``config.scope`` names one of
:data:`PROMPT_SCOPES`, chosen once by :func:`prompt_scope`, so nothing else compares scope
names, and adding a scope is one new class here plus its entry in :data:`PROMPT_SCOPES`.

This module imports no other module of the package at run time, so the configuration can
validate ``scope`` against :data:`PROMPT_SCOPES` without an import circle.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from unimeec.errors import ConfigError

if TYPE_CHECKING:  # type hints only: prompt.py imports the configuration, which imports us
    from unimeec.models.prompt import CausalPromptBuilder, PromptSequence


class PromptScope(ABC):
    """How one conversation becomes prompt sequences, one list per modality pass."""

    #: The value of ``UniMEECConfig.scope`` that selects this scope.
    name: ClassVar[str]

    @abstractmethod
    def sequences(
        self,
        builder: CausalPromptBuilder,
        speakers: list[str],
        utterance_ids: list[list[int]],
        present: np.ndarray,
    ) -> list[list[PromptSequence]]:
        """The sequences of every pass of one conversation.

        ``present`` is ``[M, N]`` bool: which utterances have modality ``m`` (pass 0 is the
        text pass, the others put soft-token markers in the ``X`` slot). A pass where no
        utterance has the modality gets ``[]``.
        """

    @abstractmethod
    def approximate_length(
        self, n_tokens: int, n_utterances: int, prompt_past: int, prompt_future: int
    ) -> int:
        """Rough text-pass token count of a conversation, for length-bucketed batching."""


class ConversationScope(PromptScope):
    """One sequence per conversation (ours): every utterance followed by its two masks.

    Long conversations are split into overlapping chunks by the builder. All utterances are
    targets of a pass that runs at all; absent modalities are masked out by the model.
    """

    name = "conversation"

    def sequences(
        self,
        builder: CausalPromptBuilder,
        speakers: list[str],
        utterance_ids: list[list[int]],
        present: np.ndarray,
    ) -> list[list[PromptSequence]]:
        return [
            builder.conversation_sequences(speakers, utterance_ids, soft=m > 0)
            if mask.any()
            else []
            for m, mask in enumerate(present)
        ]

    def approximate_length(
        self, n_tokens: int, n_utterances: int, prompt_past: int, prompt_future: int
    ) -> int:
        return n_tokens + 20 * n_utterances  # ~20 template tokens per utterance


class UtteranceScope(PromptScope):
    """One sequence per target utterance (the paper's): its context window, then the prompt.

    A pass holds only the utterances that have its modality.
    """

    name = "utterance"

    def sequences(
        self,
        builder: CausalPromptBuilder,
        speakers: list[str],
        utterance_ids: list[list[int]],
        present: np.ndarray,
    ) -> list[list[PromptSequence]]:
        lines = builder.context_lines(speakers, utterance_ids)  # shared by every pass
        return [
            [
                builder.utterance_sequence(int(i) + 1, speakers, utterance_ids, lines, soft=m > 0)
                for i in np.flatnonzero(mask)
            ]
            for m, mask in enumerate(present)
        ]

    def approximate_length(
        self, n_tokens: int, n_utterances: int, prompt_past: int, prompt_future: int
    ) -> int:
        return n_tokens * (prompt_past + prompt_future + 2)  # each text seen ~window times


#: Every scope by its config name, in the order the configuration's error message lists them.
PROMPT_SCOPES: dict[str, PromptScope] = {
    scope.name: scope for scope in (ConversationScope(), UtteranceScope())
}


def prompt_scope(name: str) -> PromptScope:
    """The scope ``UniMEECConfig.scope`` names."""
    try:
        return PROMPT_SCOPES[name]
    except KeyError:
        raise ConfigError(
            f"UniMEECConfig.scope: must be one of {tuple(PROMPT_SCOPES)}, got {name!r}"
        ) from None
