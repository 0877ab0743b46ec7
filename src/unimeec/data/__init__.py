"""Conversations: the schema, one reader per dataset format, writers, downloads."""

from unimeec.data.schema import CauseSpan, Conversation, EmotionCausePair, Utterance

__all__ = ["CauseSpan", "Conversation", "EmotionCausePair", "Utterance"]
