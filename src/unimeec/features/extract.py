"""From a manifest of conversations and their media to a feature store.

Why this shape: utterances are grouped by media file (a file is decoded once), files are
spread over a process pool, and the main process alone writes the store, so a crash or a
Ctrl-C leaves a consistent store that the next run completes.

Resuming: keys already recorded are skipped, except those that failed (a *missing* record of
an utterance that has media), those whose manifest now names another media file, and every
key of a media file whose SHA-256 differs from the one recorded: those are extracted again.
Every media file already in the store is therefore hashed again on each rerun.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Container, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from unimeec.data.feature_store import FeatureStore, FeatureStoreWriter, file_sha256
from unimeec.data.schema import Conversation
from unimeec.errors import FeatureError
from unimeec.features.base import Extractor, UtteranceFeatures, UtteranceSpan
from unimeec.features.media import MediaPathError, media_path, resolve_media

log = logging.getLogger(__name__)

#: ``--extractor`` choices and the modality each works on ("hf" works on both).
EXTRACTORS: dict[str, tuple[str, ...]] = {
    "compare_2016": ("audio",),
    "egemaps_v02": ("audio",),
    "fer": ("visual",),
    "hf": ("audio", "visual"),
}


@dataclass(frozen=True)
class FileJob:
    """The utterances to extract from one media file."""

    media: str  # the name the manifest used (key of the store's media hashes)
    path: Path
    spans: tuple[UtteranceSpan, ...]


@dataclass
class ExtractionSummary:
    """Counts of one run, for the command's report and the tests."""

    extracted: int = 0
    missing: int = 0
    skipped: int = 0
    files: int = 0
    #: Recorded keys extracted again (failed before, or their media changed).
    retried: int = 0
    #: Media files whose content changed since they were recorded.
    changed_media: int = 0
    missing_reasons: dict[str, int] = field(default_factory=dict)


def build_extractor(
    name: str,
    modality: str,
    *,
    model: str | None = None,
    frames: int = 8,
    fer_weights: str | Path | None = None,
    cascade: str | Path | None = None,
    device: str = "cpu",
) -> Extractor:
    """The extractor ``--extractor NAME --modality MODALITY`` asks for."""
    if name not in EXTRACTORS:
        raise FeatureError(f"unknown extractor {name!r}; expected one of {', '.join(EXTRACTORS)}")
    if modality not in EXTRACTORS[name]:
        raise FeatureError(
            f"extractor {name!r} makes {' or '.join(EXTRACTORS[name])} features, not {modality}"
        )
    if name == "hf":
        if not model:
            raise FeatureError("extractor 'hf' needs a model name or path (--model)")
        if modality == "audio":
            from unimeec.features.hf import HFAudioExtractor

            return HFAudioExtractor(model, device=device)
        from unimeec.features.hf import HFImageExtractor

        return HFImageExtractor(model, frames=frames, device=device)
    if name == "fer":
        from unimeec.features.visual import FacialExpressionExtractor

        return FacialExpressionExtractor(frames=frames, weights=fer_weights, cascade=cascade)
    from unimeec.features.audio import OpenSmileExtractor

    return OpenSmileExtractor(name)


def read_manifest(path: str | Path) -> list[Conversation]:
    """Conversations from our JSONL format (the data area's reader: file/line on errors)."""
    from unimeec.data.io import read_conversations

    path = Path(path)
    if not path.is_file():
        raise FeatureError(f"manifest not found: {path}")
    return read_conversations(path, format="jsonl")


