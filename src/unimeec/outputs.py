"""Writing output files so that a bad path is one clear error, never an ``OSError`` traceback.

Every command that writes a file (``data convert``, ``predict``, ``evaluate --json``, ``test
--output``) goes through :func:`write_text`: missing parent folders are created (a run's
output folder often does not exist yet), and a path that is a directory, a folder that
cannot be created (a file in the way, no permission) or a failed write raise
:class:`~unimeec.errors.OutputError` naming the path.
"""

from __future__ import annotations

from pathlib import Path

from unimeec.errors import OutputError


def prepare_output(path: str | Path) -> Path:
    """``path`` as a file about to be written: its folder exists and it is not a directory."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a directory; give a file name to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(
            f"{path}: cannot create its folder {path.parent} ({err.strerror or err})"
        ) from None
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` (see :func:`prepare_output`)."""
    path = prepare_output(path)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise OutputError(f"{path}: cannot write ({err.strerror or err})") from None
    return path
