"""Counts per dataset split, as printed by ``unimeec data stats`` and checked by the tests.

Definitions: *emotion utterances* are labelled non-neutral utterances; *pairs* are the
emotion-cause pairs after exact duplicates were removed (span pairs count once per span);
*utterance pairs* are distinct (emotion utterance, cause utterance) pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from unimeec.data.schema import Conversation


@dataclass
class SplitStats:
    """The counts of one (dataset, split)."""

    dataset: str | None
    split: str | None
    conversations: int = 0
    utterances: int = 0
    labelled_utterances: int = 0
    emotion_utterances: int = 0
    pairs: int = 0
    utterance_pairs: int = 0
    duplicate_pairs: int = 0
    latent_causes: int = 0
    has_cause_labels: bool = False
    labels: Counter[str] = field(default_factory=Counter)
    pair_emotions: Counter[str] = field(default_factory=Counter)

    def add(self, conv: Conversation) -> None:
        self.conversations += 1
        self.utterances += len(conv)
        self.labelled_utterances += sum(u.emotion is not None for u in conv.utterances)
        self.emotion_utterances += len(conv.emotion_utterances)
        self.pairs += len(conv.pairs)
        self.utterance_pairs += len(conv.pair_set())
        self.duplicate_pairs += len(conv.duplicate_pairs)
        self.latent_causes += sum(u.latent_cause for u in conv.utterances)
        self.has_cause_labels |= conv.has_cause_labels
        self.labels.update(u.emotion for u in conv.utterances if u.emotion is not None)
        self.pair_emotions.update(p.emotion for p in conv.pairs if p.emotion is not None)

    def format(self) -> str:
        """A human-readable block with thousands separators."""
        name = " ".join(x for x in (self.dataset, self.split) if x) or "(no dataset/split)"
        rows = [
            ("conversations", self.conversations),
            ("utterances", self.utterances),
            ("labelled utterances", self.labelled_utterances),
            ("emotion utterances", self.emotion_utterances),
        ]
        if self.has_cause_labels:
            rows += [("pairs", self.pairs), ("utterance pairs", self.utterance_pairs)]
            if self.duplicate_pairs:
                rows.append(("duplicate pairs removed", self.duplicate_pairs))
            if self.latent_causes:
                rows.append(("latent causes", self.latent_causes))
        lines = [name] + [f"  {label:<24}{value:>9,}" for label, value in rows]
        if self.labels:
            lines.append(
                "  labels: " + ", ".join(f"{k} {v:,}" for k, v in self.labels.most_common())
            )
        if self.pair_emotions:
            lines.append(
                "  pairs per emotion: "
                + ", ".join(f"{k} {v:,}" for k, v in sorted(self.pair_emotions.items()))
            )
        return "\n".join(lines)


def compute_stats(conversations: Iterable[Conversation]) -> list[SplitStats]:
    """One :class:`SplitStats` per (dataset, split), in order of first appearance."""
    groups: dict[tuple[str | None, str | None], SplitStats] = {}
    for conv in conversations:
        key = (conv.dataset, conv.split)
        if key not in groups:
            groups[key] = SplitStats(*key)
        groups[key].add(conv)
    return list(groups.values())