def plan_jobs(
    conversations: Sequence[Conversation],
    media_dir: str | Path | None,
    done: Container[tuple[str, int]] = (),
    *,
    allow_absolute: bool = False,
) -> tuple[list[FileJob], list[UtteranceSpan], int]:
    """Group the utterances still to do by media file.

    Returns ``(jobs, utterances without media, number skipped as already done)``; ``done``
    supports ``(conversation, index) in done``. Every media name must stay inside
    ``media_dir`` and every media file must exist (checked up front: a wrong ``--media-dir``
    fails at once, not after hours).
    """
    by_media: dict[str, list[UtteranceSpan]] = {}
    without_media: list[UtteranceSpan] = []
    skipped = 0
    for conversation in conversations:
        for utt in conversation.utterances:
            if (conversation.id, utt.index) in done:
                skipped += 1
                continue
            span = UtteranceSpan(conversation.id, utt.index, utt.start, utt.end)
            if utt.media is None:
                without_media.append(span)
            else:
                by_media.setdefault(utt.media, []).append(span)
    for media in by_media:
        media_path(media, media_dir, allow_absolute=allow_absolute)  # MediaPathError at once
    jobs, not_found = [], []
    for media, spans in by_media.items():
        try:
            jobs.append(
                FileJob(
                    media,
                    resolve_media(media, media_dir, allow_absolute=allow_absolute),
                    tuple(spans),
                )
            )
        except FeatureError:
            not_found.append(media)
    if not_found:
        shown = ", ".join(not_found[:5]) + (
            f" and {len(not_found) - 5} more" if len(not_found) > 5 else ""
        )
        raise FeatureError(
            f"{len(not_found)} media file(s) not found in "
            f"{media_dir if media_dir is not None else 'the current directory'}: "
            f"{shown}"
        )
    return jobs, without_media, skipped


def _run_job(extractor: Extractor, job: FileJob) -> tuple[str, str, list[UtteranceFeatures]]:
    try:
        sha = file_sha256(job.path)
        results = extractor.extract_file(job.path, job.spans)
    except (FeatureError, OSError) as err:  # unreadable/undecodable: every utterance missing
        reason = (
            str(err)
            if isinstance(err, FeatureError)
            else f"{job.path}: cannot read ({err.strerror or err})"
        )
        log.warning("%s", reason)
        return (
            job.media,
            "",
            [UtteranceFeatures(s.conversation, s.index, missing=reason) for s in job.spans],
        )
    return job.media, sha, results


_WORKER_EXTRACTOR: Extractor | None = None


def _init_worker(extractor: Extractor) -> None:
    global _WORKER_EXTRACTOR
    # the pool is the parallelism; per-process thread pools would oversubscribe the CPUs
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    _WORKER_EXTRACTOR = extractor


def _run_in_worker(job: FileJob) -> tuple[str, str, list[UtteranceFeatures]]:
    assert _WORKER_EXTRACTOR is not None
    return _run_job(_WORKER_EXTRACTOR, job)


