"""Errors that name what went wrong and where, so users never read a deep torch traceback."""

from __future__ import annotations

from pathlib import Path


class UnimeecError(Exception):
    """Base class of every error this library raises on purpose."""


class DataFormatError(UnimeecError, ValueError):
    """A data file (or in-memory record) does not follow its format.

    The message always carries the location: file, line, conversation id and field,
    whichever are known, so the user can open the file at the right place.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        conversation: str | None = None,
        field: str | None = None,
    ) -> None:
        # one line, always: a quoted newline from the file must not split the message
        self.reason = message.replace("\r", "\\r").replace("\n", "\\n")
        self.path = str(path) if path is not None else None
        self.line = line
        self.conversation = conversation
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.path is not None:
            where.append(self.path if self.line is None else f"{self.path}:{self.line}")
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.conversation is not None:
            where.append(f"conversation {self.conversation}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        text = f"{', '.join(where)}: {self.reason}" if where else self.reason
        # printable, always: a lone surrogate from the input is shown as its escape
        return text.encode("utf-8", "backslashreplace").decode("utf-8")

    def located(
        self,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        conversation: str | None = None,
    ) -> DataFormatError:
        """Return a copy with the missing parts of the location filled in (readers add the file)."""
        return DataFormatError(
            self.reason,
            path=self.path if self.path is not None else path,
            line=self.line if self.line is not None else line,
            conversation=self.conversation if self.conversation is not None else conversation,
            field=self.field,
        )


class DownloadError(UnimeecError):
    """A dataset file could not be fetched or failed its checksum."""


class ConfigError(UnimeecError, ValueError):
    """A configuration has an unknown key, a wrong type or an impossible value."""


class CheckpointError(UnimeecError):
    """A checkpoint directory is missing files, corrupt, or from an incompatible version."""


class FeatureError(UnimeecError, ValueError):
    """Features are missing, of the wrong dimension, or could not be extracted."""


class OutputError(UnimeecError, OSError):
    """An output file cannot be written: the path is a directory, or its folder cannot be made."""
