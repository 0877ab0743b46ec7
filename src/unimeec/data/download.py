"""``unimeec data download``: official files from GitHub, pinned to a commit, SHA-256 verified.

Resumable: bytes go to ``<file>.part`` and an interrupted download continues with an HTTP
``Range`` request (a server that ignores ``Range`` makes it start over). A file already
present with the right hash is not fetched again. ``base_url`` (or ``$UNIMEEC_DOWNLOAD_URL``)
replaces GitHub with a mirror laid out like the data directory (``<base>/ecf1/train.txt``),
which is how the tests serve files from loopback.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import requests
from tqdm.auto import tqdm

from unimeec.data.sources import DOWNLOADS, SourceFile
from unimeec.errors import DownloadError
from unimeec.hashing import file_sha256

log = logging.getLogger("unimeec.data")
BASE_URL_ENV = "UNIMEEC_DOWNLOAD_URL"
_CHUNK = 1 << 16


def download_dataset(
    name: str,
    dest: str | Path,
    *,
    base_url: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> list[Path]:
    """Fetch every file of dataset ``name`` into ``dest``; return their paths."""
    if name not in DOWNLOADS:
        raise DownloadError(f"unknown dataset {name!r}; downloadable: {', '.join(DOWNLOADS)}")
    base_url = base_url or os.environ.get(BASE_URL_ENV) or None
    paths = []
    for source in DOWNLOADS[name]:
        url = f"{base_url.rstrip('/')}/{source.local_path}" if base_url else source.url
        paths.append(
            fetch(source, url, Path(dest) / source.local_path, progress=progress, timeout=timeout)
        )
    return paths


def fetch(
    source: SourceFile, url: str, target: Path, *, progress: bool = True, timeout: float = 60.0
) -> Path:
    """Download ``url`` to ``target`` (resuming a ``.part``), then verify the SHA-256."""
    if target.is_file():
        if file_sha256(target) == source.sha256:
            log.info("%s: present, checksum OK", target)
            return target
        log.warning("%s: present but checksum differs; downloading again", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
            if response.status_code == 416:  # the .part already holds every byte
                pass
            elif response.status_code in (200, 206):
                if response.status_code == 200:
                    offset = 0  # server ignored Range: start over
                size = response.headers.get("Content-Length")
                total = offset + int(size) if size is not None else None
                with (
                    part.open("ab" if offset else "wb") as out,
                    tqdm(
                        total=total,
                        initial=offset,
                        unit="B",
                        unit_scale=True,
                        desc=target.name,
                        disable=not progress,
                    ) as bar,
                ):
                    for chunk in response.iter_content(_CHUNK):
                        out.write(chunk)
                        bar.update(len(chunk))
            else:
                raise DownloadError(f"{url}: HTTP {response.status_code} {response.reason}")
    except requests.RequestException as err:
        raise DownloadError(
            f"{url}: {err} (partial data kept in {part}; rerun to resume)"
        ) from None
    digest = file_sha256(part)
    if digest != source.sha256:
        part.unlink()
        raise DownloadError(
            f"{url}: SHA-256 mismatch for {target.name}: got {digest}, expected "
            f"{source.sha256} (file deleted)"
        )
    part.replace(target)
    log.info("%s: downloaded, checksum OK", target)
    return target