def _results(
    extractor: Extractor, jobs: list[FileJob], workers: int
) -> Iterator[tuple[str, str, list[UtteranceFeatures]]]:
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _run_job(extractor, job)
        return
    context = multiprocessing.get_context("spawn")  # no forked torch/OpenCV thread state
    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(extractor,),
    ) as pool:
        futures = [pool.submit(_run_in_worker, job) for job in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def stale_keys(
    conversations: Sequence[Conversation],
    writer: FeatureStoreWriter,
    media_dir: str | Path | None,
    *,
    allow_absolute: bool = False,
) -> tuple[set[tuple[str, int]], set[str]]:
    """Recorded keys to extract again, and the media names whose files changed.

    A key is stale when its extraction failed (a *missing* record with media), when the
    manifest now names another media file for it, or when its media file's SHA-256 is not
    the recorded one (then every key from that file is stale, in this manifest or not).
    """
    stale: set[tuple[str, int]] = set()
    hashes: dict[str, str | None] = {}
    changed: set[str] = set()
    for conversation in conversations:
        for utt in conversation.utterances:
            record = writer.record(conversation.id, utt.index)
            if record is None:
                continue
            key = (conversation.id, utt.index)
            if record.get("media") != utt.media or ("missing" in record and utt.media):
                stale.add(key)
            elif utt.media is not None and "missing" not in record:
                if utt.media not in hashes:
                    hashes[utt.media] = _current_sha256(utt.media, media_dir, allow_absolute)
                current = hashes[utt.media]
                if current is not None and current != writer.media_sha256(utt.media):
                    changed.add(utt.media)
    for media in changed:
        stale.update(writer.keys_with_media(media))
    return stale, changed


def _current_sha256(media: str, media_dir: str | Path | None, allow_absolute: bool) -> str | None:
    """The file's hash now; ``None`` when it cannot be found (its features are kept)."""
    try:
        return file_sha256(resolve_media(media, media_dir, allow_absolute=allow_absolute))
    except MediaPathError:
        raise
    except (FeatureError, OSError):
        log.warning(
            "%s: cannot check the recorded media file (not found); keeping its features", media
        )
        return None


def extract_features(
    conversations: Sequence[Conversation],
    extractor: Extractor,
    out: str | Path,
    *,
    media_dir: str | Path | None = None,
    workers: int = 1,
    shard_size: int = 2048,
    progress: bool = True,
    allow_absolute_paths: bool = False,
) -> tuple[FeatureStore, ExtractionSummary]:
    """Extract every utterance of ``conversations`` into the store at ``out`` (resumable).

    Media names are relative to ``media_dir`` and may not leave it; absolute names need
    ``allow_absolute_paths`` (see :func:`~unimeec.features.media.media_path`).
    """
    if workers < 1:
        raise FeatureError(f"--workers must be >= 1, got {workers}")
    if shard_size < 1:
        raise FeatureError(f"--shard-size must be >= 1, got {shard_size}")
    for media in {u.media for c in conversations for u in c.utterances if u.media is not None}:
        media_path(media, media_dir, allow_absolute=allow_absolute_paths)  # before any I/O
    summary = ExtractionSummary()
    with FeatureStoreWriter(
        out,
        modality=extractor.modality,
        dim=extractor.dim,
        extractor=extractor.info(),
        shard_size=shard_size,
    ) as writer:
        stale, changed = stale_keys(
            conversations, writer, media_dir, allow_absolute=allow_absolute_paths
        )
        summary.retried = writer.forget(stale)
        summary.changed_media = len(changed)
        if stale:
            log.info(
                "%s: extracting %d recorded utterance(s) again (%d changed media file(s))",
                out,
                summary.retried,
                len(changed),
            )
        jobs, without_media, summary.skipped = plan_jobs(
            conversations, media_dir, done=writer, allow_absolute=allow_absolute_paths
        )
        summary.files = len(jobs)
        for span in without_media:
            _add(
                writer,
                summary,
                span.conversation,
                span.index,
                None,
                "no media file given in the manifest",
                None,
            )
        total = sum(len(j.spans) for j in jobs)
        with tqdm(
            total=total,
            desc=f"{extractor.modality} features",
            unit="utt",
            disable=not progress or None,
        ) as bar:
            for media, sha, results in _results(extractor, jobs, workers):
                if sha:  # "" when the file could not be read
                    writer.record_media(media, sha, replace=media in changed)
                for r in results:
                    _add(writer, summary, r.conversation, r.index, r.vector, r.missing, media)
                bar.update(len(results))
    log.info(
        "%s: %d extracted, %d missing, %d already present (%d files)",
        out,
        summary.extracted,
        summary.missing,
        summary.skipped,
        summary.files,
    )
    return FeatureStore.open(out), summary


def _add(
    writer: FeatureStoreWriter,
    summary: ExtractionSummary,
    conversation: str,
    index: int,
    vector: np.ndarray | None,
    missing: str | None,
    media: str | None,
) -> None:
    if vector is not None:
        writer.add(conversation, index, vector, media=media)
        summary.extracted += 1
    else:
        reason = missing or "extraction failed"
        writer.add_missing(conversation, index, reason, media=media)
        summary.missing += 1
        summary.missing_reasons[reason] = summary.missing_reasons.get(reason, 0) + 1


def default_workers() -> int:
    """One worker per CPU the process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
